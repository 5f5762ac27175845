// The signature memo vouches only for byte-identical envelopes under its own key id; everything else is verified.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { EXPIRES_AT, ISSUED_AT, samplePayload } from "../test/support/passport-fixtures.js";
import { encodeBase64url } from "./base64url.js";
import { type PassportEnvelope, signPassport } from "./envelope.js";
import { PassportNameMismatchError, PassportSignatureInvalidError } from "./errors.js";
import { generateKeyPair, keyId } from "./keys.js";
import { SignatureMemo } from "./signature-memo.js";
import { verifyPassport } from "./verify.js";

const cluster = generateKeyPair();
const rack = generateKeyPair();
const kid = keyId(cluster.publicKey);
const payload = samplePayload(rack.publicKey);
const now = new Date((ISSUED_AT.getTime() + EXPIRES_AT.getTime()) / 2);
const issued = signPassport({ payload, clusterPrivateKey: cluster.privateKey, kid });
const opts = { clusterPublicKey: cluster.publicKey, rackPublicKey: rack.publicKey, name: payload.name, now };

function editedPayload(env: PassportEnvelope): PassportEnvelope {
  const text = Buffer.from(env.payload, "base64url").toString("utf8").replace('"serial":', '"serial":1');
  return { ...env, payload: encodeBase64url(Buffer.from(text, "utf8")) };
}

describe("SignatureMemo", () => {
  test("vouches for the exact envelope it remembered and nothing else", () => {
    const memo = new SignatureMemo(kid);
    expect(memo.vouches(issued)).toBe(false);
    memo.remember(issued);
    expect(memo.vouches({ ...issued })).toBe(true);
    expect(memo.vouches(editedPayload(issued))).toBe(false);
    expect(memo.vouches({ ...issued, kid: "other-kid" })).toBe(false);
    const other = signPassport({
      payload: { ...payload, serial: 9 },
      clusterPrivateKey: cluster.privateKey,
      kid,
    });
    expect(memo.vouches(other)).toBe(false);
  });

  test("a remembered signature on an edited payload is still refused by verifyPassport", () => {
    const memo = new SignatureMemo(kid);
    memo.remember(issued);
    expect(() => verifyPassport(editedPayload(issued), { ...opts, knownSignatures: memo })).toThrow(
      PassportSignatureInvalidError,
    );
  });

  test("a vouched envelope skips only the signature: the name and keys are still checked", () => {
    const memo = new SignatureMemo(kid);
    expect(verifyPassport(issued, { ...opts, knownSignatures: memo })).toEqual(payload);
    // The full check remembered it.
    expect(memo.size).toBe(1);
    expect(memo.vouches(issued)).toBe(true);
    expect(() => verifyPassport(issued, { ...opts, name: "someone-else", knownSignatures: memo })).toThrow(
      PassportNameMismatchError,
    );
  });

  test("a memo for another key id is not consulted and not filled", () => {
    const foreignKid = keyId(generateKeyPair().publicKey);
    const memo = new SignatureMemo(foreignKid);
    // Whatever it holds, a memo of another key cannot make a bad signature pass.
    const broken = { ...issued, sig: encodeBase64url(Buffer.alloc(64, 1)), kid: foreignKid };
    memo.remember(broken);
    expect(() => verifyPassport({ ...issued, sig: broken.sig }, { ...opts, knownSignatures: memo })).toThrow(
      PassportSignatureInvalidError,
    );
    verifyPassport(issued, { ...opts, knownSignatures: memo });
    expect(memo.vouches(issued)).toBe(false);
  });

  test("is bounded: the oldest entries go first", () => {
    const memo = new SignatureMemo(kid, { maxEntries: 3 });
    const envs = [1, 2, 3, 4].map((serial) =>
      signPassport({ payload: { ...payload, serial }, clusterPrivateKey: cluster.privateKey, kid }),
    );
    for (const env of envs) memo.remember(env);
    expect(memo.size).toBe(3);
    expect(envs.map((e) => memo.vouches(e))).toEqual([false, true, true, true]);
    memo.forget(envs[3]!);
    expect(memo.vouches(envs[3]!)).toBe(false);
  });

  test("any change to payload, signature or kid of a remembered envelope loses the vouch (property)", () => {
    const memo = new SignatureMemo(kid);
    memo.remember(issued);
    fc.assert(
      fc.property(
        fc.constantFrom("payload", "sig", "kid" as const),
        fc.string({ minLength: 1, maxLength: 4 }),
        (field, extra) => {
          const changed = { ...issued, [field]: `${issued[field]}${extra}` };
          return !memo.vouches(changed);
        },
      ),
    );
  });
});
