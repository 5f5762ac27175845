// Baseline: one DuckDB write per heartbeat. The Mixer has no such mode, so its single-row UPDATE cost is measured.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, startProcess, tempDir } from "@fluxrig/testkit";
import { type Figure, round } from "./figures.js";

const BENCH_FILE = "apps/mixer/src/registry/presence-flush.bench.ts";

interface VitestBench {
  name: string;
  mean: number;
  sampleCount?: number;
}

interface VitestBenchJson {
  files?: Array<{ groups?: Array<{ fullName: string; benchmarks?: VitestBench[] }> }>;
}

interface FlushCosts {
  /** ms per row with one UPDATE per row (in one transaction, as the bench does it). */
  singleRowMs: number;
  /** ms per row with the Mixer's batched flush, when measured. */
  batchedRowMs: number | undefined;
  source: string;
}

/** Rows per iteration, from a bench name such as `baseline: 1000 single-row UPDATEs ...`. */
function rowsIn(name: string, fallback: number): number {
  const m = /(\d[\d,]*)\s+(?:single-row|Racks)/.exec(name);
  return m ? Number(m[1]!.replaceAll(",", "")) : fallback;
}

function costsFrom(json: VitestBenchJson, source: string): FlushCosts | undefined {
  let single: number | undefined;
  let batched: number | undefined;
  for (const file of json.files ?? []) {
    for (const group of file.groups ?? []) {
      if (!group.fullName.includes("presence flush")) continue;
      const groupRows = rowsIn(group.fullName, 10_000);
      for (const b of group.benchmarks ?? []) {
        if (b.name.includes("single-row")) single = b.mean / rowsIn(b.name, 1_000);
        else if (b.name.startsWith("writePresenceRows")) batched = b.mean / groupRows;
      }
    }
  }
  return single === undefined ? undefined : { singleRowMs: single, batchedRowMs: batched, source };
}

/** Runs the Mixer's presence-flush micro-benchmark (single-row and batched cases only), about 20 s. */
async function runFlushBench(): Promise<FlushCosts | undefined> {
  const root = repoRoot();
  await using dir = tempDir("swarm-baseline");
  const out = join(dir.path, "flush.json");
  const proc = startProcess({
    command: join(root, "node_modules/.bin/vitest"),
    args: [
      "bench",
      "--run",
      "--project",
      "unit",
      BENCH_FILE,
      "-t",
      "single-row|writePresenceRows",
      "--outputJson",
      out,
    ],
    cwd: root,
    label: "vitest-bench",
    env: { NO_COLOR: "1", CI: "1" },
  });
  const exit = await proc.waitForExit({ timeoutMs: 300_000 }).catch(async (err: unknown) => {
    await proc.stop();
    throw err;
  });
  if (exit.code !== 0 || !existsSync(out))
    throw new Error(`vitest bench exited ${exit.code}: ${proc.output(15)}`);
  return costsFrom(
    JSON.parse(readFileSync(out, "utf8")) as VitestBenchJson,
    `\`pnpm exec vitest bench --run --project unit ${BENCH_FILE} -t "single-row|writePresenceRows"\``,
  );
}

/** From bench-results/micro.json when `pnpm bench` wrote it less than an hour ago, else measured now. */
async function flushCosts(): Promise<FlushCosts | undefined> {
  const micro = join(repoRoot(), "bench-results", "micro.json");
  if (existsSync(micro) && Date.now() - statSync(micro).mtimeMs < 3_600_000) {
    const costs = costsFrom(
      JSON.parse(readFileSync(micro, "utf8")) as VitestBenchJson,
      "bench-results/micro.json",
    );
    if (costs) return costs;
  }
  return runFlushBench();
}

/** The baseline figures against the sustained batched rate of this run. */
export async function baselineFigures(sustained: number, flushIntervalMs: number): Promise<Figure[]> {
  const costs = await flushCosts();
  if (costs === undefined) throw new Error(`${BENCH_FILE} did not report its single-row case`);
  const ceiling = 1000 / costs.singleRowMs;
  const why =
    "the Mixer has no setting to write per heartbeat: [presence] flush_interval is 50 ms..60 s and always batches " +
    "every dirty Rack into one UPDATE (apps/mixer/src/config.ts); so one write per heartbeat is priced by the " +
    "single-row UPDATE of the Mixer's presence-flush micro-benchmark";
  return [
    {
      name: "baseline.single_row_update",
      value: round(costs.singleRowMs, 3),
      unit: "ms/row",
      note: `${why}: UPDATE registry SET last_seen, stats WHERE entity_id = $1 on a 10,000-Rack DuckDB file (1,000 in one transaction: a lower bound for one transaction each); from ${costs.source}`,
    },
    {
      name: "baseline.per_heartbeat_ceiling",
      value: round(ceiling, 0),
      unit: "heartbeats/s",
      note: "1 / baseline.single_row_update: the most one write per heartbeat could ingest on one DuckDB connection",
    },
    {
      name: "baseline.ratio",
      value: round(sustained / ceiling, 1),
      unit: "x",
      note:
        `heartbeat.sustained (batched, flush_interval ${flushIntervalMs} ms) / baseline.per_heartbeat_ceiling` +
        (costs.batchedRowMs === undefined
          ? ""
          : `; per row, the batched flush costs ${round(costs.batchedRowMs * 1000, 1)} us vs ${round(costs.singleRowMs * 1000, 0)} us (${round(costs.singleRowMs / costs.batchedRowMs, 0)}x)`),
    },
  ];
}
