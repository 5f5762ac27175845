// `GET /metrics`: the Mixer's own metrics in Prometheus text format, for a scraper holding the metrics token.
import { z } from "zod";
import type { PrometheusExposition } from "./api-deps.js";
import type { ApiApp, RouteKit } from "./api-route.js";

/** Mounts `GET /metrics` (outside `/api/v1`, where scrapers look by default), over `exposition`. */
export function prometheusRoutes(app: ApiApp, kit: RouteKit, exposition: PrometheusExposition): void {
  const scrape = kit.route({
    method: "get",
    path: "/metrics",
    operationId: "mixerMetrics",
    summary: "The Mixer's own metrics (Prometheus)",
    description:
      "Prometheus text exposition format 0.0.4: Racks by status, hellos by outcome, heartbeats accepted and " +
      "dropped, flush and sweep durations, writer batches, NATS link state. Takes `[api] metrics_token` or the " +
      "API token. Not the Racks' OTLP metrics (those are `GET /api/v1/metrics`).",
    tag: "cluster",
    auth: "metrics",
    response: {
      schema: z.string(),
      description: "The exposition, read at scrape time",
      mediaType: "text/plain",
    },
  });
  app.openapi(scrape, async (c) => {
    const text = await exposition.render();
    c.header("Content-Type", exposition.contentType);
    c.header("Cache-Control", "no-store");
    return c.body(text, 200);
  });
}
