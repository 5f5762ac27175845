// The one mapping from an error to a wire refusal (code, message, HTTP status), used by the REST API and the hello handler.
import { WIRE_ERROR_HTTP_STATUS, type WireErrorCode } from "@fluxrig/wire";
import { KvUnavailableError } from "../kv/kv-errors.js";
import {
  ClusterIndexBehindError,
  ClusterUnavailableError,
  ClusterWriteContendedError,
  DatabaseClosedError,
  IllegalTransitionError,
  QueryFailedError,
  RegistryFullError,
  ScenarioVersionTakenError,
  UnexpectedKeyError,
} from "../registry/registry-errors.js";

/**
 * A refusal with a wire error code: thrown by the operations behind the API and by the API's own checks (bad
 * token, body too large). `status` overrides the code's entry in `WIRE_ERROR_HTTP_STATUS` where a route
 * documents another one (415 for a media type it does not read, 422 for an invalid scenario).
 *
 * @example
 * throw new OperationError("not_found", `no Rack ${ref}`);
 */
export class OperationError extends Error {
  override readonly name = "OperationError";
  /** The HTTP status when it differs from the code's; NATS replies carry only the code. */
  readonly status: number | undefined;

  constructor(
    readonly code: WireErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options: { cause?: unknown; status?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = options.status;
  }
}

/** What a peer may learn about a failure: the same facts whether they travel in a hello reply or an HTTP body. */
export interface WireRefusal {
  code: WireErrorCode;
  message: string;
  /** The HTTP status; NATS replies carry only the code. */
  status: number;
  details?: Record<string, unknown> | undefined;
  /** Only set when the client should wait before retrying. */
  retryAfterSeconds?: number;
}

/**
 * The refusal an error earns, or undefined for anything unexpected (a bug: the caller answers `internal` and
 * keeps the detail in its log, never in the reply).
 *
 * @example
 * const refusal = refusalOf(err) ?? { code: "internal", message: "see the Mixer's log", status: 500 };
 */
export function refusalOf(err: unknown): WireRefusal | undefined {
  if (err instanceof OperationError) {
    // A code outside the table can only come from a bug (or a cast): a 500, not a response with no status.
    const status = err.status ?? (WIRE_ERROR_HTTP_STATUS as Record<string, number | undefined>)[err.code];
    if (status === undefined) return undefined;
    return { code: err.code, message: err.message, status, details: err.details };
  }
  if (err instanceof QueryFailedError || err instanceof DatabaseClosedError) {
    // The registry could not be read or written (a full or read-only disk, the Mixer stopping): the transaction
    // was rolled back, so nothing changed, and the request can be retried once the cause is fixed.
    return {
      code: "unavailable",
      status: WIRE_ERROR_HTTP_STATUS.unavailable,
      message: `the registry could not be written or read (${storageCause(err)}); nothing was changed, retry once the Mixer's data dir is writable`,
      retryAfterSeconds: 5,
    };
  }
  if (err instanceof KvUnavailableError) {
    // Cluster mode without a quorum (or mid-election past the retry window). A write whose outcome is unknown is
    // safe to repeat: enrollment is idempotent, and an operator's operation finds its own result.
    return {
      code: "unavailable",
      status: WIRE_ERROR_HTTP_STATUS.unavailable,
      message:
        err.outcome === "unknown"
          ? "the cluster's KV did not confirm the write in time (no quorum?); it may have landed: retry, it is safe"
          : "the cluster's KV has no quorum (is a majority of nats-server nodes up?); nothing was changed, retry",
      retryAfterSeconds: 5,
    };
  }
  if (err instanceof ClusterUnavailableError) {
    return {
      code: "unavailable",
      status: WIRE_ERROR_HTTP_STATUS.unavailable,
      message: err.message,
      retryAfterSeconds: 5,
    };
  }
  if (err instanceof ClusterWriteContendedError || err instanceof ClusterIndexBehindError) {
    return {
      code: "unavailable",
      status: WIRE_ERROR_HTTP_STATUS.unavailable,
      message: err.message,
      retryAfterSeconds: 1,
    };
  }
  if (err instanceof RegistryFullError) {
    return {
      code: "registry_full",
      status: WIRE_ERROR_HTTP_STATUS.registry_full,
      message: "no MachineID is free in the configured range",
    };
  }
  if (err instanceof UnexpectedKeyError) {
    return {
      code: "conflict",
      message: err.message,
      status: WIRE_ERROR_HTTP_STATUS.conflict,
      details: { key_fingerprint: err.keyFingerprint, expected_key: err.expectedFingerprint },
    };
  }
  if (err instanceof ScenarioVersionTakenError) {
    return {
      code: "conflict",
      status: WIRE_ERROR_HTTP_STATUS.conflict,
      message: err.message,
      details: { scenario: err.scenario, version: err.version },
    };
  }
  if (err instanceof IllegalTransitionError) {
    return {
      code: "invalid_transition",
      status: WIRE_ERROR_HTTP_STATUS.invalid_transition,
      message: `a Rack that is ${err.from} cannot become ${err.to}`,
      details: { from: err.from, to: err.to },
    };
  }
  return undefined;
}

/** The database's own first line (e.g. "IO Error: ... No space left on device"), never the SQL. */
function storageCause(err: QueryFailedError | DatabaseClosedError): string {
  if (err instanceof DatabaseClosedError) return "the database is closed";
  const cause = err.cause instanceof Error ? err.cause.message : String(err.cause ?? "unknown cause");
  return cause.split("\n")[0]!.slice(0, 200);
}
