// One verification for every passport the Rack meets (state.flux, hello replies, pushes) and a reason for people.
import type { KeyObject } from "node:crypto";
import {
  DEFAULT_SKEW_MS,
  PASSPORT_ERROR_CODES,
  type PassportEnvelope,
  PassportError,
  type PassportPayload,
  StateFluxError,
  verifyPassport,
} from "@fluxrig/passport";

/** What a passport must match: the pinned cluster key, this Rack's key and name, and the clock. */
export interface PassportContext {
  clusterPublicKey: KeyObject;
  rackPublicKey: KeyObject;
  name: string;
  now: Date;
  skewMs?: number;
}

/**
 * Verifies a passport for this Rack; throws the passport package's typed errors.
 * `allowExpired` is for revocation orders, which stay binding after their expiry.
 */
export function verifyRackPassport(
  env: PassportEnvelope,
  ctx: PassportContext & { allowExpired?: boolean },
): PassportPayload {
  return verifyPassport(env, {
    clusterPublicKey: ctx.clusterPublicKey,
    rackPublicKey: ctx.rackPublicKey,
    name: ctx.name,
    now: ctx.now,
    skewMs: ctx.skewMs ?? DEFAULT_SKEW_MS,
    allowExpired: ctx.allowExpired ?? false,
  });
}

const VERDICT_OF_CODE: Record<string, string> = {
  [PASSPORT_ERROR_CODES.signatureInvalid]: "tampered",
  [PASSPORT_ERROR_CODES.malformed]: "tampered",
  [PASSPORT_ERROR_CODES.format]: "unsupported",
  [PASSPORT_ERROR_CODES.keyIdMismatch]: "foreign",
  [PASSPORT_ERROR_CODES.rackKeyMismatch]: "foreign",
  [PASSPORT_ERROR_CODES.nameMismatch]: "foreign",
  [PASSPORT_ERROR_CODES.expired]: "expired",
  [PASSPORT_ERROR_CODES.notYetValid]: "not-yet-valid",
  [PASSPORT_ERROR_CODES.stateFlux]: "unreadable",
};

/** Why a passport was refused: a one-word verdict, the error code, and the error's own words. */
export interface PassportRefusal {
  verdict: string;
  code: string;
  detail: string;
}

/**
 * Maps a verification failure to a refusal for the log; anything that is not a PassportError is rethrown.
 * @example describeRefusal(err) // { verdict: "tampered", code: "PASSPORT_SIGNATURE_INVALID", detail: "..." }
 */
export function describeRefusal(error: unknown): PassportRefusal {
  if (error instanceof StateFluxError) {
    return {
      verdict: error.reason === "unreadable" ? "unreadable" : "garbled",
      code: error.code,
      detail: error.message,
    };
  }
  if (error instanceof PassportError) {
    return { verdict: VERDICT_OF_CODE[error.code] ?? "invalid", code: error.code, detail: error.message };
  }
  throw error;
}
