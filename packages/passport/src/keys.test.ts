// Tests of Ed25519 keys: RFC 8032 vectors, interop with tweetnacl, raw base64url forms and key ids.

import { createHash, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import nacl from "tweetnacl";
import { describe, expect, test } from "vitest";
import { keyPairFromSeedHex, privateKeyFromSeed } from "../test/support/passport-fixtures.js";
import { thrownBy } from "../test/support/thrown.js";
import { PassportKeyError } from "./errors.js";
import {
  generateKeyPair,
  keyFingerprint,
  keyId,
  publicKeyFromBase64url,
  publicKeyFromPrivate,
  publicKeyToBase64url,
  signBytes,
  verifyBytes,
} from "./keys.js";

interface Vector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
const { vectors } = JSON.parse(
  readFileSync(new URL("../test/fixtures/rfc8032-ed25519.json", import.meta.url), "utf8"),
) as { vectors: Vector[] };

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("RFC 8032 §7.1 test vectors", () => {
  test("the fixture holds the five vectors of the RFC", () => {
    expect(vectors.map((v) => v.name)).toEqual(["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"]);
    expect(Buffer.from(vectors[3]!.message, "hex").length).toBe(1023);
    expect(vectors[4]!.message).toBe(createHash("sha512").update("abc").digest("hex"));
  });

  test.each(vectors)("$name: public key, signature and verification", (v) => {
    const { privateKey, publicKey } = keyPairFromSeedHex(v.secretKey);
    const message = Buffer.from(v.message, "hex");
    expect(hex(Buffer.from(publicKeyToBase64url(publicKey), "base64url"))).toBe(v.publicKey);
    expect(hex(signBytes(privateKey, message))).toBe(v.signature);

    const pub = publicKeyFromBase64url(Buffer.from(v.publicKey, "hex").toString("base64url"));
    const sig = Buffer.from(v.signature, "hex");
    expect(verifyBytes(pub, message, sig)).toBe(true);
    expect(verifyBytes(pub, Buffer.concat([message, Buffer.from([0])]), sig)).toBe(false);
  });
});

describe("interop with tweetnacl", () => {
  const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const message = fc.uint8Array({ maxLength: 2048 });

  test("our signatures verify under tweetnacl, and are the same bytes", () => {
    fc.assert(
      fc.property(seed, message, (s, m) => {
        const ours = signBytes(privateKeyFromSeed(s), m);
        const theirs = nacl.sign.keyPair.fromSeed(s);
        expect(nacl.sign.detached.verify(m, ours, theirs.publicKey)).toBe(true);
        expect(hex(ours)).toBe(hex(nacl.sign.detached(m, theirs.secretKey)));
      }),
      { numRuns: 30 },
    );
  });

  test("tweetnacl's signatures verify under ours", () => {
    fc.assert(
      fc.property(seed, message, (s, m) => {
        const theirs = nacl.sign.keyPair.fromSeed(s);
        const pub = publicKeyFromBase64url(Buffer.from(theirs.publicKey).toString("base64url"));
        expect(verifyBytes(pub, m, nacl.sign.detached(m, theirs.secretKey))).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  test("flipping any bit of the message or the signature fails verification", () => {
    const { privateKey, publicKey } = generateKeyPair();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.nat(),
        fc.nat(7),
        fc.boolean(),
        (m, at, bit, inSig) => {
          const sig = signBytes(privateKey, m);
          const msg = Buffer.from(m);
          const target = inSig ? sig : msg;
          const i = at % target.length;
          target[i] = target[i]! ^ (1 << bit);
          expect(verifyBytes(publicKey, msg, sig)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("verifyBytes never throws", () => {
  const { privateKey, publicKey } = generateKeyPair();
  const data = Buffer.from("hello");
  const sig = signBytes(privateKey, data);

  test.each([0, 1, 63, 65, 128])("a %i-byte signature is false", (n) => {
    expect(verifyBytes(publicKey, data, Buffer.alloc(n, 1))).toBe(false);
  });

  test("a key of another type is false", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    expect(verifyBytes(rsa, data, sig)).toBe(false);
  });

  test("a private key verifies through its public half", () => {
    expect(verifyBytes(privateKey, data, sig)).toBe(true);
  });
});

describe("raw public keys and key ids", () => {
  test("base64url round trip is 43 characters and yields an equal key", () => {
    const { publicKey } = generateKeyPair();
    const b64 = publicKeyToBase64url(publicKey);
    expect(b64).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(publicKeyFromBase64url(b64).equals(publicKey)).toBe(true);
  });

  test.each([
    ["too short", Buffer.alloc(31, 7).toString("base64url"), "bad-length"],
    ["too long", Buffer.alloc(33, 7).toString("base64url"), "bad-length"],
    ["padded", `${Buffer.alloc(32, 7).toString("base64url")}=`, "bad-encoding"],
    ["standard base64", Buffer.alloc(32, 0xfb).toString("base64").replace(/=+$/, ""), "bad-encoding"],
    ["non-zero trailing bits", `${Buffer.alloc(32, 7).toString("base64url").slice(0, 42)}x`, "bad-encoding"],
    ["whitespace", ` ${Buffer.alloc(32, 7).toString("base64url")}`, "bad-encoding"],
    ["empty", "", "bad-length"],
  ])("refuses %s with PassportKeyError", (_label, input, reason) => {
    expect(thrownBy(() => publicKeyFromBase64url(input), PassportKeyError).reason).toBe(reason);
  });

  test("keyId is ed25519: plus 16 characters of sha256 over the raw key, same for KeyObject and string", () => {
    const { publicKey } = keyPairFromSeedHex("2a".repeat(32));
    const raw = Buffer.from(publicKeyToBase64url(publicKey), "base64url");
    const expected = `ed25519:${createHash("sha256").update(raw).digest("base64url").slice(0, 16)}`;
    expect(keyId(publicKey)).toBe(expected);
    expect(keyId(publicKeyToBase64url(publicKey))).toBe(expected);
    expect(keyId(generateKeyPair().publicKey)).not.toBe(expected);
  });

  test("keyId refuses a string that is not a raw key", () => {
    expect(() => keyId("not-a-key")).toThrow(PassportKeyError);
  });

  test("publicKeyFromPrivate matches the generated public key", () => {
    const { privateKey, publicKey } = generateKeyPair();
    expect(publicKeyFromPrivate(privateKey).equals(publicKey)).toBe(true);
    expect(() => publicKeyFromPrivate(publicKey)).toThrow(PassportKeyError);
  });

  test("signBytes refuses a public key or a key of another type", () => {
    expect(() => signBytes(generateKeyPair().publicKey, Buffer.from("x"))).toThrow(PassportKeyError);
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    expect(() => signBytes(ec, Buffer.from("x"))).toThrow(PassportKeyError);
  });
});

describe("keyFingerprint", () => {
  test("is ssh-style SHA256 of the raw key, the same from a KeyObject or its base64url form", () => {
    const { publicKey } = generateKeyPair();
    const b64 = publicKeyToBase64url(publicKey);
    const expected = `SHA256:${createHash("sha256").update(Buffer.from(b64, "base64url")).digest("base64").replace(/=+$/, "")}`;
    expect(keyFingerprint(publicKey)).toBe(expected);
    expect(keyFingerprint(b64)).toBe(expected);
    expect(expected).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
