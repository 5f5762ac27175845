// Bearer-token check: constant-time, one 401 shape for every failure, and the token never echoed or logged.
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { OperationError } from "../errors/wire-refusal.js";
import type { ApiAuth, ApiEnv } from "./api-deps.js";

/** Who may call: anyone, holders of the API token, or holders of the API or the telemetry (or metrics) token. */
export type RouteAuth = "none" | "api" | "telemetry" | "metrics";

// Hono's bearerAuth answers a malformed header with 400 and a text body, and refuses tokens outside a narrow
// alphabet; operators pick tokens freely and scripts need one JSON 401, so the check is written here.

const BEARER = /^Bearer +(\S+) *$/i;

/** Digests have a fixed length, so timingSafeEqual applies and the compare leaks neither content nor length. */
function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** The error handler adds the `WWW-Authenticate: Bearer` challenge to every 401. */
function unauthorized(message: string): OperationError {
  return new OperationError("unauthorized", message);
}

/** Whether `presented` equals one of `expected`; every candidate is compared so timing does not say which. */
function matchesAny(presented: Buffer, expected: readonly Buffer[]): boolean {
  let ok = false;
  for (const candidate of expected) ok = timingSafeEqual(presented, candidate) || ok;
  return ok;
}

/**
 * Middleware factory: `check("api")` admits the API token, `check("telemetry")` the API or telemetry token,
 * `check("metrics")` the API or metrics token.
 *
 * @example
 * const check = bearerAuthChecks(deps.auth, deps.counters);
 * app.get("/api/v1/racks", check("api"), handler);
 */
export function bearerAuthChecks(
  auth: ApiAuth,
  counters?: { inc(name: string): void },
): (level: Exclude<RouteAuth, "none">) => MiddlewareHandler<ApiEnv> {
  const api = auth.token ? [digest(auth.token)] : [];
  const telemetry = auth.telemetryToken ? [...api, digest(auth.telemetryToken)] : api;
  const metrics = auth.metricsToken ? [...api, digest(auth.metricsToken)] : api;
  const pass: MiddlewareHandler<ApiEnv> = async (_c, next) => {
    await next();
  };
  return (level) => {
    if (auth.disabled) return pass;
    const expected = level === "api" ? api : level === "metrics" ? metrics : telemetry;
    return async (c, next) => {
      const header = c.req.header("Authorization");
      if (header === undefined || header === "") {
        counters?.inc("api.unauthorized.missing");
        throw unauthorized("missing bearer token: send Authorization: Bearer <token>");
      }
      const token = BEARER.exec(header)?.[1];
      if (token === undefined || !matchesAny(digest(token), expected)) {
        counters?.inc("api.unauthorized.invalid");
        throw unauthorized("invalid bearer token");
      }
      await next();
    };
  };
}
