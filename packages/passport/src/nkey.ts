// NATS nkeys for raw Ed25519 keys: a role prefix byte, base32 (RFC 4648, no padding) and a CRC-16/XMODEM, as nkeys do.
import { createPublicKey, type KeyObject } from "node:crypto";
import { NkeyFormatError } from "./errors.js";
import { publicKeyToBase64url } from "./keys.js";
import { privateKeyFromRaw, publicKeyFromRaw, RAW_KEY_BYTES } from "./raw-keys.js";

/**
 * The nkey roles the Mixer issues, with their prefix bytes (a role letter in base32 is the top five bits).
 * Values from nkeys: operator 14<<3 ('O'), account 0 ('A'), user 20<<3 ('U').
 */
export const NKEY_ROLES = { operator: 14 << 3, account: 0, user: 20 << 3 } as const;
export type NkeyRole = keyof typeof NKEY_ROLES;

const SEED_PREFIX = 18 << 3; // 'S'
// 35 bytes (prefix, key, CRC) are 280 bits: exactly 56 base32 characters, no padding.
const PUBLIC_NKEY_LENGTH = 56;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE32_INDEX = new Map([...BASE32].map((ch, i) => [ch, i]));
const ROLE_BY_PREFIX = new Map(Object.entries(NKEY_ROLES).map(([role, byte]) => [byte, role as NkeyRole]));
// DER header of a PKCS#8 Ed25519 private key: the raw 32-byte seed follows it (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * The nkey of a raw 32-byte Ed25519 public key, e.g. a Rack's own key as its NATS user.
 *
 * @example
 * encodePublicNkey("user", raw); // "UB..." (56 characters)
 */
export function encodePublicNkey(role: NkeyRole, raw: Uint8Array): string {
  checkLength(raw, "public key");
  return base32Encode(withCrc(Buffer.concat([Buffer.of(NKEY_ROLES[role]), raw])));
}

/**
 * The seed form ("S" + role letter) of a raw 32-byte Ed25519 seed, for a `.creds` file other tools can read.
 *
 * @example
 * encodeSeedNkey("user", seed); // "SU..." (58 characters)
 */
export function encodeSeedNkey(role: NkeyRole, seed: Uint8Array): string {
  checkLength(seed, "seed");
  const prefix = NKEY_ROLES[role];
  // Two prefix bytes: the seed marker with the role's top three bits, then the role's low five bits shifted up.
  const head = Buffer.of(SEED_PREFIX | (prefix >> 5), (prefix & 31) << 3);
  return base32Encode(withCrc(Buffer.concat([head, seed])));
}

/**
 * The role and raw 32-byte key of a public nkey. Throws NkeyFormatError on a wrong length, alphabet,
 * role or checksum.
 *
 * @example
 * decodePublicNkey(nkey).role; // "user"
 */
export function decodePublicNkey(nkey: string): { role: NkeyRole; raw: Buffer } {
  const bytes = typeof nkey === "string" && nkey.length === PUBLIC_NKEY_LENGTH ? base32Decode(nkey) : null;
  if (bytes === null || bytes.length !== 1 + RAW_KEY_BYTES + 2) throw badNkey(nkey, "not a public nkey");
  const body = bytes.subarray(0, bytes.length - 2);
  if (crc16(body) !== bytes.readUInt16LE(bytes.length - 2)) throw badNkey(nkey, "checksum does not match");
  const role = ROLE_BY_PREFIX.get(bytes[0] ?? -1);
  if (role === undefined) throw badNkey(nkey, "not an operator, account or user key");
  return { role, raw: Buffer.from(body.subarray(1)) };
}

/**
 * The nkey of an Ed25519 KeyObject (a private key uses its public half).
 *
 * @example
 * nkeyOf(rackKeys.publicKey, "user");
 */
export function nkeyOf(key: KeyObject, role: NkeyRole): string {
  return encodePublicNkey(role, rawPublicKey(key));
}

/**
 * The seed nkey of an Ed25519 private KeyObject. The result is a secret: never log it.
 *
 * @example
 * const creds = formatCreds({ jwt, seed: seedNkeyOf(bootstrapKey, "user") });
 */
export function seedNkeyOf(privateKey: KeyObject, role: NkeyRole): string {
  const der = privateKey.export({ format: "der", type: "pkcs8" });
  if (
    der.length !== PKCS8_ED25519_PREFIX.length + RAW_KEY_BYTES ||
    !der.subarray(0, 16).equals(PKCS8_ED25519_PREFIX)
  ) {
    throw new NkeyFormatError("not an Ed25519 private key");
  }
  return encodeSeedNkey(role, der.subarray(PKCS8_ED25519_PREFIX.length));
}

/**
 * A node:crypto public key from a public nkey, to verify what that key signed.
 *
 * @example
 * verify(null, data, publicKeyOfNkey(jwtIssuer), sig);
 */
export function publicKeyOfNkey(nkey: string): KeyObject {
  const { raw } = decodePublicNkey(nkey);
  return publicKeyFromRaw("ed25519", raw);
}

/**
 * A node:crypto private key from a raw 32-byte Ed25519 seed.
 *
 * @example
 * const key = privateKeyOfSeed(seedBytes);
 */
export function privateKeyOfSeed(seed: Uint8Array): KeyObject {
  checkLength(seed, "seed");
  return privateKeyFromRaw("ed25519", seed);
}

/** The raw 32 bytes of an Ed25519 public key (or of a private key's public half). */
export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== "ed25519") throw new NkeyFormatError("not an Ed25519 key");
  // Passport's export is the cheap (JWK) route and is remembered per key object.
  return Buffer.from(publicKeyToBase64url(pub), "base64url");
}

/** CRC-16/XMODEM (polynomial 0x1021, initial 0), as nkeys append it little-endian. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function withCrc(body: Buffer): Buffer {
  const out = Buffer.alloc(body.length + 2);
  body.copy(out);
  out.writeUInt16LE(crc16(body), body.length);
  return out;
}

/** RFC 4648 base32 without padding, the alphabet of nkeys and of a JWT's `jti`. */
export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function base32Decode(text: string): Buffer | null {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const index = BASE32_INDEX.get(ch);
    if (index === undefined) return null;
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function checkLength(bytes: Uint8Array, what: string): void {
  if (bytes.length !== RAW_KEY_BYTES) {
    throw new NkeyFormatError(`an Ed25519 ${what} is ${RAW_KEY_BYTES} bytes, got ${bytes.length}`);
  }
}

function badNkey(nkey: string, why: string): NkeyFormatError {
  const shown = typeof nkey === "string" ? JSON.stringify(nkey.slice(0, 60)) : typeof nkey;
  return new NkeyFormatError(`${shown} is ${why}`);
}
