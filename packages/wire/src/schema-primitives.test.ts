// The shared building blocks: canonical base64url, decimal entity ids, names and versions.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EntityIdStringSchema,
  isCanonicalBase64url,
  NonceSchema,
  PublicKeySchema,
  SignatureSchema,
  VersionSchema,
} from "./schema-primitives.js";

describe("isCanonicalBase64url", () => {
  it("accepts exactly what Buffer writes for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        expect(isCanonicalBase64url(Buffer.from(bytes).toString("base64url"))).toBe(true);
      }),
    );
  });

  it("refuses padding, foreign characters, impossible lengths and non-zero trailing bits", () => {
    for (const text of ["AA==", "A+/B", "AAAAA", "-_9", "AB", "a b", "AAA\n"]) {
      expect(isCanonicalBase64url(text)).toBe(false);
    }
    expect(isCanonicalBase64url("-_8")).toBe(true);
    expect(isCanonicalBase64url("AA")).toBe(true);
  });

  it("is one text per byte string", () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
          maxLength: 20,
        }),
        (text) => {
          if (!isCanonicalBase64url(text)) return;
          expect(Buffer.from(text, "base64url").toString("base64url")).toBe(text);
        },
      ),
    );
  });
});

describe("byte-length bounds", () => {
  it("fix keys at 32 bytes, signatures at 64, nonces at 16..32", () => {
    const b64 = (n: number) => Buffer.alloc(n, 1).toString("base64url");
    expect(PublicKeySchema.safeParse(b64(32)).success).toBe(true);
    expect(PublicKeySchema.safeParse(b64(33)).success).toBe(false);
    expect(SignatureSchema.safeParse(b64(64)).success).toBe(true);
    expect(SignatureSchema.safeParse(b64(65)).success).toBe(false);
    for (let n = 0; n <= 40; n++) expect(NonceSchema.safeParse(b64(n)).success).toBe(n >= 16 && n <= 32);
  });
});

describe("EntityIdStringSchema", () => {
  it("accepts every id in range as its decimal string", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (id) => {
        expect(EntityIdStringSchema.safeParse(id.toString()).success).toBe(true);
      }),
    );
  });

  it("refuses ids over 2^64-1 and non-canonical text", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 2n ** 64n, max: 10n ** 21n }), (id) => {
        expect(EntityIdStringSchema.safeParse(id.toString()).success).toBe(false);
      }),
    );
    for (const text of ["", "00", "-1", "+1", "1.0", "0x1", " 1"]) {
      expect(EntityIdStringSchema.safeParse(text).success).toBe(false);
    }
  });
});

describe("VersionSchema", () => {
  it("takes printable versions and refuses spaces, control characters and long text", () => {
    expect(VersionSchema.safeParse("1.5.0-rc.1+abc").success).toBe(true);
    for (const v of ["", "1 0", "1.0\n", "v".repeat(65), "1.0\u0000"])
      expect(VersionSchema.safeParse(v).success).toBe(false);
  });
});
