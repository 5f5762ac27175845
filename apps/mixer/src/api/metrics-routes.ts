// Reading the metrics Racks exported over OTLP: all Racks, or one Rack by ref.
import { OperationError } from "../errors/wire-refusal.js";
import type { RackOperations } from "../fleet/operations.js";
import { RackMetricsSchema, type RackMetricsStore } from "../telemetry/rack-metrics-store.js";
import { type RackStatsHistory, RackStatsHistorySchema } from "../telemetry/rack-stats-history.js";
import { type ApiApp, type RouteKit, reply } from "./api-route.js";
import { RackMetricsListResponse, RefParams } from "./schemas.js";

const TAG = "metrics";

/** `GET /api/v1/metrics`, `GET /api/v1/racks/{ref}/metrics` and `GET /api/v1/racks/{ref}/stats`. */
export function metricsRoutes(
  app: ApiApp,
  kit: RouteKit,
  racks: RackOperations,
  store: RackMetricsStore,
  history: RackStatsHistory,
  clock: () => Date,
): void {
  const listMetrics = kit.route({
    method: "get",
    path: "/api/v1/metrics",
    operationId: "listMetrics",
    summary: "Latest metrics of every Rack",
    description: "Kept in memory only: empty after a Mixer restart until the Racks export again.",
    tag: TAG,
    auth: "viewer",
    response: { schema: RackMetricsListResponse, description: "One entry per Rack heard from" },
  });
  app.openapi(listMetrics, (c) => reply(c, listMetrics, { items: store.list() }));

  const showRackMetrics = kit.route({
    method: "get",
    path: "/api/v1/racks/{ref}/metrics",
    operationId: "showRackMetrics",
    summary: "Latest metrics of one Rack",
    description: "404 `not_found` when the Rack is unknown or has not exported since the Mixer started.",
    tag: TAG,
    auth: "viewer",
    params: RefParams,
    response: { schema: RackMetricsSchema, description: "The Rack's latest export, summarised" },
    errors: ["not_found", "unknown_rack"],
    examples: { ref: "rack-nyc-01" },
  });
  app.openapi(showRackMetrics, async (c) => {
    // The registry resolves names and hex ids; the store is keyed by the decimal id the Rack exports.
    const rack = await racks.show(c.req.valid("param").ref);
    const metrics = store.get(rack.entity_id);
    if (metrics === undefined) {
      throw new OperationError("not_found", `no metrics from Rack ${rack.name} since the Mixer started`);
    }
    return reply(c, showRackMetrics, metrics);
  });

  const showRackStats = kit.route({
    method: "get",
    path: "/api/v1/racks/{ref}/stats",
    operationId: "showRackStats",
    summary: "A Rack's heartbeat stats over the last minutes",
    description:
      "CPU, memory and message counts sampled from the Rack's heartbeats, at most one per step, oldest first, " +
      "within the window (5 minutes). Kept in memory only: empty after a Mixer restart until heartbeats come.",
    tag: TAG,
    auth: "viewer",
    params: RefParams,
    response: { schema: RackStatsHistorySchema, description: "The samples, oldest first" },
    errors: ["not_found", "unknown_rack"],
    examples: { ref: "rack-nyc-01" },
  });
  app.openapi(showRackStats, async (c) => {
    const rack = await racks.show(c.req.valid("param").ref);
    return reply(c, showRackStats, {
      entity_id: rack.entity_id,
      name: rack.name,
      window_seconds: Math.round(history.windowMs / 1000),
      step_seconds: Math.round(history.stepMs / 1000),
      samples: history.samples(BigInt(rack.entity_id), clock().getTime()),
    });
  });
}
