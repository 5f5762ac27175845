// Health (no token, for load balancers and probes) and cluster info (public key, key id, counts, counters).
import { type ClusterInfo, ClusterInfoSchema } from "@fluxrig/wire";
import { type ApiApp, type RouteKit, reply } from "./api-route.js";
import { HealthResponse } from "./schemas.js";

/** Health at `/health` and `/api/v1/health`, and `GET /api/v1/cluster`. */
export function clusterRoutes(
  app: ApiApp,
  kit: RouteKit,
  cluster: () => Promise<ClusterInfo> | ClusterInfo,
): void {
  for (const [path, operationId] of [
    ["/health", "health"],
    ["/api/v1/health", "apiHealth"],
  ] as const) {
    const health = kit.route({
      method: "get",
      path,
      operationId,
      summary: "Liveness",
      description: "No token needed. Answers while the HTTP server runs; it does not probe NATS or DuckDB.",
      tag: "cluster",
      auth: "none",
      response: { schema: HealthResponse, description: "The API is up" },
    });
    app.openapi(health, (c) => reply(c, health, { status: "ok" }));
  }

  const clusterInfo = kit.route({
    method: "get",
    path: "/api/v1/cluster",
    operationId: "clusterInfo",
    summary: "Cluster info",
    description:
      "The Cluster public key and key id (to pin on Racks), the Mixer's identity, counts by status.",
    tag: "cluster",
    auth: "viewer",
    response: { schema: ClusterInfoSchema, description: "Cluster facts" },
    errors: ["unavailable"],
  });
  app.openapi(clusterInfo, async (c) => reply(c, clusterInfo, await cluster()));
}
