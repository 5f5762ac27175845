// Sealed hello replies: only the holder of the hello's reply key opens them, and any change to a box is refused.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SealedReplyError } from "./errors.js";
import { generateKeyPair, publicKeyToBase64url } from "./keys.js";
import { generateReplyKey, openReply, type SealedBox, sealContext, sealReply } from "./sealed-reply.js";

const rackKey = publicKeyToBase64url(generateKeyPair().publicKey);
const context = sealContext(rackKey);
const text = new TextEncoder();

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof SealedReplyError) return error.reason;
    throw error;
  }
  return "opened";
}

describe("sealed hello replies", () => {
  it("opens with the reply key it was sealed to and gives back the exact bytes", () => {
    const key = generateReplyKey();
    expect(key.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const plaintext = text.encode('{"v":1,"status":"active","passport":{"sig":"x"}}');
    const box = sealReply({ recipient: key.publicKey, plaintext, context });
    expect(Buffer.from(openReply({ key, box, context })).equals(Buffer.from(plaintext))).toBe(true);
    // The box never shows the plaintext.
    expect(JSON.stringify(box)).not.toContain("passport");
  });

  it("each seal uses a fresh ephemeral key and IV", () => {
    const key = generateReplyKey();
    const a = sealReply({ recipient: key.publicKey, plaintext: text.encode("same"), context });
    const b = sealReply({ recipient: key.publicKey, plaintext: text.encode("same"), context });
    expect(a.epk).not.toBe(b.epk);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toBe(b.ct);
  });

  it("another key, another Rack's context, or a bad box is refused with its reason", () => {
    const key = generateReplyKey();
    const box = sealReply({ recipient: key.publicKey, plaintext: text.encode("secret"), context });
    expect(reasonOf(() => openReply({ key: generateReplyKey(), box, context }))).toBe("unreadable");
    const otherRack = sealContext(publicKeyToBase64url(generateKeyPair().publicKey));
    expect(reasonOf(() => openReply({ key, box, context: otherRack }))).toBe("unreadable");
    expect(reasonOf(() => openReply({ key, box: { ...box, iv: "AAAA" }, context }))).toBe("malformed");
    expect(reasonOf(() => openReply({ key, box: { ...box, ct: "AAAA" }, context }))).toBe("malformed");
    expect(reasonOf(() => openReply({ key, box: { ...box, epk: "not-a-key" }, context }))).toBe("bad_key");
    expect(
      reasonOf(() => sealReply({ recipient: rackKey.slice(1), plaintext: text.encode("x"), context })),
    ).toBe("bad_key");
  });

  it("property: flipping any bit of any field, or opening with any other key, never yields the plaintext", () => {
    const key = generateReplyKey();
    const others = Array.from({ length: 8 }, () => generateReplyKey());
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 2048 }),
        fc.constantFrom<keyof SealedBox>("epk", "iv", "ct"),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 7 }),
        (plaintext, field, at, bit, other) => {
          const box = sealReply({ recipient: key.publicKey, plaintext, context });
          expect(Buffer.from(openReply({ key, box, context })).equals(Buffer.from(plaintext))).toBe(true);
          expect(reasonOf(() => openReply({ key: others[other]!, box, context }))).toBe("unreadable");
          const bytes = Buffer.from(box[field], "base64url");
          bytes[at % bytes.length]! ^= 1 << bit;
          const tampered = { ...box, [field]: bytes.toString("base64url") };
          // A flipped epk bit can still be a valid point (unreadable) or not one (bad_key); never opened.
          expect(["unreadable", "bad_key"]).toContain(
            reasonOf(() => openReply({ key, box: tampered, context })),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
