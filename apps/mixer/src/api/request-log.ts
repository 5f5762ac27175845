// One structured log line per request: method, path, status, duration and request id; never headers or bodies.
import { performance } from "node:perf_hooks";
import type { MiddlewareHandler } from "hono";
import type { Logger } from "pino";
import type { ApiEnv } from "./api-deps.js";

/**
 * Logs after the response is ready. Only the path is logged, not the query string: nothing secret travels there
 * today, but a future parameter could. The Authorization header is never read here.
 *
 * @example
 * app.use(requestLog(logger.child({ component: "api" })));
 */
export function requestLog(logger: Logger): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const status = c.res.status;
    const line = {
      req_id: c.get("requestId"),
      method: c.req.method,
      path: c.req.path.slice(0, 256),
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (status >= 500) logger.error(line, "request failed");
    else logger.info(line, "request");
  };
}
