// The Rack's footprint: RSS and CPU of a real fluxrig-rack process, pending and then active (ticker gear, OTLP on).
//
// Run:   pnpm exec tsx --conditions=@fluxrig/source bench/rack-footprint.bench.ts [flags]   (after `pnpm build`)
// By default the Rack runs as shipped and configured by default: `node dist/fluxrig-rack.js` (no source maps), the
// Mixer's 10 s heartbeat interval and the Rack's 15 s OTLP export interval; a phase is sampled once the Rack has sent
// 3 heartbeats in it (start-up is not idle), once a second for 20 s. About 2 minutes in all.
// Flags: --window=<s>     seconds sampled per phase (default 20, 2..120)
//        --warmup=<n>     heartbeats the Rack sends in a phase before sampling starts (default 3)
//        --heartbeat=<d>  the Mixer's heartbeat interval (default 10s)      --export=<d>  OTLP export interval (15s)
//        --ticker=<d>     the ticker gear's interval (default 1s)
//        --quick          a short run: --window=5 --warmup=2 --heartbeat=1s --export=2s (explicit flags win)
//        --source-maps    run node with --enable-source-maps, as the tests do
//        --strict         exit 1 when a figure is over its target (default: say so, exit 0)
//        --out=<file>     default bench-results/rack-footprint.json
// Unknown flags are ignored (tooling/bench.sh hands the same flags to every bench script).
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  killAllStarted,
  MixerHarness,
  repoRoot,
  type SpawnedProcess,
  spawnBinary,
  TEST_TOKEN,
  type TempDir,
  tempDir,
  waitFor,
} from "@fluxrig/testkit";

const MB = 1024 * 1024;
// Issue 19's targets.
const TARGETS = { pendingRssMb: 45, activeRssMb: 55, cpuPct: 1 } as const;
const RACK = "rack-footprint";

interface Options {
  windowS: number;
  heartbeat: string;
  exportInterval: string;
  ticker: string;
  strict: boolean;
  sourceMaps: boolean;
  warmupBeats: number;
  out: string;
}

const QUICK = ["--window=5", "--warmup=2", "--heartbeat=1s", "--export=2s"];

/** `500ms` or `10s` in milliseconds. */
function durationMs(flag: string, value: string): number {
  const m = /^(\d+)(ms|s)$/.exec(value);
  if (m === null) throw new Error(`${flag}: expected a duration such as 500ms or 10s, got "${value}"`);
  return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
}

function parseArgs(argv: readonly string[]): Options {
  const opts: Options = {
    windowS: 20,
    heartbeat: "10s",
    exportInterval: "15s",
    ticker: "1s",
    strict: false,
    sourceMaps: false,
    warmupBeats: 3,
    out: join(repoRoot(), "bench-results", "rack-footprint.json"),
  };
  const args = argv.includes("--quick") ? [...QUICK, ...argv.filter((a) => a !== "--quick")] : argv;
  for (const arg of args) {
    const [flag, value = ""] = arg.split("=", 2) as [string, string | undefined];
    if (flag === "--strict") opts.strict = true;
    else if (flag === "--source-maps") opts.sourceMaps = true;
    else if (flag === "--window") {
      const s = Number(value);
      if (!Number.isFinite(s) || s < 2 || s > 120)
        throw new Error(`--window: expected 2..120 seconds, got "${value}"`);
      opts.windowS = s;
    } else if (flag === "--warmup") {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 100)
        throw new Error(`--warmup: expected 1..100 heartbeats, got "${value}"`);
      opts.warmupBeats = n;
    } else if (flag === "--heartbeat" || flag === "--export" || flag === "--ticker") {
      durationMs(flag, value);
      if (flag === "--heartbeat") opts.heartbeat = value;
      else if (flag === "--export") opts.exportInterval = value;
      else opts.ticker = value;
    } else if (flag === "--out") opts.out = value;
    else console.error(`rack-footprint: ignoring ${arg}`);
  }
  return opts;
}

// --- /proc sampling ---------------------------------------------------------------------------------------

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcSample {
  atMs: number;
  rssBytes: number;
  /** RSS split as the kernel counts it: anonymous (heaps, stacks) and file-backed (the node binary, libraries). */
  anonBytes: number;
  fileBytes: number;
  cpuTicks: number;
}

async function sampleProc(pid: number): Promise<ProcSample> {
  const [status, stat] = await Promise.all([
    readFile(`/proc/${pid}/status`, "utf8"),
    readFile(`/proc/${pid}/stat`, "utf8"),
  ]);
  const kb = (field: string) => new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, "m").exec(status)?.[1];
  const [rssKb, anonKb, fileKb] = [kb("VmRSS"), kb("RssAnon"), kb("RssFile")];
  // Fields after "(comm)": state is field 3, utime 14 and stime 15 (man 5 proc); comm may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (
    rssKb === undefined ||
    anonKb === undefined ||
    fileKb === undefined ||
    !Number.isFinite(utime) ||
    !Number.isFinite(stime)
  ) {
    throw new Error(`cannot parse /proc/${pid}/status or /proc/${pid}/stat`);
  }
  return {
    atMs: performance.now(),
    rssBytes: Number(rssKb) * 1024,
    anonBytes: Number(anonKb) * 1024,
    fileBytes: Number(fileKb) * 1024,
    cpuTicks: utime + stime,
  };
}

interface PhaseFigures {
  rssMaxMb: number;
  rssMeanMb: number;
  anonMeanMb: number;
  fileMeanMb: number;
  cpuPct: number;
  samples: number;
  seconds: number;
}

/** Samples once a second for `windowS` seconds; CPU is the utime+stime delta over the wall-clock delta. */
async function measure(rack: SpawnedProcess, windowS: number): Promise<PhaseFigures> {
  const pid = rack.pid;
  if (pid === undefined) throw new Error("the Rack has no pid");
  const samples: ProcSample[] = [await sampleProc(pid)];
  const first = samples[0]!;
  while (samples.at(-1)!.atMs - first.atMs < windowS * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (!rack.running) throw new Error(`the Rack exited while being measured:\n${rack.output(50)}`);
    samples.push(await sampleProc(pid));
  }
  const last = samples.at(-1)!;
  const seconds = (last.atMs - first.atMs) / 1000;
  const rss = samples.map((s) => s.rssBytes / MB);
  const mean = (values: number[]) => round(values.reduce((a, b) => a + b, 0) / values.length / MB);
  return {
    rssMaxMb: round(Math.max(...rss)),
    rssMeanMb: round(rss.reduce((a, b) => a + b, 0) / rss.length),
    anonMeanMb: mean(samples.map((s) => s.anonBytes)),
    fileMeanMb: mean(samples.map((s) => s.fileBytes)),
    cpuPct: round(((last.cpuTicks - first.cpuTicks) / CLK_TCK / seconds) * 100, 3),
    samples: samples.length,
    seconds: round(seconds),
  };
}

function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

// --- the run ----------------------------------------------------------------------------------------------

interface Figure {
  name: string;
  value: number;
  unit: string;
  note: string;
}

interface StoredBeat {
  seq: number;
  stats: { mem: { heap_used_bytes: number }; messages?: { in: number } };
}

/** Waits until the Mixer has stored a heartbeat of this session with `seq >= minSeq` and the given status. */
function waitForBeat(
  h: MixerHarness,
  opts: { minSeq: number; status: "pending" | "active"; timeoutMs: number },
): Promise<StoredBeat> {
  const { minSeq, status } = opts;
  return waitFor(
    async () => {
      type Row = {
        stats: (StoredBeat["stats"] & { rack_status?: string; presence?: { seq: number } }) | null;
      };
      const res = await h.api<Row>(`/api/v1/racks/${RACK}`);
      const stats = res.status === 200 ? res.body.stats : null;
      const seq = stats?.presence?.seq ?? 0;
      return stats && stats.rack_status === status && seq >= minSeq ? { seq, stats } : undefined;
    },
    {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: `a ${status} heartbeat with seq >= ${minSeq} at the Mixer`,
    },
  );
}

const verdict = (value: number, max: number, strictlyBelow = false) =>
  (strictlyBelow ? value < max : value <= max) ? "within target" : "OVER TARGET";

async function run(opts: Options, started: { h?: MixerHarness; rack?: SpawnedProcess; state?: TempDir }) {
  const h = await MixerHarness.create({ env: { FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: opts.heartbeat } });
  started.h = h;
  const state = tempDir("rack-footprint");
  started.state = state;
  const rack = spawnBinary("fluxrig-rack", {
    label: RACK,
    // As installed, the binary runs from its shebang (`#!/usr/bin/env node`): no source-map support, which reads and
    // keeps the map of each file loaded (6 to 7 MB of RSS, bench/README.md "The Rack's footprint").
    nodeArgs: opts.sourceMaps ? ["--enable-source-maps"] : [],
    env: {
      FLUXRIG_RACK_NAME: RACK,
      FLUXRIG_RACK_STATE_DIR: state.path,
      FLUXRIG_NATS_URL: h.nats.url,
      FLUXRIG_TELEMETRY_OTLP_ENDPOINT: `${h.apiUrl}/v1/metrics`,
      FLUXRIG_TELEMETRY_AUTH_TOKEN: TEST_TOKEN,
      FLUXRIG_TELEMETRY_EXPORT_INTERVAL: opts.exportInterval,
      // Until the Mixer's first hello reply names the interval.
      FLUXRIG_HEARTBEAT_INTERVAL: opts.heartbeat,
    },
  });
  started.rack = rack;

  const notStarted = await rack.waitForJson(
    { msg: /^telemetry: not started/, state: "pending" },
    { timeoutMs: 30_000 },
  );
  if (JSON.stringify(notStarted.loaded_subsystems) !== "[]")
    throw new Error("a pending Rack loaded a subsystem");
  // Start-up work (module loading, the first GCs) is not idle: sample once the Mixer has stored a few heartbeats.
  const beatMs = durationMs("--heartbeat", opts.heartbeat);
  const warmupMs = (opts.warmupBeats + 2) * beatMs + 30_000;
  const pendingBeat = await waitForBeat(h, {
    minSeq: opts.warmupBeats,
    status: "pending",
    timeoutMs: warmupMs,
  });
  console.error(`rack-footprint: pending, sampling ${opts.windowS} s`);
  const pending = await measure(rack, opts.windowS);

  // Active: a scenario naming the Rack adopts it and deploys a ticker (and a counter it feeds); OTLP export runs.
  const yaml = [
    "meta: { name: footprint, version: 1 }",
    `racks: [{ name: ${RACK} }]`,
    "gears:",
    `  - { name: tick, type: ticker, deploy: ${RACK}, config: { interval: ${opts.ticker} } }`,
    `  - { name: count, type: counter, deploy: ${RACK}, config: { every: 1000 } }`,
    "wires: [{ from: tick.out, to: count.in }]",
  ].join("\n");
  const imported = await h.api("/api/v1/scenarios?activate=true", {
    method: "POST",
    body: yaml,
    headers: { "content-type": "application/yaml" },
  });
  if (imported.status >= 300)
    throw new Error(`scenario import: ${imported.status} ${JSON.stringify(imported.body)}`);
  await rack.waitForJson({ msg: "gears: scenario applied", scenario: "footprint" }, { timeoutMs: 30_000 });
  await rack.waitForJson({ msg: "telemetry: started" }, { timeoutMs: 30_000 });
  await waitFor(async () => (await h.api(`/api/v1/racks/${RACK}/metrics`)).status === 200, {
    timeoutMs: 60_000,
    intervalMs: 250,
    message: "an OTLP export at the Mixer",
  });
  const activeStart = await waitForBeat(h, { minSeq: 1, status: "active", timeoutMs: warmupMs });
  const activeBeat = await waitForBeat(h, {
    minSeq: activeStart.seq + opts.warmupBeats,
    status: "active",
    timeoutMs: warmupMs,
  });
  if ((activeBeat.stats.messages?.in ?? 0) === 0) throw new Error("the ticker's messages are not counted");
  console.error(`rack-footprint: active, sampling ${opts.windowS} s`);
  const active = await measure(rack, opts.windowS);

  const heap = (beat: StoredBeat) => `heap used ${round(beat.stats.mem.heap_used_bytes / MB)} MB`;
  const setup = `heartbeat ${opts.heartbeat}; ${pending.samples} samples over ${pending.seconds} s after ${opts.warmupBeats} heartbeats; ${heap(pendingBeat)}`;
  const activeSetup = `heartbeat ${opts.heartbeat}, ticker ${opts.ticker}, OTLP export ${opts.exportInterval}; ${active.samples} samples over ${active.seconds} s after ${opts.warmupBeats} heartbeats; ${heap(activeBeat)}`;
  /** RSS and CPU of one phase against its targets. */
  const phaseFigures = (phase: "pending" | "active", m: PhaseFigures, about: string): Figure[] => {
    const rssTargetMb = TARGETS[`${phase}RssMb`];
    return [
      {
        name: `${phase} RSS (max)`,
        value: m.rssMaxMb,
        unit: "MB",
        note: `target <= ${rssTargetMb} MB: ${verdict(m.rssMaxMb, rssTargetMb)}; mean ${m.rssMeanMb} MB (anonymous ${m.anonMeanMb}, file-backed ${m.fileMeanMb}); ${about}`,
      },
      {
        name: `${phase} CPU`,
        value: m.cpuPct,
        unit: "% of a core",
        note: `target < ${TARGETS.cpuPct}%: ${verdict(m.cpuPct, TARGETS.cpuPct, true)}; utime+stime over ${m.seconds} s; ${about}`,
      },
    ];
  };
  const figures = [
    ...phaseFigures("pending", pending, setup),
    ...phaseFigures("active", active, activeSetup),
  ];
  const over = figures.filter((f) => f.note.includes("OVER TARGET")).map((f) => f.name);
  return { figures, over };
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  // A hard bound on the whole run: two windows, two warm-ups, the first export, and room for a loaded machine.
  const beatMs = durationMs("--heartbeat", opts.heartbeat);
  const deadlineMs =
    2 * opts.windowS * 1000 +
    2 * (opts.warmupBeats + 2) * beatMs +
    durationMs("--export", opts.exportInterval) +
    120_000;
  const started: { h?: MixerHarness; rack?: SpawnedProcess; state?: TempDir } = {};
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      run(opts, started),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`gave up after ${deadlineMs / 1000} s`)), deadlineMs);
      }),
    ]);
    const result = { suite: "rack-footprint", figures: outcome.figures };
    await mkdir(dirname(opts.out), { recursive: true });
    await writeFile(opts.out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    if (outcome.over.length > 0) {
      console.error(`rack-footprint: OVER TARGET: ${outcome.over.join(", ")}`);
      return opts.strict ? 1 : 0;
    }
    return 0;
  } catch (error) {
    console.error(
      `rack-footprint: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    if (started.rack) console.error(`--- ${RACK} (last lines)\n${started.rack.output(40)}`);
    if (started.h?.mixer) console.error(`--- fluxrig-mixer (last lines)\n${started.h.mixer.output(40)}`);
    return 1;
  } finally {
    clearTimeout(timer);
    // Every process stops, in reverse order of start, even after a failure or the deadline.
    await started.rack?.stop().catch(() => undefined);
    await started.h?.[Symbol.asyncDispose]().catch(() => undefined);
    await started.state?.remove().catch(() => undefined);
    await killAllStarted();
  }
}

process.exitCode = await main();
