// Bounded building blocks shared by every message schema: names, ids, base64url, timestamps, counters.
import { MAX_ENTITY_ID } from "@fluxrig/entity-id";
import { z } from "zod";
import { RACK_NAME_PATTERN } from "./subjects.js";

/**
 * Limits every schema shares; exported so senders can check before they send.
 *
 * @example
 * if (hostname.length > WIRE_LIMITS.hostnameChars) hostname = hostname.slice(0, WIRE_LIMITS.hostnameChars);
 */
export const WIRE_LIMITS = {
  versionChars: 64,
  hostnameChars: 253,
  shortTextChars: 64,
  attributeValueChars: 256,
  attributeKeys: 32,
  macAddresses: 32,
  messageChars: 1024,
  sessionChars: 64,
  timestampChars: 40,
  scenarioGears: 256,
  /** A gear's last error as a heartbeat reports it (`stats.gear_list[].last_error.message`); longer text is cut. */
  gearErrorChars: 200,
  scenarioWires: 1024,
  gearConfigKeys: 256,
  passportPayloadChars: 8 * 1024,
} as const;

/**
 * A Rack (or scenario, gear, wire) name: a lowercase DNS label, so it is one safe subject token.
 *
 * @example
 * NameSchema.safeParse("rack-nyc-01").success; // true
 */
export const NameSchema = z.string().max(63).regex(RACK_NAME_PATTERN, "expected a lowercase DNS label");

/**
 * A software version: printable ASCII without spaces (e.g. `1.4.2`, `1.5.0-rc.1+abc`).
 *
 * @example
 * VersionSchema.parse("1.4.2");
 */
export const VersionSchema = z
  .string()
  .min(1)
  .max(WIRE_LIMITS.versionChars)
  .regex(/^[\x21-\x7e]+$/, "expected printable ASCII without spaces");

const DECIMAL_ID = /^(0|[1-9][0-9]{0,19})$/;
const MAX_ID_TEXT = MAX_ENTITY_ID.toString();

/**
 * An entity id in its wire form: a canonical decimal string in 0..2^64-1 (never a JS number).
 *
 * @example
 * EntityIdStringSchema.parse("216282733276561408");
 */
export const EntityIdStringSchema = z
  .string()
  .max(20)
  .regex(DECIMAL_ID, "expected an entity id as a decimal string")
  // Same length as 2^64-1: compare as text, which orders like numbers for equal lengths and skips BigInt.
  .refine((s) => s.length < 20 || s <= MAX_ID_TEXT, "entity id is over 2^64-1");

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const B64_INDEX = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Characters of the unpadded base64url text of `bytes` bytes. */
function base64urlChars(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

/**
 * Whether text is canonical unpadded base64url: right alphabet, a possible length, and zero trailing bits,
 * so one byte string has exactly one accepted text (same rule as @fluxrig/passport).
 *
 * @example
 * isCanonicalBase64url("-_8"); // true;  isCanonicalBase64url("-_9"); // false
 */
export function isCanonicalBase64url(text: string): boolean {
  const rem = text.length % 4;
  if (rem === 1 || !BASE64URL.test(text)) return false;
  if (rem === 0) return true;
  const last = B64_INDEX.indexOf(text[text.length - 1]!);
  // Two chars carry 12 bits for 1 byte (4 spare), three carry 18 bits for 2 bytes (2 spare).
  return rem === 2 ? (last & 0b1111) === 0 : (last & 0b11) === 0;
}

/**
 * A schema for canonical unpadded base64url text holding `minBytes`..`maxBytes` bytes.
 *
 * @example
 * const Nonce = base64urlSchema({ minBytes: 16, maxBytes: 32 });
 */
export function base64urlSchema(bounds: { minBytes: number; maxBytes: number }) {
  return z
    .string()
    .min(base64urlChars(bounds.minBytes))
    .max(base64urlChars(bounds.maxBytes))
    .refine(isCanonicalBase64url, "expected canonical unpadded base64url");
}

/**
 * A raw Ed25519 public key (32 bytes) in base64url: 43 characters.
 *
 * @example
 * PublicKeySchema.parse(publicKeyToBase64url(keys.publicKey));
 */
export const PublicKeySchema = base64urlSchema({ minBytes: 32, maxBytes: 32 });
/**
 * An Ed25519 signature (64 bytes) in base64url: 86 characters.
 *
 * @example
 * SignatureSchema.parse(signBytes(key, data).toString("base64url"));
 */
export const SignatureSchema = base64urlSchema({ minBytes: 64, maxBytes: 64 });
/**
 * A hello nonce: 16 to 32 random bytes in base64url.
 *
 * @example
 * NonceSchema.parse(randomBytes(16).toString("base64url"));
 */
export const NonceSchema = base64urlSchema({ minBytes: 16, maxBytes: 32 });
/**
 * A key id as @fluxrig/passport makes it: `ed25519:` and 16 base64url characters.
 *
 * @example
 * KeyIdSchema.parse(keyId(clusterPublicKey));
 */
export const KeyIdSchema = z
  .string()
  .regex(/^ed25519:[A-Za-z0-9_-]{16}$/, 'expected "ed25519:" and 16 base64url chars');

/**
 * An ISO-8601 / RFC 3339 timestamp with seconds and a zone (`Z` or `+hh:mm`), e.g. `2025-01-31T12:00:00.000Z`.
 *
 * @example
 * TimestampSchema.parse(new Date().toISOString());
 */
export const TimestampSchema = z.iso.datetime({ offset: true }).max(WIRE_LIMITS.timestampChars);

/**
 * A non-negative integer that fits a double exactly (counters, bytes).
 *
 * @example
 * CountSchema.parse(process.memoryUsage().rss);
 */
export const CountSchema = z.int().nonnegative();

/**
 * A non-negative finite number (percentages, durations).
 *
 * @example
 * GaugeSchema.parse(eventLoopLagMs);
 */
export const GaugeSchema = z.number().nonnegative();

/**
 * Short free text for people (error messages, reasons).
 *
 * @example
 * ReasonTextSchema.parse("adopted by operator");
 */
export const ReasonTextSchema = z.string().max(WIRE_LIMITS.messageChars);
