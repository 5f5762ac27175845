// Passport verification against the pinned cluster key, the Rack's own key and name, and the clock.

import type { KeyObject } from "node:crypto";
import { type PassportEnvelope, parsePassport, payloadBytes, signatureBytes } from "./envelope.js";
import {
  PassportExpiredError,
  PassportKeyIdMismatchError,
  PassportNameMismatchError,
  PassportNotYetValidError,
  PassportRackKeyMismatchError,
  PassportSignatureInvalidError,
} from "./errors.js";
import { keyId, publicKeyToBase64url, verifyBytes } from "./keys.js";
import { decodePayloadBytes, type PassportPayload } from "./payload.js";
import type { SignatureMemo } from "./signature-memo.js";

/** Default allowance for clock differences between Mixer and Rack. */
export const DEFAULT_SKEW_MS = 120_000;

/** What a passport is checked against. */
export interface VerifyPassportOptions {
  /** The pinned cluster public key. */
  clusterPublicKey: KeyObject;
  /** The holder's public key (KeyObject, ideally cached, or raw base64url); unchecked when absent. */
  rackPublicKey?: KeyObject | string;
  /** The holder's name; unchecked when absent. */
  name?: string;
  /** The clock; defaults to `new Date()`. */
  now?: Date;
  /** Clock skew allowance on both ends of the validity window, default 120 000 ms. */
  skewMs?: number;
  /** Return the payload of an expired passport instead of throwing (for renewal); see verifyPassportSignature. */
  allowExpired?: boolean;
  /**
   * Envelopes already known to verify under `clusterPublicKey` (for the same key id): a byte-identical one skips the
   * Ed25519 check, and one that verifies is remembered. Every other check still runs.
   */
  knownSignatures?: SignatureMemo;
}

/** The result of {@link verifyPassportSignature}. */
export interface VerifiedPassport {
  payload: PassportPayload;
  /** True when the passport's expiry, plus the skew allowance, has passed. */
  expired: boolean;
}

/**
 * Verifies a passport fully and returns its payload. Checks, in order: structure and version, key id
 * against the pinned cluster key, the Ed25519 signature over the exact payload bytes, the payload's
 * strict form, the Rack key, the name, then the clock. Each failure is its own PassportError subclass.
 *
 * A `revoked` payload verifies like an `active` one (it is a genuine order to stop): check `status`.
 * With `allowExpired: true` an expired passport is returned rather than refused; compare `expires_at`
 * yourself, or use {@link verifyPassportSignature}, which says `expired` outright.
 *
 * @example
 * const payload = verifyPassport(env, { clusterPublicKey: pinned, rackPublicKey: myKey, name: "rack-nyc-01" });
 */
export function verifyPassport(env: PassportEnvelope, opts: VerifyPassportOptions): PassportPayload {
  const { payload, expired, expiresAtMs, nowMs } = verifyInternal(env, opts);
  if (expired && opts.allowExpired !== true) {
    throw new PassportExpiredError({ expiresAt: new Date(expiresAtMs), now: new Date(nowMs) });
  }
  return payload;
}

/**
 * Like {@link verifyPassport} but reports expiry instead of throwing for it: every other check still
 * throws. Meant for the Mixer renewing the passport of a known Rack that was away past its expiry.
 *
 * @example
 * const { payload, expired } = verifyPassportSignature(presented, { clusterPublicKey, rackPublicKey });
 * if (expired) reissue(payload);
 */
export function verifyPassportSignature(
  env: PassportEnvelope,
  opts: Omit<VerifyPassportOptions, "allowExpired">,
): VerifiedPassport {
  const { payload, expired } = verifyInternal(env, opts);
  return { payload, expired };
}

function verifyInternal(env: PassportEnvelope, opts: VerifyPassportOptions) {
  const nowMs = (opts.now ?? new Date()).getTime();
  const skewMs = opts.skewMs ?? DEFAULT_SKEW_MS;
  if (!Number.isFinite(skewMs) || skewMs < 0 || Number.isNaN(nowMs)) {
    throw new RangeError("verifyPassport: skewMs must be a finite non-negative number and now a valid Date");
  }
  const e = parsePassport(env);
  const expectedKid = keyId(opts.clusterPublicKey);
  if (e.kid !== expectedKid) throw new PassportKeyIdMismatchError({ expected: expectedKid, actual: e.kid });

  const bytes = payloadBytes(e);
  const memo = opts.knownSignatures?.kid === expectedKid ? opts.knownSignatures : undefined;
  if (!memo?.vouches(e)) {
    if (!verifyBytes(opts.clusterPublicKey, bytes, signatureBytes(e))) {
      throw new PassportSignatureInvalidError({ kid: e.kid });
    }
    memo?.remember(e);
  }
  // Only signed bytes are interpreted: nothing in the payload is looked at before the signature holds.
  const { payload, issuedAtMs, expiresAtMs } = decodePayloadBytes(bytes);

  if (opts.rackPublicKey !== undefined) {
    const expected =
      typeof opts.rackPublicKey === "string" ? opts.rackPublicKey : publicKeyToBase64url(opts.rackPublicKey);
    if (payload.rack_public_key !== expected) {
      throw new PassportRackKeyMismatchError({ expected, actual: payload.rack_public_key });
    }
  }
  if (opts.name !== undefined && payload.name !== opts.name) {
    throw new PassportNameMismatchError({ expected: opts.name, actual: payload.name });
  }

  // The clock comes last: a passport that is wrong in any other way is reported as that, not as stale.
  if (nowMs + skewMs < issuedAtMs) {
    throw new PassportNotYetValidError({ issuedAt: new Date(issuedAtMs), now: new Date(nowMs) });
  }
  return { payload, expired: nowMs >= expiresAtMs + skewMs, expiresAtMs, nowMs };
}

/**
 * When a passport is due for renewal (ms since the epoch): past 2/3 of its life (SPEC §6), so a Rack has a third
 * of it to reach the Mixer. The Rack schedules its renewal by it and the Mixer renews a presented one from then on.
 *
 * @example
 * renewalDueAt(payload); // issued + floor((expires - issued) * 2/3)
 */
export function renewalDueAt(payload: Pick<PassportPayload, "issued_at" | "expires_at">): number {
  const issuedAtMs = Date.parse(payload.issued_at);
  return issuedAtMs + Math.floor(((Date.parse(payload.expires_at) - issuedAtMs) * 2) / 3);
}
