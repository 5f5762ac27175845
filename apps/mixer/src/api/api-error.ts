// The API's own refusals and the one JSON error body every failure is answered with.
import { WIRE_ERROR_HTTP_STATUS, type WireErrorCode } from "@fluxrig/wire";

/** `{ "error": { "code", "message", "details"? } }`, the body of every error response. */
export interface ErrorBody {
  error: { code: WireErrorCode; message: string; details?: Record<string, unknown> };
}

/**
 * A refusal raised by the HTTP layer itself (bad ref, bad token, body too large). The status is the code's
 * entry in `WIRE_ERROR_HTTP_STATUS` unless a route documents another one (e.g. 422 for scenario validation).
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    readonly code: WireErrorCode,
    message: string,
    opts: {
      status?: number;
      details?: Record<string, unknown> | undefined;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.status = opts.status ?? WIRE_ERROR_HTTP_STATUS[code];
    this.details = opts.details;
    this.headers = opts.headers;
  }
}

/** The error body for a code and message; details are left out when there are none. */
export function errorBody(
  code: WireErrorCode,
  message: string,
  details?: Record<string, unknown>,
): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}
