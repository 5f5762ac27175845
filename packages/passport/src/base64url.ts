// Strict base64url (RFC 4648 §5, no padding): Buffer's own decoder skips junk, which would make encodings malleable.

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/**
 * Encodes bytes as unpadded base64url.
 *
 * @example
 * encodeBase64url(new Uint8Array([251, 255])) // "-_8"
 */
export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/**
 * Decodes canonical unpadded base64url, or returns undefined: no padding, no whitespace, no stray
 * characters, and no non-zero trailing bits, so every byte string has exactly one accepted text.
 *
 * @example
 * decodeBase64url("-_8")  // Buffer [251, 255]
 * decodeBase64url("-_9")  // undefined (non-zero trailing bits)
 */
export function decodeBase64url(text: string): Buffer | undefined {
  if (text.length % 4 === 1 || !ALPHABET.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64url");
  // Re-encoding catches non-zero trailing bits, the one malleability the alphabet check leaves.
  if (bytes.toString("base64url") !== text) return undefined;
  return bytes;
}
