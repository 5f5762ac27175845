// Tests of verifyPassport: one situation per typed error, tamper properties, skew edges and expired renewal.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { EXPIRES_AT, ISSUED_AT, passportSigner } from "../test/support/passport-fixtures.js";
import { thrownBy } from "../test/support/thrown.js";
import { encodeBase64url } from "./base64url.js";
import { type PassportEnvelope, signPassport } from "./envelope.js";
import {
  PassportError,
  PassportExpiredError,
  PassportFormatError,
  PassportKeyIdMismatchError,
  PassportMalformedError,
  PassportNameMismatchError,
  PassportNotYetValidError,
  PassportRackKeyMismatchError,
  PassportSignatureInvalidError,
} from "./errors.js";
import { generateKeyPair, keyId, publicKeyToBase64url, signBytes } from "./keys.js";
import {
  DEFAULT_SKEW_MS,
  renewalDueAt,
  type VerifyPassportOptions,
  verifyPassport,
  verifyPassportSignature,
} from "./verify.js";

const { cluster, rack, kid, payload, issue } = passportSigner();
const midway = new Date((ISSUED_AT.getTime() + EXPIRES_AT.getTime()) / 2);
const opts: VerifyPassportOptions = {
  clusterPublicKey: cluster.publicKey,
  rackPublicKey: rack.publicKey,
  name: "rack-nyc-01",
  now: midway,
};

const at = (ms: number) => new Date(ms);

describe("verifyPassport accepts", () => {
  test("a genuine passport, with the Rack key as KeyObject or base64url, and returns its payload", () => {
    const env = issue();
    expect(verifyPassport(env, opts)).toEqual(payload);
    expect(verifyPassport(env, { ...opts, rackPublicKey: publicKeyToBase64url(rack.publicKey) })).toEqual(
      payload,
    );
    expect(verifyPassport(env, { clusterPublicKey: cluster.publicKey, now: midway })).toEqual(payload);
  });

  test("a revoked passport: a genuine order the caller must obey, so status is returned, not thrown", () => {
    expect(verifyPassport(issue({ ...payload, status: "revoked" }), opts).status).toBe("revoked");
  });
});

describe("each failure has its own error", () => {
  test("garbage is PassportMalformedError", () => {
    expect(
      thrownBy(() => verifyPassport({ format: "fluxrig.passport" } as PassportEnvelope, opts), PassportError),
    ).toBeInstanceOf(PassportMalformedError);
  });

  test("a future version is PassportFormatError", () => {
    const env = { ...issue(), v: 2 } as unknown as PassportEnvelope;
    expect(thrownBy(() => verifyPassport(env, opts), PassportError)).toBeInstanceOf(PassportFormatError);
  });

  test("a passport of another cluster is PassportKeyIdMismatchError", () => {
    const other = generateKeyPair();
    const foreign = signPassport({
      payload,
      clusterPrivateKey: other.privateKey,
      kid: keyId(other.publicKey),
    });
    const error = thrownBy(() => verifyPassport(foreign, opts), PassportError);
    expect(error).toBeInstanceOf(PassportKeyIdMismatchError);
    expect(error).toMatchObject({ expected: kid, actual: keyId(other.publicKey) });
  });

  test("a forgery claiming the cluster's kid is PassportSignatureInvalidError", () => {
    const forger = generateKeyPair();
    const forged = signPassport({ payload, clusterPrivateKey: forger.privateKey, kid });
    expect(thrownBy(() => verifyPassport(forged, opts), PassportError)).toBeInstanceOf(
      PassportSignatureInvalidError,
    );
  });

  test("a payload swapped in from another passport is PassportSignatureInvalidError", () => {
    const mine = issue();
    const theirs = issue({ ...payload, serial: 99 });
    const spliced = { ...mine, payload: theirs.payload };
    expect(thrownBy(() => verifyPassport(spliced, opts), PassportError)).toBeInstanceOf(
      PassportSignatureInvalidError,
    );
  });

  test("genuinely signed bytes that are not a valid payload are PassportMalformedError", () => {
    const bytes = Buffer.from(JSON.stringify({ ...payload, status: "pending" }));
    const env: PassportEnvelope = {
      ...issue(),
      payload: encodeBase64url(bytes),
      sig: encodeBase64url(signBytes(cluster.privateKey, bytes)),
    };
    expect(thrownBy(() => verifyPassport(env, opts), PassportError)).toMatchObject({ field: "status" });
  });

  test("a passport issued to another Rack key is PassportRackKeyMismatchError", () => {
    const other = generateKeyPair();
    const error = thrownBy(
      () => verifyPassport(issue(), { ...opts, rackPublicKey: other.publicKey }),
      PassportError,
    );
    expect(error).toBeInstanceOf(PassportRackKeyMismatchError);
    expect(error).toMatchObject({
      expected: publicKeyToBase64url(other.publicKey),
      actual: payload.rack_public_key,
    });
  });

  test("a passport naming another Rack is PassportNameMismatchError", () => {
    const error = thrownBy(() => verifyPassport(issue(), { ...opts, name: "rack-nyc-02" }), PassportError);
    expect(error).toBeInstanceOf(PassportNameMismatchError);
    expect(error).toMatchObject({ expected: "rack-nyc-02", actual: "rack-nyc-01" });
  });

  test("an expired passport is PassportExpiredError with both instants", () => {
    const now = at(EXPIRES_AT.getTime() + DEFAULT_SKEW_MS);
    const error = thrownBy(() => verifyPassport(issue(), { ...opts, now }), PassportError);
    expect(error).toBeInstanceOf(PassportExpiredError);
    expect((error as PassportExpiredError).expiresAt.toISOString()).toBe(payload.expires_at);
    expect((error as PassportExpiredError).now.getTime()).toBe(now.getTime());
  });

  test("a passport from the future is PassportNotYetValidError", () => {
    const now = at(ISSUED_AT.getTime() - DEFAULT_SKEW_MS - 1);
    const error = thrownBy(() => verifyPassport(issue(), { ...opts, now }), PassportError);
    expect(error).toBeInstanceOf(PassportNotYetValidError);
    expect((error as PassportNotYetValidError).issuedAt.toISOString()).toBe(payload.issued_at);
  });
});

describe("clock skew", () => {
  const env = issue();

  test.each<[string, number, number, boolean]>([
    ["just inside the issue edge", ISSUED_AT.getTime() - DEFAULT_SKEW_MS, DEFAULT_SKEW_MS, true],
    ["just inside the expiry edge", EXPIRES_AT.getTime() + DEFAULT_SKEW_MS - 1, DEFAULT_SKEW_MS, true],
    ["at the expiry edge", EXPIRES_AT.getTime() + DEFAULT_SKEW_MS, DEFAULT_SKEW_MS, false],
    ["one ms early with no skew", ISSUED_AT.getTime() - 1, 0, false],
    ["at expiry with no skew", EXPIRES_AT.getTime(), 0, false],
    ["ten minutes early with a ten-minute skew", ISSUED_AT.getTime() - 600_000, 600_000, true],
  ])("%s", (_label, nowMs, skewMs, ok) => {
    const run = () => verifyPassport(env, { ...opts, now: at(nowMs), skewMs });
    if (ok) expect(run()).toEqual(payload);
    else expect(run).toThrow(PassportError);
  });

  test("a negative skew is a programming error, not a verdict on the passport", () => {
    expect(() => verifyPassport(env, { ...opts, skewMs: -1 })).toThrow(RangeError);
  });
});

describe("expired passports presented for renewal", () => {
  const env = issue();
  const late = at(EXPIRES_AT.getTime() + 86_400_000);

  test("allowExpired returns the payload, whose expires_at shows the expiry", () => {
    const p = verifyPassport(env, { ...opts, now: late, allowExpired: true });
    expect(Date.parse(p.expires_at)).toBeLessThan(late.getTime());
  });

  test("verifyPassportSignature says expired outright, and false while valid", () => {
    expect(verifyPassportSignature(env, { ...opts, now: late })).toEqual({ payload, expired: true });
    expect(verifyPassportSignature(env, opts)).toEqual({ payload, expired: false });
  });

  test("allowExpired does not excuse a bad signature or another Rack's key", () => {
    const forged = signPassport({ payload, clusterPrivateKey: generateKeyPair().privateKey, kid });
    expect(() => verifyPassport(forged, { ...opts, now: late, allowExpired: true })).toThrow(
      PassportSignatureInvalidError,
    );
    const other = generateKeyPair().publicKey;
    expect(() =>
      verifyPassport(env, { ...opts, now: late, allowExpired: true, rackPublicKey: other }),
    ).toThrow(PassportRackKeyMismatchError);
  });
});

describe("tampering (property)", () => {
  const env = issue();
  const payloadBytes = Buffer.from(env.payload, "base64url");
  const sigBytes = Buffer.from(env.sig, "base64url");

  test("flipping any bit of the payload or the signature fails with PassportSignatureInvalidError", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.nat(), fc.integer({ min: 0, max: 7 }), (inSig, index, bit) => {
        const p = Buffer.from(payloadBytes);
        const s = Buffer.from(sigBytes);
        const target = inSig ? s : p;
        const i = index % target.length;
        target[i] = target[i]! ^ (1 << bit);
        const tampered = { ...env, payload: encodeBase64url(p), sig: encodeBase64url(s) };
        expect(thrownBy(() => verifyPassport(tampered, opts), PassportError)).toBeInstanceOf(
          PassportSignatureInvalidError,
        );
      }),
      { numRuns: 300 },
    );
  });

  test("replacing any character of the base64url text fails, never verifies", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    fc.assert(
      fc.property(fc.boolean(), fc.nat(), fc.nat(63), (inSig, index, c) => {
        const text = inSig ? env.sig : env.payload;
        const i = index % text.length;
        const replacement = alphabet[c]!;
        fc.pre(text[i] !== replacement);
        const changed = text.slice(0, i) + replacement + text.slice(i + 1);
        const tampered = inSig ? { ...env, sig: changed } : { ...env, payload: changed };
        const error = thrownBy(() => verifyPassport(tampered, opts), PassportError);
        expect([PassportSignatureInvalidError, PassportMalformedError]).toContain(error.constructor);
      }),
      { numRuns: 300 },
    );
  });
});

describe("renewalDueAt", () => {
  test("is two thirds into the passport's life, in whole milliseconds rounded down", () => {
    const at = (issued: number, expires: number) =>
      renewalDueAt({
        issued_at: new Date(issued).toISOString(),
        expires_at: new Date(expires).toISOString(),
      });
    expect(at(0, 3_000)).toBe(2_000);
    expect(at(1_000, 2_000)).toBe(1_666);
    expect(at(ISSUED_AT.getTime(), EXPIRES_AT.getTime())).toBe(Date.parse("2025-03-21T12:00:00.000Z"));
  });
});
