// Bearer-token check: constant-time, one 401 shape for every failure, the token never echoed or logged, and a 403
// naming the role needed when a known token's role is too low.
import { createHash, timingSafeEqual } from "node:crypto";
import { API_TOKEN_ROLES, type ApiTokenRole } from "@fluxrig/wire";
import type { MiddlewareHandler } from "hono";
import { OperationError } from "../errors/wire-refusal.js";
import type { ApiAuth, ApiEnv, Principal } from "./api-deps.js";

/**
 * Who may call a route: anyone (`none`); a token of at least that role (`viewer`, `operator`, `admin`; the bootstrap
 * `[api] auth_token` is an admin); the telemetry token or an operator (`telemetry`); the metrics token or a viewer
 * (`metrics`).
 */
export type RouteAuth = "none" | ApiTokenRole | "telemetry" | "metrics";

/** The least role of a named token on the routes that also take a special-purpose token. */
export const LEAST_ROLE: Record<Exclude<RouteAuth, "none">, ApiTokenRole> = {
  viewer: "viewer",
  operator: "operator",
  admin: "admin",
  telemetry: "operator",
  metrics: "viewer",
};

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

function rank(role: ApiTokenRole): number {
  return API_TOKEN_ROLES.indexOf(role);
}

/**
 * Middleware factory: `check("viewer")` admits any token of role viewer or above, `check("telemetry")` the
 * telemetry token or an operator, `check("metrics")` the metrics token or a viewer. A known token whose role is too
 * low gets 403 (`forbidden`), naming the role needed; the request's {@link Principal} is set for the handler.
 *
 * @example
 * const check = bearerAuthChecks(deps.auth, deps.counters);
 * app.get("/api/v1/racks", check("viewer"), handler);
 */
export function bearerAuthChecks(
  auth: ApiAuth,
  counters?: { inc(name: string): void },
): (level: Exclude<RouteAuth, "none">) => MiddlewareHandler<ApiEnv> {
  const bootstrap = auth.token ? [digest(auth.token)] : [];
  const special = {
    telemetry: auth.telemetryToken ? [digest(auth.telemetryToken)] : [],
    metrics: auth.metricsToken ? [digest(auth.metricsToken)] : [],
  };
  const pass: MiddlewareHandler<ApiEnv> = async (_c, next) => {
    await next();
  };
  return (level) => {
    if (auth.disabled) return pass;
    const needed = LEAST_ROLE[level];
    const ownToken = level === "telemetry" || level === "metrics" ? special[level] : [];
    return async (c, next) => {
      const header = c.req.header("Authorization");
      if (header === undefined || header === "") {
        counters?.inc("api.unauthorized.missing");
        throw unauthorized("missing bearer token: send Authorization: Bearer <token>");
      }
      const token = BEARER.exec(header)?.[1];
      if (token === undefined) {
        counters?.inc("api.unauthorized.invalid");
        throw unauthorized("invalid bearer token");
      }
      const presented = digest(token);
      // Every kind is checked, whatever matched, so the timing does not say which kind a token is.
      const isBootstrap = matchesAny(presented, bootstrap);
      const isOwn = matchesAny(presented, ownToken);
      const named = auth.named?.authenticate(token);
      let principal: Principal | undefined;
      if (isBootstrap) principal = { name: "api", role: "admin", bootstrap: true, stillValid: () => true };
      else if (named !== undefined) {
        // Asked again by long requests; the secret stays in this closure for the request's life only.
        const stillValid = () => auth.named?.authenticate(token) !== undefined;
        principal = { ...named, bootstrap: false, stillValid };
      }
      if (principal === undefined && !isOwn) {
        counters?.inc("api.unauthorized.invalid");
        throw unauthorized("invalid bearer token");
      }
      if (principal !== undefined && !isOwn && rank(principal.role) < rank(needed)) {
        counters?.inc("api.forbidden");
        throw new OperationError(
          "forbidden",
          `this request needs the ${needed} role; token ${principal.name} has the ${principal.role} role`,
          { needed_role: needed, role: principal.role },
        );
      }
      c.set("principal", principal);
      await next();
    };
  };
}
