// The one place a failure becomes an HTTP response: wire code, status from the wire table, JSON error body.
import type { ApiErrorBody, WireErrorCode } from "@fluxrig/wire";
import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";
import { refusalOf, type WireRefusal } from "../errors/wire-refusal.js";
import type { ApiEnv } from "./api-deps.js";

/** The body of every error response (`ApiErrorBody`); details are left out when there are none. */
function errorBody(code: WireErrorCode, message: string, details?: Record<string, unknown>): ApiErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
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

/** What the client may learn: the one mapping (errors/wire-refusal.ts), plus Hono's own HTTP exceptions. */
function httpRefusalOf(err: unknown): WireRefusal | undefined {
  if (err instanceof HTTPException) {
    // Raised by Hono itself (or its middleware); its text body is replaced by the JSON shape every client parses.
    const code = CODE_OF_HTTP_STATUS[err.status];
    if (code === undefined) return undefined;
    return { code, status: err.status, message: err.message || code.replace("_", " ") };
  }
  return refusalOf(err);
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
    const refusal = httpRefusalOf(err);
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
    // Every 401 names the scheme to use; a refusal worth retrying later says when.
    if (refusal.code === "unauthorized") c.header("WWW-Authenticate", 'Bearer realm="fluxrig"');
    if (refusal.retryAfterSeconds !== undefined) c.header("Retry-After", String(refusal.retryAfterSeconds));
    return c.json(
      errorBody(refusal.code, refusal.message, refusal.details),
      refusal.status as ContentfulStatusCode,
    );
  };
}

/** `app.notFound`: an unknown route gets the same JSON error shape as everything else. */
export const notFoundHandler: NotFoundHandler<ApiEnv> = (c) =>
  c.json(errorBody("not_found", `no route ${c.req.method} ${c.req.path.slice(0, 200)}`), 404);
