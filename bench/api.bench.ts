// REST API at fleet size: listing 10,000 Racks (one page, the full list) and a bulk adopt of 1,000 pending Racks.
//
// Run: pnpm exec tsx --conditions=@fluxrig/source bench/api.bench.ts [--racks 10000] [--bulk 1000] [--page-runs 200]
//      [--list-runs 10] [--warmup 20] [--concurrency 256] [--mixer-node-args="--cpu-prof --cpu-prof-dir=DIR"]
// Needs the built binary (pnpm build, or pnpm bench which builds first). Writes bench-results/api.json.
//
// Enrolling 10,000 Racks over NATS takes 5-10 s here. The timed list requests start after `--warmup` untimed ones:
// they measure the list in steady state, not the Mixer flushing the enrollment flood it has just answered.
// With --mixer-node-args containing --cpu-prof, each phase's window is printed on the monotonic clock a V8 CPU
// profile stamps its samples with (microseconds), so the profile can be cut down to one phase.

import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { killAllStarted, MixerHarness, ScriptedRack } from "@fluxrig/testkit";
import { cpuMs } from "./swarm/proc-stats.js";

interface Figure {
  name: string;
  value: number;
  unit: string;
  note: string;
}

interface Page {
  items: Array<{ name: string; status: string }>;
  next: string | null;
}

const { values: args } = parseArgs({
  options: {
    racks: { type: "string", default: "10000" },
    bulk: { type: "string", default: "1000" },
    "page-runs": { type: "string", default: "200" },
    "list-runs": { type: "string", default: "10" },
    warmup: { type: "string", default: "20" },
    concurrency: { type: "string", default: "256" },
    "mixer-node-args": { type: "string", default: "" },
  },
  allowPositionals: false,
});
const int = (
  name: "racks" | "bulk" | "page-runs" | "list-runs" | "warmup" | "concurrency",
  min = 1,
): number => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
  return n;
};
const RACKS = int("racks", 101);
const BULK = Math.min(int("bulk"), RACKS);
const PAGE_RUNS = int("page-runs");
const LIST_RUNS = int("list-runs");
const WARMUP = int("warmup", 0);
const CONCURRENCY = int("concurrency");
const NODE_ARGS = (args["mixer-node-args"] ?? "").split(" ").filter(Boolean);
const PROFILING = NODE_ARGS.some((arg) => arg.startsWith("--cpu-prof"));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Runs one phase; when profiling, prints its window in the microseconds a CPU profile's timestamps use. */
async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = process.hrtime.bigint() / 1000n;
  try {
    return await fn();
  } finally {
    if (PROFILING) process.stderr.write(`phase ${name}: ${start}..${process.hrtime.bigint() / 1000n} us\n`);
  }
}

async function main(): Promise<void> {
  const figures: Figure[] = [];
  await using h = await MixerHarness.create({
    env: { FLUXRIG_ENROLLMENT_MAX_PENDING: String(RACKS + 10), FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: "60s" },
    nodeArgs: NODE_ARGS,
  });
  const connections = await Promise.all([1, 2, 3, 4].map(() => h.client({ lean: true })));
  const racks = Array.from(
    { length: RACKS },
    (_, i) => new ScriptedRack(connections[i % connections.length]!, `rack-${String(i).padStart(6, "0")}`),
  );
  const randomPage = (): string =>
    `/api/v1/racks?limit=100&after=${racks[Math.floor(Math.random() * (RACKS - 100))]!.name}`;

  process.stderr.write(`enrolling ${RACKS} pending Racks...\n`);
  let next = 0;
  const enrollMs = await timed(() =>
    phase("enroll", async () => {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < racks.length) {
            const rack = racks[next++]!;
            const reply = await rack.hello();
            if (reply.status !== "pending")
              throw new Error(`${rack.name}: ${reply.status} ${reply.error?.message ?? ""}`);
          }
        }),
      );
    }),
  );
  process.stderr.write(`enrolled in ${(enrollMs / 1000).toFixed(1)} s\n`);
  // Every enrolled Rack is listed the moment its hello is answered: the list is the directory, not a lagging copy.
  const listed = await h.api<Page>(`/api/v1/racks?limit=1&after=${racks.at(-2)!.name}`);
  if (listed.body.items[0]?.name !== racks.at(-1)!.name)
    throw new Error("the last Rack enrolled is not listed");
  figures.push({
    name: "enroll",
    value: round(enrollMs),
    unit: "ms",
    note: `${RACKS} pending Racks over NATS, ${CONCURRENCY} hellos in flight (setup, not a target)`,
  });

  await phase("warmup", async () => {
    for (let i = 0; i < WARMUP; i++) await h.api(randomPage());
  });

  // One page of 100, many times; the Mixer's CPU (/proc, 10 ms ticks) over the runs is the cost of one request.
  const page: number[] = [];
  const mixerPid = h.mixer?.pid;
  const cpuBefore = cpuMs(mixerPid);
  const loadBefore = loadavg()[0]!;
  await phase("page100", async () => {
    for (let i = 0; i < PAGE_RUNS; i++) {
      const path = randomPage();
      page.push(
        await timed(async () => {
          const res = await h.api<Page>(path);
          if (res.status !== 200 || res.body.items.length !== 100) throw new Error(`page: ${res.status}`);
        }),
      );
    }
  });
  const pageCpuMs = (cpuMs(mixerPid) ?? Number.NaN) - (cpuBefore ?? Number.NaN);
  page.sort((a, b) => a - b);
  figures.push(
    {
      name: "list.page100.mixer_cpu",
      value: Math.round((pageCpuMs * 1000) / PAGE_RUNS),
      unit: "us",
      note: `fluxrig-mixer user+system CPU (/proc) over the ${PAGE_RUNS} page runs, per request (no Rack heartbeats); load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
    },
    {
      name: "list.page100.p50",
      value: round(percentile(page, 50)),
      unit: "ms",
      note: `GET /racks?limit=100 over ${RACKS} Racks, ${PAGE_RUNS} runs after ${WARMUP} untimed`,
    },
    { name: "list.page100.p99", value: round(percentile(page, 99)), unit: "ms", note: "target < 20 ms" },
  );

  // The full list, page by page (1,000 a page, the API's maximum).
  const full: number[] = [];
  await phase("full", async () => {
    for (let i = 0; i < LIST_RUNS; i++) {
      full.push(
        await timed(async () => {
          let after: string | null = null;
          let count = 0;
          do {
            const res: { status: number; body: Page } = await h.api<Page>(
              `/api/v1/racks?limit=1000${after ? `&after=${after}` : ""}`,
            );
            count += res.body.items.length;
            after = res.body.next;
          } while (after);
          if (count !== RACKS) throw new Error(`full list: ${count} of ${RACKS}`);
        }),
      );
    }
  });
  full.sort((a, b) => a - b);
  figures.push(
    {
      name: "list.full.p50",
      value: round(percentile(full, 50)),
      unit: "ms",
      note: `all ${RACKS} Racks in pages of 1,000, ${LIST_RUNS} runs`,
    },
    { name: "list.full.p99", value: round(percentile(full, 99)), unit: "ms", note: "" },
  );

  // Bulk adopt of BULK pending Racks by list, one request.
  const refs = racks.slice(0, BULK).map((r) => r.name);
  let adopted = 0;
  const bulkMs = await timed(() =>
    phase("bulk_adopt", async () => {
      const res = await h.api<{ adopted: unknown[] }>("/api/v1/racks/adopt", {
        method: "POST",
        json: { refs },
      });
      if (res.status !== 200) throw new Error(`bulk adopt: ${res.status} ${JSON.stringify(res.body)}`);
      adopted = res.body.adopted.length;
    }),
  );
  if (adopted !== BULK) throw new Error(`bulk adopt adopted ${adopted} of ${BULK}`);
  // Listed as active as soon as the adopt is answered.
  const active = await h.api<Page>(`/api/v1/racks?status=active&limit=1000&after=${racks[0]!.name}`);
  if (active.body.items.length !== Math.min(BULK - 1, 1000)) {
    throw new Error(`after bulk adopt, ${active.body.items.length + 1} Racks are listed active, not ${BULK}`);
  }
  figures.push({
    name: "bulk_adopt",
    value: round(bulkMs),
    unit: "ms",
    note: `${BULK} pending Racks adopted with passports in one request; target < 2,000 ms`,
  });

  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/api.json", `${JSON.stringify({ suite: "api", figures }, null, 2)}\n`);
  console.table(figures);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => killAllStarted());
