// Health (no token, for load balancers and probes) and cluster info (public key, key id, counts, counters).
import type { ClusterInfo } from "@fluxrig/wire";
import { type ApiRoute, defineRoute } from "./route-spec.js";
import { ClusterInfoResponse, HealthResponse } from "./schemas.js";

function healthRoute(path: string, operationId: string): ApiRoute {
  return defineRoute({
    method: "get",
    path,
    operationId,
    summary: "Liveness",
    description: "No token needed. Answers while the HTTP server runs; it does not probe NATS or DuckDB.",
    tag: "cluster",
    auth: "none",
    response: { schema: HealthResponse, description: "The API is up" },
    handle: () => ({ status: "ok" as const }),
  });
}

/** Health at `/health` and `/api/v1/health`, and `GET /api/v1/cluster`. */
export function clusterRoutes(cluster: () => Promise<ClusterInfo> | ClusterInfo): ApiRoute[] {
  return [
    healthRoute("/health", "health"),
    healthRoute("/api/v1/health", "apiHealth"),
    defineRoute({
      method: "get",
      path: "/api/v1/cluster",
      operationId: "clusterInfo",
      summary: "Cluster info",
      description:
        "The Cluster public key and key id (to pin on Racks), the Mixer's identity, counts by status.",
      tag: "cluster",
      auth: "api",
      response: { schema: ClusterInfoResponse, description: "Cluster facts" },
      errors: ["unavailable"],
      handle: () => cluster(),
    }),
  ];
}
