// What the REST API needs from the rest of the Mixer, passed in so tests can hand it fakes.

import type { ApiTokenRole, ClusterInfo } from "@fluxrig/wire";
import type { RequestIdVariables } from "hono/request-id";
import type { Logger } from "pino";
import type {
  ApiTokenOperations,
  AuditOperations,
  EnrollmentTokenOperations,
  ExpectedKeyOperations,
  RackOperations,
  ScenarioOperations,
} from "../fleet/operations.js";
import type { RackMetricsStore } from "../telemetry/rack-metrics-store.js";
import type { RackStatsHistory } from "../telemetry/rack-stats-history.js";

export interface ApiAuth {
  /** The bearer token of `[api] auth_token`; null or empty means none is set. */
  token: string | null;
  /** `[api] auth_disabled_dangerously`: no check at all. Without a token and without this, createApi refuses. */
  disabled: boolean;
  /**
   * An optional second token accepted on `POST /v1/metrics` only, so Racks can export telemetry without holding
   * the operator token that can adopt and revoke. The API token is accepted there too.
   */
  telemetryToken?: string | null;
  /** An optional token accepted on `GET /metrics` only (a Prometheus scraper); the API token is accepted there too. */
  metricsToken?: string | null;
  /** Named API tokens with roles (issue 16), checked in memory; without it only the tokens above exist. */
  named?: NamedTokens;
}

/** The live named tokens: who holds a presented secret (found by its SHA-256). */
export interface NamedTokens {
  authenticate(secret: string): { name: string; role: ApiTokenRole } | undefined;
}

/** Who a request is, once its bearer token passed: the bootstrap token (`[api] auth_token`) is an admin. */
export interface Principal {
  /** The named token's name, or `api` for the bootstrap token. */
  name: string;
  role: ApiTokenRole;
  /** The configured `[api] auth_token`: its audit actor is `api` (or `api:<X-Fluxrig-Actor>`). */
  bootstrap: boolean;
  /**
   * Whether the token still admits this request (false once a named token is revoked): long requests (an event
   * stream) ask it as they go, so a revocation ends them too.
   */
  stillValid(): boolean;
}

export interface ApiDeps {
  racks: RackOperations;
  scenarios: ScenarioOperations;
  audit: AuditOperations;
  /** Named API tokens (`/api/v1/tokens`); the routes are absent without it. */
  tokens?: ApiTokenOperations;
  /** Enrollment tokens (`/api/v1/enrollment-tokens`); the routes are absent without it. */
  enrollmentTokens?: EnrollmentTokenOperations;
  /** Expected keys (`/api/v1/expected-keys`); the routes are absent without it. */
  expectedKeys?: ExpectedKeyOperations;
  /** Cluster facts and counts; called per request, so it may read live counters. */
  cluster: () => Promise<ClusterInfo> | ClusterInfo;
  auth: ApiAuth;
  logger: Logger;
  /** Largest request body on any route (`[api] max_body_bytes`); scenario imports are capped lower. */
  maxBodyBytes: number;
  /** Each Rack's heartbeat stats over the last minutes (`GET /api/v1/racks/{ref}/stats`); an empty one when not given. */
  statsHistory?: RackStatsHistory;
  /** Where OTLP metrics land; a fresh bounded store when not given. */
  metrics?: RackMetricsStore;
  /** Named counters (`api.refused.<code>`, `otlp.accepted`, ...), shown in cluster info by the Mixer. */
  counters?: { inc(name: string): void };
  /** The Mixer's own metrics in Prometheus text format, served at `GET /metrics`; the route is absent without it. */
  prometheus?: PrometheusExposition;
  /** The Mixer's version, for the OpenAPI document's `info.version`. */
  version?: string;
  /**
   * The operator console's files (`GET /`, `/console/*`); by default the console built beside the running code
   * (`dist/console/`), and null serves a 503 at `/` saying it was not built.
   */
  console?: ConsoleAssets;
  /** The Mixer's notion of now (metrics `received_at`). */
  clock?: () => Date;
}

/** What `GET /metrics` serves: a scrape reads the Mixer's live counters at that moment. */
export interface PrometheusExposition {
  /** The exposition's `Content-Type` (Prometheus text format 0.0.4). */
  readonly contentType: string;
  render(): Promise<string>;
}

/** Hono's environment for every API handler. */
export interface ApiEnv {
  Variables: RequestIdVariables & {
    /** Set by the bearer check; undefined on open routes and with auth disabled. */
    principal: Principal | undefined;
  };
}

/** One file of the console, ready to serve. */
export interface ConsoleAsset {
  body: Uint8Array;
  contentType: string;
  /** A strong validator (the content's SHA-256), so a browser revalidates in one round trip and gets a 304. */
  etag: string;
}

/** The console's files by the path they are served at (`/` and `/console/...`); null when it was not built. */
export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset> | null;
