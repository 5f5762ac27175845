// KV create rate of cluster mode's storage layer (apps/mixer/src/kv): R1 on one nats-server and R3 on a 3-node
// loopback cluster, both with JetStream `sync_interval: always` (cluster mode's setting) unless --sync default;
// sequential creates and creates with 256 in flight; CPU per write (client process, and all nats-servers together)
// and memory (client RSS, each server's RSS from /varz); several runs each.
//
// Run: pnpm exec tsx --conditions=@fluxrig/source bench/kv.bench.ts [--runs 3] [--sequential 500]
//      [--concurrent 5000] [--in-flight 256] [--sync always|default]
// Writes bench-results/kv.json. Needs nats-server 2.10+ (NATS_SERVER_BIN or .tools/bin).

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { killAllStarted, startNatsCluster, startNatsServer } from "@fluxrig/testkit";
import { KvBucket } from "../apps/mixer/src/kv/kv-bucket.js";

/** The client the KV layer takes (the root has no direct NATS dependency). */
type NatsConnection = Parameters<typeof KvBucket.open>[0];

interface Figure {
  name: string;
  value: number;
  unit: string;
  note: string;
}

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    sequential: { type: "string", default: "500" },
    concurrent: { type: "string", default: "5000" },
    "in-flight": { type: "string", default: "256" },
    sync: { type: "string", default: "always" },
  },
  allowPositionals: false,
});
const int = (name: "runs" | "sequential" | "concurrent" | "in-flight"): number => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const RUNS = int("runs");
const SEQUENTIAL = int("sequential");
const CONCURRENT = int("concurrent");
const IN_FLIGHT = int("in-flight");
if (args.sync !== "always" && args.sync !== "default") throw new Error("--sync must be always or default");
const SYNC = args.sync === "always" ? "always" : undefined;
// Linux reports process times in clock ticks; 100 per second on every common kernel build.
const CLOCK_TICKS_PER_S = 100;

/** User + system CPU of a process in ms, from /proc (the servers are other processes). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

interface Target {
  replicas: 1 | 3;
  connect(): Promise<NatsConnection>;
  pids(): number[];
  /** Each server's resident memory in bytes (/varz `mem`). */
  serverRss(): Promise<number[]>;
  stop(): Promise<void>;
}

async function oneNode(): Promise<Target> {
  const nats = await startNatsServer({ monitor: true, ...(SYNC ? { syncInterval: SYNC } : {}) });
  return {
    replicas: 1,
    connect: () => nats.connect(),
    pids: () => [nats.pid!],
    serverRss: async () => [(await nats.monitor<{ mem: number }>("varz")).mem],
    stop: () => nats.stop(),
  };
}

async function threeNodes(): Promise<Target> {
  const cluster = await startNatsCluster({ nodes: 3, syncInterval: SYNC ?? null });
  return {
    replicas: 3,
    connect: () => cluster.connect(),
    pids: () => cluster.nodes.map((n) => n.pid!),
    serverRss: () =>
      Promise.all([0, 1, 2].map(async (i) => (await cluster.monitor<{ mem: number }>(i, "varz")).mem)),
    stop: () => cluster.stop(),
  };
}

async function measure(
  target: Target,
  bucket: KvBucket,
  mode: "sequential" | "concurrent",
  run: number,
): Promise<{ rate: number; clientCpuUs: number; serverCpuUs: number }> {
  const count = mode === "sequential" ? SEQUENTIAL : CONCURRENT;
  const inFlight = mode === "sequential" ? 1 : IN_FLIGHT;
  const keys = Array.from({ length: count }, (_, i) => `r${run}.${mode}.machine.${i}`);
  const serverBefore = target.pids().reduce((sum, pid) => sum + processCpuMs(pid), 0);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < keys.length) await bucket.create(keys[next++]!, { entity_id: next });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const serverMs = target.pids().reduce((sum, pid) => sum + processCpuMs(pid), 0) - serverBefore;
  return {
    rate: count / seconds,
    clientCpuUs: (client.user + client.system) / count,
    serverCpuUs: (serverMs * 1000) / count,
  };
}

async function main(): Promise<void> {
  const figures: Figure[] = [];
  const syncNote = SYNC ? "sync_interval always" : "sync_interval default (2 min)";
  for (const start of [oneNode, threeNodes]) {
    const target = await start();
    try {
      const nc = await target.connect();
      const bucket = await KvBucket.open(nc, "bench_claims", {
        replicas: target.replicas,
        writerId: "bench",
        history: 1,
      });
      for (const mode of ["sequential", "concurrent"] as const) {
        const results = [];
        for (let run = 0; run < RUNS; run++) results.push(await measure(target, bucket, mode, run));
        const label = `R${target.replicas} ${mode === "sequential" ? "sequential" : `${IN_FLIGHT} in flight`}`;
        const rates = results.map((r) => Math.round(r.rate));
        const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
        figures.push(
          {
            name: `kv create rate, ${label}`,
            value: median(rates),
            unit: "creates/s",
            note: `median of ${RUNS} runs (${rates.join(", ")}) of ${mode === "sequential" ? SEQUENTIAL : CONCURRENT} creates, ${syncNote}`,
          },
          {
            name: `kv client CPU per create, ${label}`,
            value: Math.round(median(results.map((r) => r.clientCpuUs))),
            unit: "µs",
            note: "this process (nats.js + the KV layer), median of the runs",
          },
          {
            name: `kv server CPU per create, ${label}`,
            value: Math.round(median(results.map((r) => r.serverCpuUs))),
            unit: "µs",
            note: `all ${target.replicas === 1 ? "1 nats-server" : "3 nats-servers"} together, from /proc, median of the runs`,
          },
        );
      }
      const rss = await target.serverRss();
      figures.push(
        {
          name: `kv nats-server RSS after the runs, R${target.replicas}`,
          value: Math.round(Math.max(...rss) / 1024 / 1024),
          unit: "MiB",
          note: `largest member (${rss.map((b) => Math.round(b / 1024 / 1024)).join(", ")} MiB)`,
        },
        {
          name: `kv client RSS after the runs, R${target.replicas}`,
          value: Math.round(process.memoryUsage().rss / 1024 / 1024),
          unit: "MiB",
          note: "this process",
        },
      );
      await nc.close();
    } finally {
      await target.stop();
    }
  }
  mkdirSync("bench-results", { recursive: true });
  const suffix = SYNC ? "" : "-sync-default";
  writeFileSync(
    `bench-results/kv${suffix}.json`,
    `${JSON.stringify({ suite: `kv${suffix}`, figures }, null, 2)}\n`,
  );
  console.table(figures);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => killAllStarted());
