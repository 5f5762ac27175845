// The swarm benchmark's flags: parsed once, checked, with defaults sized for a few minutes on a 2-core machine.
import { parseArgs } from "node:util";
// The Rack's own default, not a copy: the herd measures what apps/rack does.
import { DEFAULT_RECONNECT_SPREAD } from "../../apps/rack/src/bus/reconnect-spread.js";

export interface SwarmOptions {
  racks: number;
  /**
   * `[nats] auth` of the run. `none`: an open bus, Racks share `connections` nats.js connections (today's run).
   * `jwt`: nats-server runs the `nats-config` block; each Rack enrolls through the bootstrap path (shared bootstrap
   * connections), then connects as itself (its own key and JWT, one light connection per Rack) and hellos again.
   */
  auth: "none" | "jwt";
  /**
   * jwt: hellos per new Rack. 1 (default): the bootstrap hello carries a reply key and its full reply comes sealed;
   * 2: the flow of a Rack older than the sealed reply (minimal bootstrap reply, then a full hello as itself).
   */
  hellos: 1 | 2;
  /** Shared NATS connections the simulated Racks are spread over. */
  connections: number;
  /** Hellos in flight during enrollment. */
  concurrency: number;
  /** How long each offered heartbeat rate is held. */
  stepMs: number;
  /** How long the steady state (every Rack at its interval) is held while the Mixer's RSS and CPU are sampled. */
  steadyMs: number;
  /** Offered heartbeat rates, stepped up until lag or drops exceed their bounds. */
  rates: number[];
  /** Also offer heartbeats as fast as the generator can, to find the bus's own ceiling. */
  flatOut: boolean;
  /** The Mixer's `[presence] heartbeat_interval`: each Rack's cadence outside the rate steps. */
  intervalMs: number;
  missed: number;
  flushIntervalMs: number;
  lagBoundMs: number;
  /** Largest fraction of heartbeats not accepted by the Mixer for a step to count as held. */
  dropBound: number;
  killFraction: number;
  herdTimeoutMs: number;
  /**
   * What each Rack does in the herd once its connection is back. `heartbeat` (default): heartbeats again and says no
   * hello, as apps/rack does after a nats-server restart while active (`#watchConnection` hellos only when enrolling
   * or pending); the end point is every Rack's first heartbeat after it, taken by the Mixer. `hello`: also says hello
   * with its passport at once (the figure measured before, a session recovery per Rack).
   */
  herdMode: "heartbeat" | "hello";
  /**
   * jwt herd: each Rack's first redial after the drop waits a uniformly random part of this, as apps/rack does with
   * `[nats] reconnect_spread` (default: the Rack's default); `0s` redials at once, as apps/rack did before it.
   */
  reconnectSpreadMs: number;
  /**
   * jwt herd: handshakes the one generator keeps in flight (default 512; phase-herd.ts says why). Real Racks each sign
   * their own nonce; a large value lets an unspread herd arrive as the fleet would send it.
   */
  herdInFlight: number;
  enrollTimeoutMs: number;
  skipSteps: boolean;
  skipOffline: boolean;
  skipHerd: boolean;
  skipBaseline: boolean;
  /** Flags for the Mixer's node, e.g. `--cpu-prof --cpu-prof-dir=DIR` (split on spaces). */
  mixerNodeArgs: string[];
  /**
   * More environment for the Mixer, e.g. `FLUXRIG_PRESENCE_STATS_FLUSH_INTERVAL=10s` (`--mixer-env K=V,K=V`): a
   * setting measured against its default, one run after the other.
   */
  mixerEnv: Record<string, string>;
  out: string;
}

/** `--mixer-env`: `FLUXRIG_X=1,FLUXRIG_Y=2s` as an object; only FLUXRIG_ variables, the Mixer's settings. */
function mixerEnv(value: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of value.split(",").filter((p) => p !== "")) {
    const m = /^(FLUXRIG_[A-Z0-9_]+)=(.*)$/.exec(pair.trim());
    if (m === null)
      throw new Error(`--mixer-env: expected FLUXRIG_NAME=value[,FLUXRIG_NAME=value], got "${pair}"`);
    env[m[1]!] = m[2]!;
  }
  return env;
}

/** `500ms`, `20s`, `2m` or a bare number of seconds, in milliseconds. */
export function durationMs(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (m === null) throw new Error(`--${flag}: expected a duration such as 500ms, 20s or 2m, got "${value}"`);
  const n = Number(m[1]);
  return Math.round(n * (m[2] === "ms" ? 1 : m[2] === "m" ? 60_000 : 1000));
}

function int(flag: string, value: string, min: number, max: number): number {
  const n = Number(value.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${flag}: expected an integer in ${min}..${max}, got "${value}"`);
  return n;
}

function fraction(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`--${flag}: expected 0..1, got "${value}"`);
  return n;
}

/** Parses argv; unknown flags are reported and ignored (tooling/bench.sh hands the same flags to every bench). */
export function parseSwarmOptions(argv: readonly string[]): SwarmOptions {
  const { values, tokens } = parseArgs({
    args: [...argv],
    strict: false,
    tokens: true,
    options: {
      racks: { type: "string", default: "10000" },
      auth: { type: "string", default: "none" },
      hellos: { type: "string", default: "1" },
      connections: { type: "string", default: "16" },
      concurrency: { type: "string", default: "256" },
      duration: { type: "string", default: "10s" },
      steady: { type: "string", default: "30s" },
      rates: { type: "string" },
      "no-flat-out": { type: "boolean", default: false },
      interval: { type: "string" },
      missed: { type: "string", default: "3" },
      "flush-interval": { type: "string", default: "1s" },
      "lag-bound": { type: "string", default: "2s" },
      "drop-bound": { type: "string", default: "0.01" },
      kill: { type: "string", default: "0.01" },
      "herd-timeout": { type: "string", default: "120s" },
      herd: { type: "string", default: "heartbeat" },
      "reconnect-spread": { type: "string", default: DEFAULT_RECONNECT_SPREAD },
      "herd-in-flight": { type: "string", default: "512" },
      "enroll-timeout": { type: "string", default: "15m" },
      "skip-steps": { type: "boolean", default: false },
      "skip-offline": { type: "boolean", default: false },
      "skip-herd": { type: "boolean", default: false },
      "skip-baseline": { type: "boolean", default: false },
      "mixer-node-args": { type: "string", default: "" },
      "mixer-env": { type: "string", default: "" },
      out: { type: "string", default: "bench-results/swarm.json" },
    },
  });
  const known = new Set(Object.keys(values));
  for (const t of tokens ?? []) {
    if (t.kind === "option" && !known.has(t.name)) console.error(`swarm: ignoring unknown flag --${t.name}`);
  }
  const s = (name: string): string => {
    const v = values[name];
    return typeof v === "string" ? v : "";
  };
  const b = (name: string): boolean => values[name] === true;
  const racks = int("racks", s("racks"), 10, 200_000);
  // One heartbeat per Rack per interval should come to about 10,000/s: 1 s at 10,000 Racks, 20 s at 200,000.
  const intervalMs = s("interval")
    ? durationMs("interval", s("interval"))
    : Math.max(1000, Math.ceil(racks / 10_000) * 1000);
  const baseRate = Math.round((racks * 1000) / intervalMs);
  const rates = s("rates")
    ? s("rates")
        .split(",")
        .map((r) => int("rates", r.trim(), 100, 2_000_000))
    : [baseRate, 15_000, 20_000, 25_000, 30_000, 40_000, 50_000, 60_000, 80_000].filter((r) => r >= baseRate);
  const auth = s("auth");
  if (auth !== "none" && auth !== "jwt") throw new Error(`--auth: expected none or jwt, got "${auth}"`);
  // The rate steps read the no-op subscriber, an anonymous raw client that a JWT bus refuses: jwt runs skip them
  // (heartbeat ingestion does not depend on how the Racks authenticated; the steady phase shows it held).
  if (auth === "jwt" && !b("skip-steps"))
    console.error("swarm: --auth jwt skips the rate steps (no no-op subscriber)");
  const herdMode = s("herd");
  if (herdMode !== "heartbeat" && herdMode !== "hello")
    throw new Error(`--herd: expected heartbeat or hello, got "${herdMode}"`);
  const hellos = s("hellos");
  if (hellos !== "1" && hellos !== "2") throw new Error(`--hellos: expected 1 or 2, got "${hellos}"`);
  return {
    racks,
    auth,
    hellos: hellos === "2" ? 2 : 1,
    connections: int("connections", s("connections"), 1, 256),
    concurrency: int("concurrency", s("concurrency"), 1, 10_000),
    stepMs: durationMs("duration", s("duration")),
    steadyMs: durationMs("steady", s("steady")),
    rates: [...new Set(rates)].sort((a, b2) => a - b2),
    flatOut: !b("no-flat-out"),
    intervalMs,
    missed: int("missed", s("missed"), 1, 100),
    flushIntervalMs: durationMs("flush-interval", s("flush-interval")),
    lagBoundMs: durationMs("lag-bound", s("lag-bound")),
    dropBound: fraction("drop-bound", s("drop-bound")),
    killFraction: fraction("kill", s("kill")),
    herdTimeoutMs: durationMs("herd-timeout", s("herd-timeout")),
    herdMode,
    reconnectSpreadMs: durationMs("reconnect-spread", s("reconnect-spread")),
    herdInFlight: int("herd-in-flight", s("herd-in-flight"), 1, 1_000_000),
    enrollTimeoutMs: durationMs("enroll-timeout", s("enroll-timeout")),
    skipSteps: b("skip-steps") || auth === "jwt",
    skipOffline: b("skip-offline"),
    skipHerd: b("skip-herd"),
    skipBaseline: b("skip-baseline"),
    mixerNodeArgs: s("mixer-node-args")
      .split(" ")
      .filter((a) => a !== ""),
    mixerEnv: mixerEnv(s("mixer-env")),
    out: s("out"),
  };
}

/** How a flag value is written back in the command line of a figure's note. */
export function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
