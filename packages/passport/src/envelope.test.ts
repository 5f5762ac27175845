// Tests of the envelope: signing, structural parsing with its size cap, payload decoding and serialisation.

import { describe, expect, test } from "vitest";
import { passportSigner } from "../test/support/passport-fixtures.js";
import { thrownBy } from "../test/support/thrown.js";
import {
  decodePassportPayload,
  MAX_PASSPORT_BYTES,
  type PassportEnvelope,
  parsePassport,
  signPassport,
  stringifyPassport,
} from "./envelope.js";
import { PassportError, PassportFormatError, PassportKeyError, PassportMalformedError } from "./errors.js";
import { verifyBytes } from "./keys.js";
import { encodePayload } from "./payload.js";

const { cluster, kid, payload, issue } = passportSigner();
const env = issue();

describe("signPassport", () => {
  test("signs the canonical payload bytes with the cluster key", () => {
    expect(env).toMatchObject({ format: "fluxrig.passport", v: 1, kid });
    const bytes = Buffer.from(env.payload, "base64url");
    expect(bytes.toString("utf8")).toBe(encodePayload(payload));
    expect(verifyBytes(cluster.publicKey, bytes, Buffer.from(env.sig, "base64url"))).toBe(true);
    expect(env.sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
  });

  test("refuses to sign an invalid payload, a bad kid or with a public key", () => {
    const badName = thrownBy(
      () =>
        signPassport({
          payload: { ...payload, name: "Bad_Name" },
          clusterPrivateKey: cluster.privateKey,
          kid,
        }),
      PassportError,
    );
    expect(badName).toBeInstanceOf(PassportMalformedError);
    expect((badName as PassportMalformedError).field).toBe("name");
    expect(() => signPassport({ payload, clusterPrivateKey: cluster.privateKey, kid: "k1" })).toThrow(
      PassportMalformedError,
    );
    expect(() => signPassport({ payload, clusterPrivateKey: cluster.publicKey, kid })).toThrow(
      PassportKeyError,
    );
  });
});

describe("parsePassport", () => {
  const text = stringifyPassport(env);

  test("accepts JSON text, UTF-8 bytes and parsed objects alike, returning a fresh object", () => {
    expect(parsePassport(text)).toEqual(env);
    expect(parsePassport(new TextEncoder().encode(text))).toEqual(env);
    const copy = parsePassport(env);
    expect(copy).toEqual(env);
    expect(copy).not.toBe(env);
  });

  test("checks the size before parsing", () => {
    const huge = `{"format":"fluxrig.passport","v":1,"pad":"${"x".repeat(MAX_PASSPORT_BYTES)}"}`;
    const error = thrownBy(() => parsePassport(huge), PassportError);
    expect(error).toBeInstanceOf(PassportMalformedError);
    expect(error.message).toMatch(/exceeds 8192/);
    expect(thrownBy(() => parsePassport(Buffer.from(huge)), PassportError)).toBeInstanceOf(
      PassportMalformedError,
    );
  });

  test.each<[string, unknown, string]>([
    ["text that is not JSON", "{not json", "envelope"],
    ["a JSON array", "[]", "envelope"],
    ["null", null, "envelope"],
    ["a missing format", { ...env, format: undefined }, "format"],
    ["a missing version", { ...env, v: undefined }, "v"],
    ["a version as a string", { ...env, v: "1" }, "v"],
    ["an unknown field", { ...env, extra: true }, "extra"],
    ["a kid without the prefix", { ...env, kid: "YGJikLzJOtxHQH86" }, "kid"],
    ["a kid of the wrong length", { ...env, kid: `${kid}A` }, "kid"],
    ["an empty payload", { ...env, payload: "" }, "payload"],
    ["a payload that is not a string", { ...env, payload: { a: 1 } }, "payload"],
    ["a short signature", { ...env, sig: env.sig.slice(1) }, "sig"],
    ["a missing signature", { ...env, sig: undefined }, "sig"],
  ])("%s is malformed", (_label, input, field) => {
    const error = thrownBy(() => parsePassport(input), PassportError);
    expect(error).toBeInstanceOf(PassportMalformedError);
    expect((error as PassportMalformedError).field).toBe(field);
  });

  test.each<[string, unknown, unknown]>([
    ["another format", "fluxrig.other", 1],
    ["a future version", "fluxrig.passport", 2],
  ])("%s is a PassportFormatError", (_label, format, v) => {
    const error = thrownBy(() => parsePassport({ ...env, format, v }), PassportError);
    expect(error).toBeInstanceOf(PassportFormatError);
    expect(error).toMatchObject({ format, version: v, code: "PASSPORT_FORMAT" });
  });
});

describe("decodePassportPayload", () => {
  test("returns the payload without looking at the signature", () => {
    const unsigned: PassportEnvelope = { ...env, sig: "A".repeat(86) };
    expect(decodePassportPayload(unsigned)).toEqual(payload);
  });

  test("refuses a payload that is not canonical base64url or not a valid payload", () => {
    expect(() => decodePassportPayload({ ...env, payload: `${env.payload}=` })).toThrow(
      PassportMalformedError,
    );
    const other = Buffer.from(JSON.stringify({ ...payload, serial: 0 })).toString("base64url");
    expect(thrownBy(() => decodePassportPayload({ ...env, payload: other }), PassportError)).toMatchObject({
      field: "serial",
    });
  });
});

describe("stringifyPassport", () => {
  test("writes compact JSON with keys in envelope order", () => {
    const scrambled = { sig: env.sig, payload: env.payload, kid: env.kid, v: env.v, format: env.format };
    const text = stringifyPassport(scrambled as PassportEnvelope);
    expect(Object.keys(JSON.parse(text))).toEqual(["format", "v", "kid", "payload", "sig"]);
    expect(text.startsWith('{"format":"fluxrig.passport","v":1,"kid":')).toBe(true);
  });
});
