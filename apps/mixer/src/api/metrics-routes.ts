// Reading the metrics Racks exported over OTLP: all Racks, or one Rack by ref.
import type { RackOperations } from "../fleet/operations.js";
import type { RackMetricsStore } from "../telemetry/rack-metrics-store.js";
import { ApiError } from "./api-error.js";
import { type ApiRoute, defineRoute } from "./route-spec.js";
import { RackMetricsListResponse, RackMetricsSchema, RefParams } from "./schemas.js";

const TAG = "metrics";

/** `GET /api/v1/metrics` and `GET /api/v1/racks/{ref}/metrics`. */
export function metricsRoutes(racks: RackOperations, store: RackMetricsStore): ApiRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/metrics",
      operationId: "listMetrics",
      summary: "Latest metrics of every Rack",
      description: "Kept in memory only: empty after a Mixer restart until the Racks export again.",
      tag: TAG,
      auth: "api",
      response: { schema: RackMetricsListResponse, description: "One entry per Rack heard from" },
      handle: () => ({ items: store.list() }),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/racks/{ref}/metrics",
      operationId: "showRackMetrics",
      summary: "Latest metrics of one Rack",
      description: "404 `not_found` when the Rack is unknown or has not exported since the Mixer started.",
      tag: TAG,
      auth: "api",
      params: RefParams,
      response: { schema: RackMetricsSchema, description: "The Rack's latest export, summarised" },
      errors: ["not_found", "unknown_rack"],
      example: { params: { ref: "rack-nyc-01" } },
      handle: async ({ params }) => {
        // The registry resolves names and hex ids; the store is keyed by the decimal id the Rack exports.
        const rack = await racks.show(params.ref);
        const metrics = store.get(rack.entity_id);
        if (metrics === undefined) {
          throw new ApiError("not_found", `no metrics from Rack ${rack.name} since the Mixer started`);
        }
        return metrics;
      },
    }),
  ];
}
