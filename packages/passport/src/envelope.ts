// The passport envelope {format, v, kid, payload, sig}: signing, size-capped structural parsing, and serialisation.

import type { KeyObject } from "node:crypto";
import { decodeBase64url, encodeBase64url } from "./base64url.js";
import { PassportFormatError, PassportMalformedError } from "./errors.js";
import { assertEd25519, signBytes } from "./keys.js";
import { checkPayload, decodePayloadBytes, encodePayload, type PassportPayload } from "./payload.js";

/** The envelope's `format` value. */
export const PASSPORT_FORMAT = "fluxrig.passport";
/** The envelope's `v` value this code reads and writes. */
export const PASSPORT_VERSION = 1;
/** Largest accepted serialised envelope, checked before any JSON parsing. */
export const MAX_PASSPORT_BYTES = 8 * 1024;

/** A signed passport as stored in state.flux and carried on the wire. */
export interface PassportEnvelope {
  format: "fluxrig.passport";
  v: 1;
  /** Key id of the signing cluster key, see `keyId`. */
  kid: string;
  /** Unpadded base64url of the exact signed JSON bytes. */
  payload: string;
  /** Unpadded base64url of the 64-byte Ed25519 signature over the payload bytes. */
  sig: string;
}

const ENVELOPE_KEYS = new Set(["format", "v", "kid", "payload", "sig"]);
const KID_PATTERN = /^ed25519:[A-Za-z0-9_-]{16}$/;
const SIG_B64_LENGTH = 86;

/**
 * Signs a payload with the cluster key. The payload is checked as strictly as a verifier would, so an
 * invalid passport is never issued; throws PassportMalformedError otherwise.
 *
 * @example
 * const env = signPassport({ payload, clusterPrivateKey: cluster.privateKey, kid: keyId(cluster.publicKey) });
 */
export function signPassport(opts: {
  payload: PassportPayload;
  clusterPrivateKey: KeyObject;
  kid: string;
}): PassportEnvelope {
  assertEd25519(opts.clusterPrivateKey, "private");
  if (typeof opts.kid !== "string" || !KID_PATTERN.test(opts.kid)) {
    throw new PassportMalformedError({
      field: "kid",
      detail: 'expected "ed25519:" and 16 base64url characters',
    });
  }
  const { payload } = checkPayload(opts.payload);
  const bytes = Buffer.from(encodePayload(payload), "utf8");
  return {
    format: PASSPORT_FORMAT,
    v: PASSPORT_VERSION,
    kid: opts.kid,
    payload: encodeBase64url(bytes),
    sig: encodeBase64url(signBytes(opts.clusterPrivateKey, bytes)),
  };
}

/**
 * Checks the structure of an envelope given as JSON text, UTF-8 bytes or an already parsed value, and
 * returns a fresh envelope object. Does not check the signature or the payload's content.
 * Throws PassportFormatError for another format or version, PassportMalformedError for anything else.
 *
 * @example
 * const env = parsePassport(await readFile("state.flux"));
 */
export function parsePassport(input: string | Uint8Array | unknown): PassportEnvelope {
  let value = input;
  if (typeof input === "string" || input instanceof Uint8Array) {
    const size = typeof input === "string" ? Buffer.byteLength(input, "utf8") : input.byteLength;
    if (size > MAX_PASSPORT_BYTES) {
      throw new PassportMalformedError({
        field: "envelope",
        detail: `${size} bytes exceeds ${MAX_PASSPORT_BYTES}`,
      });
    }
    const text =
      typeof input === "string"
        ? input
        : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString("utf8");
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new PassportMalformedError({ field: "envelope", detail: "not JSON", cause });
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PassportMalformedError({ field: "envelope", detail: "not a JSON object" });
  }
  const v = value as Record<string, unknown>;
  // A recognisable envelope of another format or version is a FormatError (upgrade me); anything else is malformed.
  if (typeof v.format !== "string") throw new PassportMalformedError({ field: "format", detail: "missing" });
  if (typeof v.v !== "number" || !Number.isInteger(v.v) || v.v < 1) {
    throw new PassportMalformedError({ field: "v", detail: "expected a positive integer" });
  }
  if (v.format !== PASSPORT_FORMAT || v.v !== PASSPORT_VERSION) {
    throw new PassportFormatError({ format: v.format, version: v.v });
  }
  for (const key of Object.keys(v)) {
    if (!ENVELOPE_KEYS.has(key)) throw new PassportMalformedError({ field: key, detail: "unknown field" });
  }
  const { kid, payload, sig } = v;
  if (typeof kid !== "string" || !KID_PATTERN.test(kid)) {
    throw new PassportMalformedError({
      field: "kid",
      detail: 'expected "ed25519:" and 16 base64url characters',
    });
  }
  if (typeof payload !== "string" || payload.length === 0 || payload.length > MAX_PASSPORT_BYTES) {
    throw new PassportMalformedError({ field: "payload", detail: "expected a non-empty base64url string" });
  }
  if (typeof sig !== "string" || sig.length !== SIG_B64_LENGTH) {
    throw new PassportMalformedError({ field: "sig", detail: "expected 64 bytes in unpadded base64url" });
  }
  return { format: PASSPORT_FORMAT, v: PASSPORT_VERSION, kid, payload, sig };
}

/**
 * Decodes and strictly checks the payload without checking the signature: for inspection only (for
 * example `fluxrig passport inspect`), never for trust. Throws PassportMalformedError.
 *
 * @example
 * console.log(decodePassportPayload(env).expires_at);
 */
export function decodePassportPayload(env: PassportEnvelope): PassportPayload {
  return decodePayloadBytes(payloadBytes(parsePassport(env))).payload;
}

/**
 * Serialises an envelope as compact JSON with keys in the order format, v, kid, payload, sig: the exact
 * text of a state.flux file (which adds one trailing newline) and of a passport on the wire.
 *
 * @example
 * stringifyPassport(env) // '{"format":"fluxrig.passport","v":1,"kid":"ed25519:...","payload":"...","sig":"..."}'
 */
export function stringifyPassport(env: PassportEnvelope): string {
  const e = parsePassport(env);
  return JSON.stringify({ format: e.format, v: e.v, kid: e.kid, payload: e.payload, sig: e.sig });
}

/** The payload's signed bytes, or PassportMalformedError if the text is not canonical base64url. */
export function payloadBytes(env: PassportEnvelope): Buffer {
  const bytes = decodeBase64url(env.payload);
  if (bytes === undefined) {
    throw new PassportMalformedError({ field: "payload", detail: "not canonical base64url" });
  }
  return bytes;
}

/** The signature's bytes, or PassportMalformedError if the text is not canonical base64url. */
export function signatureBytes(env: PassportEnvelope): Buffer {
  const bytes = decodeBase64url(env.sig);
  if (bytes === undefined || bytes.length !== 64) {
    throw new PassportMalformedError({ field: "sig", detail: "not 64 bytes in canonical base64url" });
  }
  return bytes;
}
