// The one place a failure becomes an HTTP response: wire code, status from the wire table, JSON error body.
import { WIRE_ERROR_HTTP_STATUS, type WireErrorCode } from "@fluxrig/wire";
import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";
import { OperationError } from "../fleet/operations.js";
import { DatabaseClosedError, QueryFailedError } from "../registry/registry-errors.js";
import type { ApiEnv } from "./api-deps.js";
import { ApiError, errorBody } from "./api-error.js";

interface Refusal {
  code: WireErrorCode;
  status: number;
  message: string;
  details?: Record<string, unknown> | undefined;
  headers?: Record<string, string> | undefined;
}

const CODE_OF_HTTP_STATUS: Readonly<Record<number, WireErrorCode>> = {
  400: "malformed",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "too_large",
  429: "rate_limited",
  503: "unavailable",
};

/** What the client may learn about an error; undefined for anything unexpected (a bug: 500, details logged only). */
function refusalOf(err: unknown): Refusal | undefined {
  if (err instanceof ApiError) {
    return {
      code: err.code,
      status: err.status,
      message: err.message,
      details: err.details,
      headers: err.headers,
    };
  }
  if (err instanceof OperationError) {
    // A code outside the table can only come from a bug (or a cast): a 500, not a response with no status.
    const status = (WIRE_ERROR_HTTP_STATUS as Record<string, number | undefined>)[err.code];
    if (status === undefined) return undefined;
    return { code: err.code, status, message: err.message, details: err.details };
  }
  if (err instanceof QueryFailedError || err instanceof DatabaseClosedError) {
    // The registry could not be read or written (a full or read-only disk, the Mixer stopping): the transaction
    // was rolled back, so nothing changed, and the request can be retried once the cause is fixed.
    return {
      code: "unavailable",
      status: 503,
      message: `the registry could not be written or read (${storageCause(err)}); nothing was changed, retry once the Mixer's data dir is writable`,
      headers: { "Retry-After": "5" },
    };
  }
  if (err instanceof HTTPException) {
    // Raised by Hono itself (or its middleware); its text body is replaced by the JSON shape every client parses.
    const code = CODE_OF_HTTP_STATUS[err.status];
    if (code === undefined) return undefined;
    return { code, status: err.status, message: err.message || code.replace("_", " ") };
  }
  return undefined;
}

/** The database's own first line (e.g. "IO Error: ... No space left on device"), never the SQL. */
function storageCause(err: QueryFailedError | DatabaseClosedError): string {
  if (err instanceof DatabaseClosedError) return "the database is closed";
  const cause = err.cause instanceof Error ? err.cause.message : String(err.cause ?? "unknown cause");
  return cause.split("\n")[0]!.slice(0, 200);
}

/**
 * `app.onError`: refusals keep their code and message; anything else is a 500 `internal` whose detail goes
 * to the log under the request id the client also sees, and never into the response.
 */
export function errorHandler(opts: {
  logger: Logger;
  counters?: { inc(name: string): void };
}): ErrorHandler<ApiEnv> {
  return (err, c) => {
    const refusal = refusalOf(err);
    const requestId = c.get("requestId");
    if (refusal === undefined) {
      opts.counters?.inc("api.errors.internal");
      opts.logger.error(
        { err, req_id: requestId, method: c.req.method, path: c.req.path },
        "api: unexpected error",
      );
      const body = errorBody(
        "internal",
        `internal error; the Mixer's log has the details under request id ${requestId}`,
      );
      return c.json(body, 500);
    }
    opts.counters?.inc(`api.refused.${refusal.code}`);
    if (refusal.status >= 500) {
      opts.logger.warn(
        { code: refusal.code, req_id: requestId, msg_detail: refusal.message },
        "api: unavailable",
      );
    }
    for (const [name, value] of Object.entries(refusal.headers ?? {})) c.header(name, value);
    return c.json(
      errorBody(refusal.code, refusal.message, refusal.details),
      refusal.status as ContentfulStatusCode,
    );
  };
}

/** `app.notFound`: an unknown route gets the same JSON error shape as everything else. */
export const notFoundHandler: NotFoundHandler<ApiEnv> = (c) =>
  c.json(errorBody("not_found", `no route ${c.req.method} ${c.req.path.slice(0, 200)}`), 404);
