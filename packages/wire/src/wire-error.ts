// Errors of @fluxrig/wire: one base class carrying a wire code, and subclasses named after the failure.
import type { WireErrorCode } from "./wire-error-codes.js";

/**
 * Base class of every error this package creates; `code` is what goes on the wire.
 *
 * @example
 * if (error instanceof WireError) reply({ error: { code: error.code, message: error.message } });
 */
export class WireError extends Error {
  readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Why a message could not be decoded. `depth` is JSON nested deeper than the limit. */
export type WireDecodeReason = "too_large" | "malformed" | "depth" | "schema";

/** One schema problem: where (a path into the message) and what. */
export interface WireIssue {
  path: readonly (string | number)[];
  message: string;
}

/** The message kinds the decoders know, named in decode errors. */
export type WireMessageKind =
  | "hello_request"
  | "hello_reply"
  | "heartbeat"
  | "passport_push"
  | "scenario_push"
  | "rack_state"
  | "message";

/** Options of a decode error. */
export interface WireDecodeErrorOptions {
  reason: WireDecodeReason;
  kind: WireMessageKind;
  message: string;
  issues?: readonly WireIssue[];
  /** Size of the input in bytes, when known. */
  bytes?: number;
  cause?: unknown;
}

const CODE_OF_REASON = {
  too_large: "too_large",
  malformed: "malformed",
  depth: "malformed",
  schema: "schema",
} as const satisfies Record<WireDecodeReason, WireErrorCode>;

/**
 * A message that could not be decoded; returned (never thrown) by the `decode*` functions.
 *
 * @example
 * const r = decodeHeartbeat(msg.data);
 * if (!r.ok) log.warn({ reason: r.error.reason, issues: r.error.issues }, "dropped heartbeat");
 */
export class WireDecodeError extends WireError {
  readonly reason: WireDecodeReason;
  readonly kind: WireMessageKind;
  readonly issues: readonly WireIssue[] | undefined;
  readonly bytes: number | undefined;

  constructor(options: WireDecodeErrorOptions) {
    super(CODE_OF_REASON[options.reason], options.message, { cause: options.cause });
    this.reason = options.reason;
    this.kind = options.kind;
    this.issues = options.issues;
    this.bytes = options.bytes;
  }
}

/**
 * A name that cannot be a NATS subject token (not a lowercase DNS label).
 *
 * @example
 * heartbeatSubject("rack.nyc"); // throws WireSubjectError { field: "name", value: "rack.nyc" }
 */
export class WireSubjectError extends WireError {
  readonly field: string;
  readonly value: unknown;

  constructor(options: { field: string; value: unknown; message: string }) {
    super("bad_request", options.message);
    this.field = options.field;
    this.value = options.value;
  }
}

/**
 * A value that cannot be encoded: not JSON-compatible (bigint, cycle, non-finite number) or over the size cap.
 *
 * @example
 * encodeMessage({ n: 1n }); // throws WireEncodeError { code: "malformed" }
 */
export class WireEncodeError extends WireError {
  readonly bytes: number | undefined;

  constructor(options: {
    code: "malformed" | "too_large";
    message: string;
    bytes?: number;
    cause?: unknown;
  }) {
    super(options.code, options.message, { cause: options.cause });
    this.bytes = options.bytes;
  }
}
