// createApi(deps): the Mixer's REST API and OTLP receiver as one Hono app, ready for app.request or a server.
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { ApiAuthMissingError } from "../runtime/errors.js";
import { RackMetricsStore } from "../telemetry/rack-metrics-store.js";
import type { ApiDeps, ApiEnv } from "./api-deps.js";
import { clusterRoutes } from "./cluster-routes.js";
import { docsRoutes } from "./docs-routes.js";
import { errorHandler, notFoundHandler } from "./error-handler.js";
import { eventRoutes } from "./event-routes.js";
import { metricsRoutes } from "./metrics-routes.js";
import { buildOpenApiDocument, type OpenApiDocument } from "./openapi-document.js";
import { otlpRoutes } from "./otlp-routes.js";
import { rackRoutes } from "./rack-routes.js";
import { requestLog } from "./request-log.js";
import { mountRoutes } from "./route-registrar.js";
import type { ApiRoute } from "./route-spec.js";
import { scenarioRoutes } from "./scenario-routes.js";

/** The route table of an API built from `deps`: what the app serves and what the OpenAPI document lists. */
export function apiRoutes(
  deps: ApiDeps & { metrics: RackMetricsStore },
  document: () => OpenApiDocument,
): ApiRoute[] {
  const store = deps.metrics;
  return [
    ...clusterRoutes(deps.cluster),
    ...rackRoutes(deps.racks),
    ...scenarioRoutes(deps.scenarios),
    ...eventRoutes(deps.audit),
    ...metricsRoutes(deps.racks, store),
    ...otlpRoutes({
      store,
      maxBodyBytes: deps.maxBodyBytes,
      clock: deps.clock ?? (() => new Date()),
      counters: deps.counters,
    }),
    ...docsRoutes(document),
  ];
}

/**
 * Builds the API. Refuses to build one without a token unless auth is explicitly disabled, so a config slip
 * cannot publish an open API.
 *
 * @example
 * const app = createApi({ racks, scenarios, audit, cluster, auth: { token, disabled: false }, logger,
 *   maxBodyBytes: 1 << 20 });
 * const res = await app.request("/api/v1/racks", { headers: { Authorization: `Bearer ${token}` } });
 */
export function createApi(deps: ApiDeps): Hono<ApiEnv> {
  if (!deps.auth.disabled && !deps.auth.token) throw new ApiAuthMissingError();
  const logger = deps.logger.child({ component: "api" });
  if (deps.auth.disabled) logger.warn("api: authentication is disabled ([api] auth_disabled_dangerously)");

  let document: OpenApiDocument | undefined;
  const routes = apiRoutes({ ...deps, metrics: deps.metrics ?? new RackMetricsStore() }, () => {
    document ??= buildOpenApiDocument(routes, { version: deps.version ?? "0.0.0" });
    return document;
  });

  const app = new Hono<ApiEnv>();
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
  mountRoutes(app, routes, {
    auth: deps.auth,
    maxBodyBytes: deps.maxBodyBytes,
    logger,
    counters: deps.counters,
  });
  return app;
}
