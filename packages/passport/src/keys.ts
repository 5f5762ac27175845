// Ed25519 keys over node:crypto: generation, the raw base64url public form, key ids, and raw sign/verify.

import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { decodeBase64url } from "./base64url.js";
import { PassportKeyError } from "./errors.js";
import { randomKeyPair } from "./raw-keys.js";

/** A matching Ed25519 private and public key. */
export interface Ed25519KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Length of an Ed25519 signature in bytes. */
export const ED25519_SIGNATURE_LENGTH = 64;
/** Length of a raw Ed25519 public key in bytes. */
export const ED25519_PUBLIC_KEY_LENGTH = 32;
/** Prefix of every key id. */
export const KEY_ID_PREFIX = "ed25519:";

const RAW_PUBLIC_KEY_B64_LENGTH = 43;

// Exporting a KeyObject costs far more than the checks around it, and the same cluster and Rack keys are
// used on every call, so their raw form is remembered per object (a WeakMap does not keep keys alive).
const rawPublicCache = new WeakMap<KeyObject, string>();
const keyIdCache = new WeakMap<KeyObject, string>();

/**
 * Generates a fresh Ed25519 key pair.
 *
 * @example
 * const { privateKey, publicKey } = generateKeyPair();
 */
export function generateKeyPair(): Ed25519KeyPair {
  // From a random seed, never node:crypto's generateKeyPair: see randomKeyPair (a Node 20 deadlock).
  return randomKeyPair("ed25519");
}

/**
 * The raw 32-byte public key as unpadded base64url (43 characters). Accepts a private key too and
 * uses its public half.
 *
 * @example
 * publicKeyToBase64url(clusterPublicKey) // "l6JwQUdgio7RsCQ60UZLr8MkR9ysxGbIylLKeWtKQ-M"
 */
export function publicKeyToBase64url(pub: KeyObject): string {
  const cached = rawPublicCache.get(pub);
  if (cached !== undefined) return cached;
  assertEd25519(pub);
  // The JWK export is the cheapest route to the raw bytes: a DER export is an order of magnitude slower.
  const { x } = pub.export({ format: "jwk" });
  if (typeof x !== "string" || x.length !== RAW_PUBLIC_KEY_B64_LENGTH) {
    throw new PassportKeyError({ reason: "bad-encoding", detail: "node:crypto exported an unexpected JWK" });
  }
  rawPublicCache.set(pub, x);
  return x;
}

/**
 * Imports a raw 32-byte Ed25519 public key from unpadded base64url.
 * Throws PassportKeyError ("bad-encoding" or "bad-length").
 *
 * @example
 * const pub = publicKeyFromBase64url("l6JwQUdgio7RsCQ60UZLr8MkR9ysxGbIylLKeWtKQ-M");
 */
export function publicKeyFromBase64url(b64: string): KeyObject {
  if (typeof b64 !== "string") {
    throw new PassportKeyError({ reason: "bad-encoding", detail: `expected a string, got ${typeof b64}` });
  }
  const raw = decodeBase64url(b64);
  if (raw === undefined) {
    throw new PassportKeyError({ reason: "bad-encoding", detail: "not canonical unpadded base64url" });
  }
  if (raw.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw new PassportKeyError({ reason: "bad-length", detail: `${raw.length} bytes, expected 32` });
  }
  try {
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64 }, format: "jwk" });
    rawPublicCache.set(key, b64);
    return key;
  } catch (cause) {
    throw new PassportKeyError({ reason: "bad-encoding", detail: "not an Ed25519 public key", cause });
  }
}

/**
 * A short stable id for a public key: "ed25519:" + the first 16 base64url characters (96 bits) of
 * SHA-256 over the raw 32-byte key. Accepts a KeyObject or the raw key as base64url.
 *
 * @example
 * keyId("l6JwQUdgio7RsCQ60UZLr8MkR9ysxGbIylLKeWtKQ-M") // "ed25519:YGJikLzJOtxHQH86"
 */
export function keyId(pub: KeyObject | string): string {
  if (typeof pub !== "string") {
    const cached = keyIdCache.get(pub);
    if (cached !== undefined) return cached;
    const id = keyIdOfRaw(publicKeyToBase64url(pub));
    keyIdCache.set(pub, id);
    return id;
  }
  return keyIdOfRaw(pub);
}

function keyIdOfRaw(b64: string): string {
  const raw = decodeBase64url(b64);
  if (raw === undefined || raw.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw new PassportKeyError({ reason: "bad-encoding", detail: "not a raw 32-byte key in base64url" });
  }
  return KEY_ID_PREFIX + createHash("sha256").update(raw).digest("base64url").slice(0, 16);
}

/**
 * Signs bytes with an Ed25519 private key (deterministic, 64 bytes).
 *
 * @example
 * const sig = signBytes(privateKey, new TextEncoder().encode("hello"));
 */
export function signBytes(privateKey: KeyObject, data: Uint8Array): Buffer {
  if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ed25519") {
    throw new PassportKeyError({ reason: "wrong-key-type", detail: describeKey(privateKey, "private") });
  }
  return sign(null, data, privateKey);
}

/**
 * Verifies an Ed25519 signature. Never throws: a signature of the wrong length, a key of the wrong kind
 * or any crypto failure is simply `false`.
 *
 * @example
 * verifyBytes(publicKey, data, sig) // true
 */
export function verifyBytes(pub: KeyObject, data: Uint8Array, sig: Uint8Array): boolean {
  try {
    if (sig.length !== ED25519_SIGNATURE_LENGTH || pub.asymmetricKeyType !== "ed25519") return false;
    return verify(null, data, pub, sig);
  } catch {
    return false;
  }
}

/**
 * The public half of an Ed25519 private key.
 *
 * @example
 * publicKeyFromPrivate(privateKey).type // "public"
 */
export function publicKeyFromPrivate(key: KeyObject): KeyObject {
  if (key.type !== "private" || key.asymmetricKeyType !== "ed25519") {
    throw new PassportKeyError({ reason: "wrong-key-type", detail: describeKey(key, "private") });
  }
  return createPublicKey(key);
}

/** Throws unless `key` is an Ed25519 KeyObject (public or private). */
export function assertEd25519(key: KeyObject, want?: "public" | "private"): void {
  const ok =
    typeof key === "object" &&
    key !== null &&
    key.asymmetricKeyType === "ed25519" &&
    (want === undefined || key.type === want);
  if (!ok) throw new PassportKeyError({ reason: "wrong-key-type", detail: describeKey(key, want ?? "any") });
}

function describeKey(key: KeyObject, want: string): string {
  const kind =
    typeof key === "object" && key !== null
      ? `${key.type} ${key.asymmetricKeyType ?? "symmetric"}`
      : typeof key;
  return `expected an Ed25519 ${want === "any" ? "" : `${want} `}key, got ${kind}`;
}

/**
 * The fingerprint operators compare by eye: "SHA256:" + unpadded standard base64 of SHA-256 over the raw key, as
 * `ssh-keygen -l` prints them. The Mixer shows it for every Rack and `fluxrig-rack status` prints the Rack's own.
 *
 * @example
 * keyFingerprint(rackPublicKey) // "SHA256:B2xG4DZYvfOJb/FdI9..."
 */
export function keyFingerprint(pub: KeyObject | string): string {
  // Going through the KeyObject validates a base64url key first (PassportKeyError on a bad one).
  const key = typeof pub === "string" ? publicKeyFromBase64url(pub) : pub;
  const raw = Buffer.from(publicKeyToBase64url(key), "base64url");
  return `SHA256:${createHash("sha256").update(raw).digest("base64").replace(/=+$/, "")}`;
}
