// Micro-benchmarks of the hot paths: passport sign and full verify, and the raw Ed25519 calls beneath them.

import { bench, describe } from "vitest";
import { samplePayload } from "../test/support/passport-fixtures.js";
import { parsePassport, signPassport, stringifyPassport } from "./envelope.js";
import { generateKeyPair, keyId, signBytes, verifyBytes } from "./keys.js";
import { encodePayload } from "./payload.js";
import { verifyPassport } from "./verify.js";

const cluster = generateKeyPair();
const rack = generateKeyPair();
const kid = keyId(cluster.publicKey);
const payload = samplePayload(rack.publicKey);
const env = signPassport({ payload, clusterPrivateKey: cluster.privateKey, kid });
const envText = stringifyPassport(env);
const now = new Date("2025-03-15T00:00:00.000Z");
const bytes = Buffer.from(encodePayload(payload), "utf8");
const sig = signBytes(cluster.privateKey, bytes);

describe("passport", () => {
  bench("signPassport", () => {
    signPassport({ payload, clusterPrivateKey: cluster.privateKey, kid });
  });

  bench("verifyPassport (cluster key, Rack key, name, clock)", () => {
    verifyPassport(env, {
      clusterPublicKey: cluster.publicKey,
      rackPublicKey: rack.publicKey,
      name: "rack-nyc-01",
      now,
    });
  });

  bench("parsePassport(text) + verifyPassport", () => {
    verifyPassport(parsePassport(envText), {
      clusterPublicKey: cluster.publicKey,
      rackPublicKey: rack.publicKey,
      name: "rack-nyc-01",
      now,
    });
  });
});

describe("raw Ed25519", () => {
  bench("signBytes", () => {
    signBytes(cluster.privateKey, bytes);
  });

  bench("verifyBytes", () => {
    verifyBytes(cluster.publicKey, bytes, sig);
  });
});
