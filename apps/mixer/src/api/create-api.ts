// createApi(deps): the Mixer's REST API and OTLP receiver as one Hono app, ready for app.request or a server.
import { OpenAPIHono } from "@hono/zod-openapi";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { ApiAuthMissingError } from "../runtime/errors.js";
import { RackMetricsStore } from "../telemetry/rack-metrics-store.js";
import { RackStatsHistory } from "../telemetry/rack-stats-history.js";
import type { ApiDeps, ApiEnv } from "./api-deps.js";
import { type ApiApp, refuseInvalidInput, routeKit } from "./api-route.js";
import { clusterRoutes } from "./cluster-routes.js";
import { builtConsoleAssets, consoleRoutes } from "./console-routes.js";
import { docsRoutes } from "./docs-routes.js";
import { enrollmentTokenRoutes } from "./enrollment-token-routes.js";
import { errorHandler, notFoundHandler } from "./error-handler.js";
import { eventRoutes } from "./event-routes.js";
import { expectedKeyRoutes } from "./expected-key-routes.js";
import { metricsRoutes } from "./metrics-routes.js";
import { otlpRoutes } from "./otlp-routes.js";
import { prometheusRoutes } from "./prometheus-routes.js";
import { rackRoutes } from "./rack-routes.js";
import { requestLog } from "./request-log.js";
import { scenarioRoutes } from "./scenario-routes.js";
import { sessionRoutes } from "./session-routes.js";
import { tokenRoutes } from "./token-routes.js";

/**
 * Builds the API. Refuses to build one without a token unless auth is explicitly disabled, so a config slip
 * cannot publish an open API.
 *
 * @example
 * const app = createApi({ racks, scenarios, audit, cluster, auth: { token, disabled: false }, logger,
 *   maxBodyBytes: 1 << 20 });
 * const res = await app.request("/api/v1/racks", { headers: { Authorization: `Bearer ${token}` } });
 */
export function createApi(deps: ApiDeps): ApiApp {
  if (!deps.auth.disabled && !deps.auth.token) throw new ApiAuthMissingError();
  const logger = deps.logger.child({ component: "api" });
  if (deps.auth.disabled) logger.warn("api: authentication is disabled ([api] auth_disabled_dangerously)");

  // A path or query that fails its schema is thrown to the error handler, which answers it like any refusal.
  const app = new OpenAPIHono<ApiEnv>({ defaultHook: refuseInvalidInput });
  app.use(requestId({ limitLength: 128 }));
  app.use(requestLog(logger));
  // The API serves JSON and one page with its own policy; everything else may load nothing and be framed nowhere.
  app.use(
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      // HSTS belongs to whoever terminates TLS in front of the Mixer; on plain HTTP it is ignored anyway.
      strictTransportSecurity: false,
      xFrameOptions: "DENY",
      overwrite: false,
    }),
  );
  app.onError(errorHandler({ logger, counters: deps.counters }));
  app.notFound(notFoundHandler);

  const kit = routeKit({
    auth: deps.auth,
    maxBodyBytes: deps.maxBodyBytes,
    counters: deps.counters,
    registry: app.openAPIRegistry,
  });
  const store = deps.metrics ?? new RackMetricsStore();
  clusterRoutes(app, kit, deps.cluster);
  sessionRoutes(app, kit);
  rackRoutes(app, kit, deps.racks);
  scenarioRoutes(app, kit, deps.scenarios);
  eventRoutes(app, kit, deps.audit);
  metricsRoutes(
    app,
    kit,
    deps.racks,
    store,
    deps.statsHistory ?? new RackStatsHistory(),
    deps.clock ?? (() => new Date()),
  );
  otlpRoutes(app, kit, {
    store,
    maxBodyBytes: deps.maxBodyBytes,
    clock: deps.clock ?? (() => new Date()),
    counters: deps.counters,
  });
  if (deps.tokens !== undefined) tokenRoutes(app, kit, deps.tokens);
  if (deps.enrollmentTokens !== undefined) enrollmentTokenRoutes(app, kit, deps.enrollmentTokens);
  if (deps.expectedKeys !== undefined) expectedKeyRoutes(app, kit, deps.expectedKeys);
  if (deps.prometheus !== undefined) prometheusRoutes(app, kit, deps.prometheus);
  consoleRoutes(app, deps.console === undefined ? builtConsoleAssets() : deps.console);
  docsRoutes(app, kit, { version: deps.version ?? "0.0.0" });
  return app;
}
