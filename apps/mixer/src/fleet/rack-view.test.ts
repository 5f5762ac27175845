import { randomBytes } from "node:crypto";
import { generateKeyPair, keyFingerprint, PassportError, publicKeyToBase64url } from "@fluxrig/passport";
import { describe, expect, it } from "vitest";
import { rackKeyFingerprint } from "./rack-view.js";

describe("rackKeyFingerprint", () => {
  it("equals keyFingerprint for real keys and for any 32 bytes", () => {
    const keys = [
      ...Array.from({ length: 10 }, () => publicKeyToBase64url(generateKeyPair().publicKey)),
      ...Array.from({ length: 40 }, () => randomBytes(32).toString("base64url")),
    ];
    for (const key of keys) expect(rackKeyFingerprint(key)).toBe(keyFingerprint(key));
  });

  it("refuses what keyFingerprint refuses: wrong length, padding, a non-canonical last character", () => {
    const key = randomBytes(32).toString("base64url");
    // The last character of 32 bytes carries 2 spare bits: setting one decodes to the same bytes, not canonically.
    const last = key.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sloppy = key.slice(0, -1) + alphabet[alphabet.indexOf(last) | 1]!;
    for (const bad of ["test-key-1", `${key}=`, randomBytes(31).toString("base64url"), sloppy]) {
      if (bad === key) continue;
      expect(() => keyFingerprint(bad)).toThrow(PassportError);
      expect(() => rackKeyFingerprint(bad)).toThrow(PassportError);
    }
  });
});
