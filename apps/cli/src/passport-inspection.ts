// `passport inspect`, offline: decode a state.flux, and when given the cluster key, verify it and say exactly why not.
import type { KeyObject } from "node:crypto";
import { formatEntityIdHex, parseEntityId, typeName } from "@fluxrig/entity-id";
import {
  DEFAULT_SKEW_MS,
  decodePassportPayload,
  keyFingerprint,
  PassportError,
  PassportExpiredError,
  PassportKeyIdMismatchError,
  PassportMalformedError,
  PassportNotYetValidError,
  type PassportPayload,
  PassportSignatureInvalidError,
  readStateFlux,
  StateFluxError,
  verifyPassport,
} from "@fluxrig/passport";
import { CliError } from "./cli-error.js";
import { formatDuration } from "./durations.js";
import { EXIT } from "./exit-codes.js";
import { formatRelative } from "./relative-time.js";

/** The verdict on the signature and validity window, or that nothing was checked. */
export type Verification =
  | { checked: false }
  | { checked: true; ok: true; cluster_key_id: string }
  | { checked: true; ok: false; cluster_key_id: string; code: string; reason: string };

/** What `passport inspect --json` prints. */
export interface Inspection {
  file: string;
  format: string;
  v: number;
  kid: string;
  /** The decoded payload plus derived forms; null when it does not decode. */
  payload:
    | (PassportPayload & { entity_id_hex: string; type_name: string; rack_key_fingerprint: string })
    | null;
  payload_error?: { code: string; reason: string };
  verification: Verification;
}

/** CLI codes for passport failures: the package's codes in the CLI's lowercase style. */
export function passportCode(err: PassportError): string {
  return err.code.toLowerCase();
}

/**
 * Why a passport failed verification, in the operator's terms (what to suspect), not only what was compared.
 *
 * @example
 * explainPassportError(new PassportSignatureInvalidError({ kid }), new Date());
 */
export function explainPassportError(err: PassportError, now: Date): string {
  if (err instanceof PassportKeyIdMismatchError) {
    return `signed by another cluster key: the passport names key id ${err.actual}, the given cluster key is ${err.expected} (wrong key, or a passport from another cluster)`;
  }
  if (err instanceof PassportSignatureInvalidError) {
    return `the signature does not match the signed payload: the file was altered after the Mixer signed it (key id ${err.kid})`;
  }
  if (err instanceof PassportExpiredError) {
    return `expired ${formatRelative(err.expiresAt, now)} (at ${err.expiresAt.toISOString()}), past the ${formatDuration(DEFAULT_SKEW_MS)} clock allowance; a running Rack renews by proving its key`;
  }
  if (err instanceof PassportNotYetValidError) {
    return `issued in the future: valid from ${err.issuedAt.toISOString()} (${formatRelative(err.issuedAt, now)}); check this machine's clock`;
  }
  if (err instanceof PassportMalformedError) return `the payload is malformed: ${err.field}: ${err.detail}`;
  return err.message;
}

async function readEnvelope(path: string) {
  try {
    const env = await readStateFlux(path);
    if (env === null) {
      throw new CliError("not_found", `no passport at ${path}: no such file`, { exitCode: EXIT.refused });
    }
    return env;
  } catch (err) {
    if (err instanceof StateFluxError) {
      throw new CliError(passportCode(err), err.message, { exitCode: EXIT.refused, cause: err });
    }
    throw err;
  }
}

function decoded(payload: PassportPayload): NonNullable<Inspection["payload"]> {
  let hex = "?";
  try {
    hex = formatEntityIdHex(parseEntityId(payload.entity_id));
  } catch {
    // decodePassportPayload has checked it; "?" only guards against a future looser check.
  }
  return {
    ...payload,
    entity_id_hex: hex,
    type_name: typeName(payload.type_id),
    rack_key_fingerprint: keyFingerprint(payload.rack_public_key),
  };
}

/**
 * Reads and decodes a state.flux; with `clusterKey`, verifies signature, key id and validity window.
 * Throws CliError only when the file cannot be read as a passport envelope at all.
 *
 * @example
 * const inspection = await inspectPassport({ path: "state.flux", clusterKey, now: new Date() });
 */
export async function inspectPassport(opts: {
  path: string;
  clusterKey?: { key: KeyObject; kid: string } | undefined;
  now: Date;
}): Promise<Inspection> {
  const env = await readEnvelope(opts.path);
  const inspection: Inspection = {
    file: opts.path,
    format: env.format,
    v: env.v,
    kid: env.kid,
    payload: null,
    verification: { checked: false },
  };
  try {
    inspection.payload = decoded(decodePassportPayload(env));
  } catch (err) {
    if (!(err instanceof PassportError)) throw err;
    inspection.payload_error = { code: passportCode(err), reason: explainPassportError(err, opts.now) };
  }
  if (opts.clusterKey) {
    const cluster_key_id = opts.clusterKey.kid;
    try {
      verifyPassport(env, { clusterPublicKey: opts.clusterKey.key, now: opts.now });
      inspection.verification = { checked: true, ok: true, cluster_key_id };
    } catch (err) {
      if (!(err instanceof PassportError)) throw err;
      inspection.verification = {
        checked: true,
        ok: false,
        cluster_key_id,
        code: passportCode(err),
        reason: explainPassportError(err, opts.now),
      };
    }
  }
  return inspection;
}
