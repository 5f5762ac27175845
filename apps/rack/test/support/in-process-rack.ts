// Starts the agent in-process (createRack) with fast timings and a log captured as JSON entries.

import { type LogEntry, matchesEntry, waitFor } from "@fluxrig/testkit";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { loadRackConfig } from "../../src/config.js";
import { statePaths } from "../../src/identity/state-paths.js";
import type { RackTiming } from "../../src/lifecycle/backoff.js";
import { connectWithRetry } from "../../src/nats-link.js";
import { type Clock, createRack, type Rack } from "../../src/rack.js";

const fast = (initialMs: number, maxMs: number) => ({ initialMs, maxMs, factor: 2, jitter: 0.2 });

/** Timings that keep tests quick; the policies are the same, only the numbers are smaller. */
export const FAST_TIMING: Partial<RackTiming> = {
  enroll: fast(50, 500),
  pending: fast(200, 1_000),
  rejected: fast(300, 2_000),
  refused: fast(300, 2_000),
  renew: fast(100, 1_000),
  helloTimeoutMs: 1_000,
};

/** Options of {@link startRack}. */
export interface StartRackOptions {
  name: string;
  stateDir: string;
  /** A connection the test owns (open bus, never swapped)… */
  nc?: NatsConnection | Promise<NatsConnection>;
  /** …or the bus to dial: the Rack then owns its connections (bootstrap `creds`, bus.jwt, swaps). */
  bus?: { url: string; creds?: Uint8Array };
  otlpUrl?: string;
  clusterKey?: string;
  timing?: Partial<RackTiming>;
  /** The Rack's own clock (e.g. one that is minutes off). */
  clock?: Clock;
}

/** A running in-process Rack and its captured log. */
export interface TestRack {
  rack: Rack;
  logs: LogEntry[];
  /** Resolves with the first log entry matching `match` (already logged or still to come). */
  waitForLog(
    match: Record<string, unknown> | ((e: LogEntry) => boolean),
    message?: string,
  ): Promise<LogEntry>;
  waitForState(state: Rack["state"]): Promise<void>;
}

export async function startRack(opts: StartRackOptions): Promise<TestRack> {
  const lines = [
    `[rack]\nname = "${opts.name}"\nstate_dir = "${opts.stateDir}"\nlog_level = "debug"`,
    `[heartbeat]\ninterval = "200ms"`,
    `[telemetry]\nexport_interval = "200ms"${opts.otlpUrl ? `\notlp_endpoint = "${opts.otlpUrl}"` : ""}`,
    opts.clusterKey ? `[cluster]\npublic_key = "${opts.clusterKey}"` : "",
  ];
  const config = await loadRackConfig({ file: "test.toml", text: lines.join("\n"), env: {} });
  const logs: LogEntry[] = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => logs.push(JSON.parse(line) as LogEntry) },
  );
  const rack = createRack({
    config,
    paths: statePaths(opts.stateDir),
    logger,
    ...(opts.nc !== undefined ? { nc: opts.nc } : {}),
    ...(opts.bus !== undefined
      ? {
          ...(opts.bus.creds !== undefined ? { creds: opts.bus.creds } : {}),
          dial: (req) =>
            connectWithRetry({
              url: (opts.bus as { url: string }).url,
              clientName: `test-rack/${opts.name}`,
              logger,
              signal: req.signal,
              failOnAuthError: req.failOnAuthError,
              policy: { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0.2 },
              ...(req.authenticator !== undefined ? { authenticator: req.authenticator } : {}),
              ...(req.inboxPrefix !== undefined ? { inboxPrefix: req.inboxPrefix } : {}),
            }),
        }
      : {}),
    timing: { ...FAST_TIMING, ...opts.timing },
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  await rack.start();
  return {
    rack,
    logs,
    waitForLog: (match, message) =>
      waitFor(() => logs.find((e) => matchesEntry(e, match)), {
        message: message ?? `log ${JSON.stringify(match)}`,
        timeoutMs: 10_000,
      }),
    waitForState: async (state) => {
      await waitFor(() => rack.state === state, {
        message: `${opts.name} to be ${state}`,
        timeoutMs: 10_000,
      });
    },
  };
}
