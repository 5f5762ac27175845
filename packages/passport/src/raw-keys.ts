// Ed25519 and X25519 keys from raw bytes, and fresh key pairs from random bytes: the one place this package turns
// bytes into node:crypto keys, and the one place that keeps Node's KeyGenJob out of the process.
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes } from "node:crypto";

/** Raw key length of both curves, private key (Ed25519 seed, X25519 scalar) and public key alike. */
export const RAW_KEY_BYTES = 32;

export type Curve = "ed25519" | "x25519";

const JWK_CURVE: Record<Curve, string> = { ed25519: "Ed25519", x25519: "X25519" };

/**
 * The private key whose raw form is `raw` (32 bytes, checked by the caller).
 *
 * Imported as a JWK: node:crypto builds a private OKP key from `d` alone (it requires `x` to be a string and derives
 * the public half itself), about 50 µs against 500 µs for the same key as PKCS#8 DER, which goes through OpenSSL's
 * decoders.
 */
export function privateKeyFromRaw(curve: Curve, raw: Uint8Array): KeyObject {
  return createPrivateKey({
    key: { kty: "OKP", crv: JWK_CURVE[curve], d: Buffer.from(raw).toString("base64url"), x: "" },
    format: "jwk",
  });
}

/** The public key whose raw form is `raw` (32 bytes, checked by the caller). */
export function publicKeyFromRaw(curve: Curve, raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: "OKP", crv: JWK_CURVE[curve], x: Buffer.from(raw).toString("base64url") },
    format: "jwk",
  });
}

/**
 * A fresh key pair: 32 random bytes are a complete private key on both curves (RFC 8032 §5.1.5, RFC 7748 §5).
 *
 * Never `generateKeyPair(Sync)` from node:crypto for these: on Node 20 a garbage collection that finalizes its
 * KeyGenJob while the new key is being exported (`export({ format: "jwk" })`, which the raw public form takes)
 * locks the key's mutex a second time on the main thread, and the process hangs for good with no CPU used. Seen with
 * gdb twice: in Ed25519 keys for Racks in tests, then in the Mixer's ephemeral X25519 keys of sealed hello replies
 * (a cluster fault test's Mixer stopped answering anything, its main thread in `~KeyGenJob` under `ExportJWKEdKey`).
 * raw-keys.test.ts keeps such calls out of the product, the benchmarks and the tooling.
 *
 * @example
 * const { privateKey, publicKey } = randomKeyPair("x25519");
 */
export function randomKeyPair(curve: Curve): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKey = privateKeyFromRaw(curve, randomBytes(RAW_KEY_BYTES));
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
