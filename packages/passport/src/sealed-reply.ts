// Sealed hello replies (issue 14): the Mixer's full reply to a Rack on the shared bootstrap inbox, encrypted to an
// ephemeral X25519 key the Rack put into its signed hello, so no other bootstrap holder can read it. X25519 ECDH,
// HKDF-SHA-256 and AES-256-GCM, all from node:crypto. Authenticity is the Cluster Key signature over the sealed
// message's bytes (Fluxrig-Sig); the AEAD tag makes a tampered box unreadable as well.
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { SealedReplyError } from "./errors.js";
import { privateKeyFromRaw, RAW_KEY_BYTES, randomKeyPair } from "./raw-keys.js";

const X25519_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const INFO = "fluxrig sealed hello reply v1";

/** A sealed box as it travels: base64url of the Mixer's ephemeral X25519 key, the GCM IV, and ciphertext + tag. */
export interface SealedBox {
  /** The sender's ephemeral X25519 public key (32 bytes, base64url). */
  epk: string;
  /** The AES-GCM IV (12 bytes, base64url). */
  iv: string;
  /** The ciphertext followed by the 16-byte GCM tag (base64url). */
  ct: string;
}

/** A Rack's one-hello reply key: the private half stays in memory, the public half (base64url) goes in the hello. */
export interface ReplyKey {
  privateKey: KeyObject;
  /** Raw 32-byte X25519 public key, base64url (43 characters). */
  publicKey: string;
}

/**
 * A fresh X25519 key pair for one hello: a new one per hello, so a reply can be opened by that hello's sender only.
 *
 * @example
 * const key = generateReplyKey(); // hello.reply_key = key.publicKey
 */
export function generateReplyKey(): ReplyKey {
  const { privateKey, publicKey } = randomKeyPair("x25519");
  return { privateKey, publicKey: rawX25519(publicKey) };
}

/**
 * Encrypts `plaintext` to the X25519 public key `recipient` (base64url). `context` is authenticated, not encrypted:
 * both sides must give the same bytes (the Rack's Ed25519 public key, see {@link sealContext}). Throws
 * SealedReplyError (`bad_key`) when `recipient` is not a 32-byte X25519 key.
 *
 * @example
 * const box = sealReply({ recipient: hello.reply_key, plaintext: encodeMessage(full), context: sealContext(hello.public_key) });
 */
export function sealReply(opts: {
  recipient: string;
  plaintext: Uint8Array;
  context: Uint8Array;
}): SealedBox {
  const recipient = x25519PublicKey(opts.recipient);
  // The ephemeral key's public half comes with its private key's JWK (node:crypto derives it on import): no second
  // KeyObject for it, as randomKeyPair would make.
  const ephemeral = privateKeyFromRaw("x25519", randomBytes(RAW_KEY_BYTES));
  const epk = rawX25519(ephemeral);
  const key = deriveKey(diffieHellman({ privateKey: ephemeral, publicKey: recipient }), epk, opts.recipient);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(opts.context);
  const ct = Buffer.concat([cipher.update(opts.plaintext), cipher.final(), cipher.getAuthTag()]);
  return { epk, iv: iv.toString("base64url"), ct: ct.toString("base64url") };
}

/**
 * Opens a box sealed to `key`. Throws SealedReplyError: `malformed` (a field of the wrong size), `bad_key` (the
 * sender's key is not a valid X25519 point), `unreadable` (wrong key, wrong context, or any byte changed).
 *
 * @example
 * const bytes = openReply({ key, box: reply.sealed, context: sealContext(myPublicKey) });
 */
export function openReply(opts: { key: ReplyKey; box: SealedBox; context: Uint8Array }): Uint8Array {
  const { box } = opts;
  const iv = Buffer.from(box.iv, "base64url");
  const ct = Buffer.from(box.ct, "base64url");
  if (iv.length !== IV_BYTES || ct.length < TAG_BYTES)
    throw new SealedReplyError({ reason: "malformed", message: "sealed reply: bad IV or ciphertext length" });
  const sender = x25519PublicKey(box.epk);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: opts.key.privateKey, publicKey: sender });
  } catch (cause) {
    throw new SealedReplyError({ reason: "bad_key", message: "sealed reply: unusable sender key", cause });
  }
  const key = deriveKey(shared, box.epk, opts.key.publicKey);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(opts.context);
  decipher.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(ct.subarray(0, ct.length - TAG_BYTES)), decipher.final()]);
  } catch (cause) {
    throw new SealedReplyError({
      reason: "unreadable",
      message: "sealed reply: does not open with this key (another Rack's, or altered)",
      cause,
    });
  }
}

/**
 * The authenticated context of a sealed hello reply: the Rack's Ed25519 public key (base64url) as it signed it in
 * the hello, so a box made for one Rack's hello is not taken as the reply to another's.
 *
 * @example
 * sealContext(req.public_key);
 */
export function sealContext(rackPublicKey: string): Uint8Array {
  return Buffer.from(`${INFO}\n${rackPublicKey}`, "utf8");
}

function deriveKey(shared: Buffer, epk: string, recipient: string): Buffer {
  // Both public keys go into the salt, so the key belongs to this exchange (as in HPKE's key schedule).
  const salt = Buffer.concat([Buffer.from(epk, "base64url"), Buffer.from(recipient, "base64url")]);
  return Buffer.from(hkdfSync("sha256", shared, salt, INFO, 32));
}

function x25519PublicKey(b64: string): KeyObject {
  const raw = Buffer.from(b64, "base64url");
  if (raw.length !== X25519_KEY_BYTES || raw.toString("base64url") !== b64)
    throw new SealedReplyError({ reason: "bad_key", message: "expected a 32-byte X25519 key in base64url" });
  try {
    return createPublicKey({ key: { kty: "OKP", crv: "X25519", x: b64 }, format: "jwk" });
  } catch (cause) {
    throw new SealedReplyError({ reason: "bad_key", message: "not an X25519 public key", cause });
  }
}

/** The raw public key (base64url) of an X25519 key, public or private (a private key's JWK carries both halves). */
function rawX25519(key: KeyObject): string {
  const { x } = key.export({ format: "jwk" });
  if (typeof x !== "string") throw new Error("X25519 key without x");
  return x;
}
