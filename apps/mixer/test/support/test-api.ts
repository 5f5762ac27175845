// Builds the API on fakes with a captured log, and small request helpers, for the HTTP-layer tests.
import { pino } from "pino";
import type { ApiDeps } from "../../src/api/api-deps.js";
import { createApi } from "../../src/api/create-api.js";
import { RackMetricsStore } from "../../src/telemetry/rack-metrics-store.js";
import { FakeFleet } from "./fake-fleet.js";

export const TOKEN = "t0ken-for-tests";
export const TELEMETRY_TOKEN = "telemetry-t0ken";
export const METRICS_TOKEN = "metrics-t0ken";
/** What the fake `GET /metrics` serves. */
export const FAKE_EXPOSITION = "# HELP fake_metric A fake.\n# TYPE fake_metric gauge\nfake_metric 1\n";
export const NOW = new Date("2025-06-01T12:00:00.000Z");

export interface TestApi {
  app: ReturnType<typeof createApi>;
  fleet: FakeFleet;
  store: RackMetricsStore;
  /** Every log line, parsed. */
  logs: Array<Record<string, unknown>>;
  /** The raw log text, to check that secrets never reach it. */
  logText: () => string;
  counters: Map<string, number>;
}

export function buildTestApi(over: Partial<ApiDeps> = {}): TestApi {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  const fleet = new FakeFleet();
  const store = over.metrics ?? new RackMetricsStore();
  const counters = new Map<string, number>();
  const deps: ApiDeps & { metrics: RackMetricsStore } = {
    racks: fleet.racks,
    scenarios: fleet.scenarios,
    audit: fleet.audit,
    tokens: fleet.tokens,
    enrollmentTokens: fleet.enrollmentTokens,
    expectedKeys: fleet.expectedKeys,
    cluster: fleet.cluster,
    auth: {
      token: TOKEN,
      disabled: false,
      telemetryToken: TELEMETRY_TOKEN,
      metricsToken: METRICS_TOKEN,
      named: fleet.tokens,
    },
    logger,
    maxBodyBytes: 64 * 1024,
    counters: { inc: (name) => void counters.set(name, (counters.get(name) ?? 0) + 1) },
    version: "9.9.9",
    clock: () => NOW,
    prometheus: {
      contentType: "text/plain; version=0.0.4; charset=utf-8",
      render: async () => FAKE_EXPOSITION,
    },
    ...over,
    metrics: store,
  };
  const app = createApi(deps);
  return {
    app,
    fleet,
    store,
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join(""),
    counters,
  };
}

/** Request options with the test token, and a JSON body when `json` is given. */
export function authed(init: RequestInit & { json?: unknown; token?: string } = {}): RequestInit {
  const { json, token, ...rest } = init;
  const headers = new Headers(rest.headers);
  headers.set("Authorization", `Bearer ${token ?? TOKEN}`);
  if (json !== undefined) headers.set("Content-Type", "application/json");
  return { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) };
}

/** The JSON error body of a response, checked for the common shape. */
export async function errorOf(
  res: Response,
): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  const body = (await res.json()) as {
    error: { code: string; message: string; details?: Record<string, unknown> };
  };
  return body.error;
}
