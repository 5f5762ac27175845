// The golden passport: a fixed key and payload must sign to the committed bytes, and those bytes must verify.

import { readFile } from "node:fs/promises";
import nacl from "tweetnacl";
import { describe, expect, test } from "vitest";
import { keyPairFromSeedHex } from "../test/support/passport-fixtures.js";
import { decodePassportPayload, parsePassport, signPassport } from "./envelope.js";
import { keyId, publicKeyToBase64url } from "./keys.js";
import type { PassportPayload } from "./payload.js";
import { stateFluxText } from "./state-flux.js";
import { verifyPassport } from "./verify.js";

const fixtureUrl = (name: string) => new URL(`../test/fixtures/${name}`, import.meta.url);

interface Golden {
  clusterSeed: string;
  clusterPublicKey: string;
  kid: string;
  rackSeed: string;
  payload: PassportPayload;
  payloadJson: string;
}

const golden = JSON.parse(await readFile(fixtureUrl("golden-passport.json"), "utf8")) as Golden;
const goldenFlux = await readFile(fixtureUrl("golden-state.flux"));
const cluster = keyPairFromSeedHex(golden.clusterSeed);
const rack = keyPairFromSeedHex(golden.rackSeed);

describe("golden passport", () => {
  test("the fixed seeds give the recorded public key and key id", () => {
    expect(publicKeyToBase64url(cluster.publicKey)).toBe(golden.clusterPublicKey);
    expect(keyId(cluster.publicKey)).toBe(golden.kid);
    expect(publicKeyToBase64url(rack.publicKey)).toBe(golden.payload.rack_public_key);
  });

  test("signing the fixed payload reproduces state.flux byte for byte", () => {
    const env = signPassport({
      payload: golden.payload,
      clusterPrivateKey: cluster.privateKey,
      kid: golden.kid,
    });
    expect(Buffer.from(stateFluxText(env), "utf8").equals(goldenFlux)).toBe(true);
    expect(Buffer.from(env.payload, "base64url").toString("utf8")).toBe(golden.payloadJson);
  });

  test("the committed bytes verify under tweetnacl, independently of node:crypto", () => {
    const env = parsePassport(goldenFlux);
    const ok = nacl.sign.detached.verify(
      Buffer.from(env.payload, "base64url"),
      Buffer.from(env.sig, "base64url"),
      Buffer.from(golden.clusterPublicKey, "base64url"),
    );
    expect(ok).toBe(true);
  });

  test("the committed bytes verify with verifyPassport and decode to the fixed payload", () => {
    const env = parsePassport(goldenFlux);
    const payload = verifyPassport(env, {
      clusterPublicKey: cluster.publicKey,
      rackPublicKey: rack.publicKey,
      name: "rack-nyc-01",
      now: new Date("2025-01-15T00:00:00.000Z"),
    });
    expect(payload).toEqual(golden.payload);
    expect(decodePassportPayload(env)).toEqual(golden.payload);
  });
});
