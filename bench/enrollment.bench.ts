// Enrollment end to end: signed hellos over real NATS into the built fluxrig-mixer and its real DuckDB file.
//
// Run: pnpm exec tsx --conditions=@fluxrig/source bench/enrollment.bench.ts [--racks 10000] [--concurrency 256]
//      [--connections 4] [--fakes 5000] [--max-pending 50] [--phase-timeout 300] [--mixer-node-args="--cpu-prof ..."]
// Needs the built binary (pnpm build, or pnpm bench which builds first). Writes bench-results/enrollment.json.

import { createPublicKey, verify } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { killAllStarted, MixerHarness, ScriptedRack } from "@fluxrig/testkit";

// The root package depends on the testkit only: types come through it, passports are checked with node:crypto.
type NatsConnection = Awaited<ReturnType<MixerHarness["client"]>>;
type HelloReply = Awaited<ReturnType<ScriptedRack["sendRaw"]>>;
type PassportEnvelope = NonNullable<HelloReply["passport"]>;

interface Figure {
  name: string;
  value: number;
  unit: string;
  note: string;
}

interface PhaseResult {
  replies: Array<HelloReply | undefined>;
  latenciesMs: number[];
  elapsedMs: number;
  failures: Map<string, number>;
  timedOut: boolean;
  /** The Mixer's CPU time over the phase, when /proc tells it. */
  mixerCpuMs?: number;
}

const { values: args } = parseArgs({
  options: {
    racks: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "256" },
    connections: { type: "string", default: "4" },
    fakes: { type: "string", default: "5000" },
    "max-pending": { type: "string", default: "50" },
    "phase-timeout": { type: "string", default: "300" },
    /** e.g. --mixer-node-args="--cpu-prof --cpu-prof-dir=DIR" to profile the Mixer under this load. */
    "mixer-node-args": { type: "string", default: "" },
  },
  allowPositionals: false,
});

const RACKS = positiveInt("racks");
const CONCURRENCY = positiveInt("concurrency");
const CONNECTIONS = positiveInt("connections");
const FAKES = positiveInt("fakes");
const MAX_PENDING = positiveInt("max-pending");
const PHASE_TIMEOUT_MS = positiveInt("phase-timeout") * 1000;

function positiveInt(name: keyof typeof args): number {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

/** One hello to send: the Rack it is from (bound to one of the shared connections), with its passport or not. */
interface Outgoing {
  rack: ScriptedRack;
  withPassport: boolean;
}

const utf8 = new TextEncoder();

function outgoing(racks: ScriptedRack[], withPassport: boolean): Outgoing[] {
  return racks.map((rack) => ({ rack, withPassport }));
}

/**
 * Signed just before its phase starts (a hello is only fresh for clock_skew). In a fleet every Rack signs on its own
 * CPU; here the load generator shares two cores with the Mixer, so its signing stays out of the timed window.
 */
function helloBytes(item: Outgoing): Uint8Array {
  const passport = item.withPassport ? item.rack.passport : undefined;
  return utf8.encode(JSON.stringify(item.rack.buildHello(passport ? { passport } : {})));
}

function makeRacks(conns: NatsConnection[], prefix: string, count: number): ScriptedRack[] {
  return Array.from(
    { length: count },
    (_, i) => new ScriptedRack(conns[i % conns.length]!, `${prefix}-${i}`),
  );
}

/** The passport's Ed25519 signature under the Cluster Key and its payload, checked with node:crypto alone. */
function passportVerifies(env: PassportEnvelope, clusterKey: string, rack: ScriptedRack): boolean {
  try {
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: clusterKey }, format: "jwk" });
    const payload = Buffer.from(env.payload, "base64url");
    if (!verify(null, payload, key, Buffer.from(env.sig, "base64url"))) return false;
    const p = JSON.parse(payload.toString("utf8")) as Record<string, unknown>;
    return (
      p.name === rack.name &&
      p.rack_public_key === rack.publicKey &&
      p.status === "active" &&
      Date.parse(String(p.expires_at)) > Date.now()
    );
  } catch {
    return false;
  }
}

/**
 * Sends every hello with at most CONCURRENCY in flight (each Rack on its own shared connection) and records each
 * reply and its latency. Stops taking new work once the phase deadline passes, so the loop is bounded.
 */
async function runPhase(work: Outgoing[]): Promise<PhaseResult> {
  const replies: Array<HelloReply | undefined> = new Array(work.length);
  const latenciesMs: number[] = [];
  const failures = new Map<string, number>();
  const fail = (key: string) => failures.set(key, (failures.get(key) ?? 0) + 1);
  let next = 0;
  let timedOut = false;
  const signed = work.map(helloBytes);
  const started = performance.now();
  const deadline = started + PHASE_TIMEOUT_MS;
  const worker = async () => {
    for (;;) {
      const i = next++;
      const item = work[i];
      if (item === undefined) return;
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      const bytes = signed[i]!;
      const t0 = performance.now();
      try {
        replies[i] = await item.rack.sendRaw(bytes);
        latenciesMs.push(performance.now() - t0);
      } catch (err) {
        fail((err as Error).message.slice(0, 80));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, work.length) }, worker));
  return { replies, latenciesMs, elapsedMs: performance.now() - started, failures, timedOut };
}

/** CPU time (user + system) a process has used, in ms, from /proc; undefined where there is no /proc. */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Runs a phase and measures the Mixer's CPU time over it: a figure the other load on the machine cannot skew. */
async function measured(h: MixerHarness, work: Outgoing[]): Promise<PhaseResult> {
  const before = cpuMs(h.mixer?.pid);
  const result = await runPhase(work);
  const after = cpuMs(h.mixer?.pid);
  return before === undefined || after === undefined ? result : { ...result, mixerCpuMs: after - before };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Rate, p50 and p99 of one phase; `ok` counts the replies that passed the phase's own check. */
function phaseFigures(
  prefix: string,
  label: string,
  result: PhaseResult,
  ok: number,
  note: string,
): Figure[] {
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  const failed = [...result.failures.entries()].map(([k, n]) => `${n}x ${k}`).join("; ");
  const extra = `${note}${failed ? `; failures: ${failed}` : ""}${result.timedOut ? "; PHASE TIMED OUT" : ""}`;
  return [
    {
      name: `${prefix}.rate`,
      value: round((ok / result.elapsedMs) * 1000),
      unit: `${label}/s`,
      note: `${ok}/${result.replies.length} in ${round(result.elapsedMs / 1000, 2)} s; ${extra}`,
    },
    { name: `${prefix}.p50`, value: round(percentile(sorted, 50), 2), unit: "ms", note: "request to reply" },
    { name: `${prefix}.p99`, value: round(percentile(sorted, 99), 2), unit: "ms", note: "request to reply" },
    ...(result.mixerCpuMs === undefined
      ? []
      : [
          {
            name: `${prefix}.mixer_cpu`,
            value: round((result.mixerCpuMs * 1000) / Math.max(1, result.replies.length), 0),
            unit: "us/hello",
            note: "fluxrig-mixer user+system CPU per hello sent (from /proc, 10 ms ticks)",
          },
        ]),
  ];
}

function printTable(figures: Figure[]): void {
  const rows = figures.map((f) => [f.name, `${f.value} ${f.unit}`, f.note]);
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(`${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padStart(widths[1]!)}  ${r[2]}`);
}

/** Figures gathered so far: written even when a later phase fails, so a partial run still reports something. */
const figures: Figure[] = [];

function record(...more: Figure[]): void {
  figures.push(...more);
  printTable(more);
}

async function main(): Promise<void> {
  const setup = `${RACKS} Racks, ${CONCURRENCY} in flight over ${CONNECTIONS} connections`;
  await using h = await MixerHarness.create({
    env: {
      FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true",
      FLUXRIG_ENROLLMENT_MAX_PENDING: String(MAX_PENDING),
    },
    nodeArgs: (args["mixer-node-args"] ?? "").split(" ").filter(Boolean),
  });
  const conns: NatsConnection[] = [];
  for (let i = 0; i < CONNECTIONS; i++) conns.push(await h.client({ lean: true }));
  console.log(`enrollment bench: ${setup}; generating keys...`);
  const racks = makeRacks(conns, "bench-rack", RACKS);
  const fakes = makeRacks(conns, "fake-rack", FAKES);

  // 1. New Racks, auto_adopt: each must come back active with a passport that verifies against the Cluster Key.
  console.log("phase 1: enrollment");
  const enroll = await measured(h, outgoing(racks, false));
  let verified = 0;
  enroll.replies.forEach((reply, i) => {
    const rack = racks[i]!;
    const good =
      reply?.status === "active" &&
      reply.passport !== undefined &&
      passportVerifies(reply.passport, reply.cluster_public_key, rack);
    if (good) verified++;
    else if (reply) {
      const code = reply.passport ? "passport did not verify" : (reply.error?.code ?? reply.status);
      enroll.failures.set(code, (enroll.failures.get(code) ?? 0) + 1);
    }
  });
  const enrollNote = `new Racks, auto_adopt, passports verified; ${setup}`;
  record(...phaseFigures("enroll", "hellos", enroll, verified, enrollNote));

  // 2. The same Racks again with their passports (session recovery): same entity, same passport back.
  console.log("phase 2: session recovery");
  const expected = racks.map((r) => ({ entityId: r.entityId, payload: r.passport?.payload }));
  const recover = await measured(h, outgoing(racks, true));
  const recovered = recover.replies.filter(
    (reply, i) =>
      reply?.status === "active" &&
      reply.entity_id === expected[i]!.entityId &&
      reply.passport?.payload === expected[i]!.payload,
  ).length;
  record(...phaseFigures("recover", "hellos", recover, recovered, "known Racks presenting their passport"));

  // 3. A Mixer restart that loads every Rack, then the thundering herd: all of them at once, as after a bus restart.
  console.log("phase 3: restart and thundering herd");
  expect0((await h.stop()).code, "mixer exit code");
  const restartStarted = performance.now();
  await h.start({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false" });
  record({
    name: "restart.ready",
    value: round(performance.now() - restartStarted, 0),
    unit: "ms",
    note: `process start to "mixer ready" with ${RACKS} Racks in the registry`,
  });
  const herd = await measured(h, outgoing(racks, true));
  const herdOk = herd.replies.filter(
    (reply, i) => reply?.status === "active" && reply.entity_id === expected[i]!.entityId,
  ).length;
  record(...phaseFigures("herd", "hellos", herd, herdOk, "every known Rack re-hellos after a restart"));

  // 4. A flood of fake Racks against max_pending (auto_adopt off): the first fill the cap, the rest are refused.
  console.log("phase 4: flood of fake hellos");
  const flood = await measured(h, outgoing(fakes, false));
  const refused = flood.replies.filter((reply) => reply?.error?.code === "too_many_pending").length;
  const pending = flood.replies.filter((reply) => reply?.status === "pending").length;
  const floodNote = `${FAKES} fake Racks, max_pending ${MAX_PENDING}: ${pending} pending, ${refused} too_many_pending`;
  record(...phaseFigures("flood", "refusals", flood, refused, floodNote));

  expect0((await h.stop()).code, "mixer exit code");
}

function expect0(code: number | null, what: string): void {
  if (code !== 0) throw new Error(`${what}: ${code}`);
}

let failure: string | undefined;
try {
  await main();
} catch (err) {
  failure = String((err as Error).message ?? err).split("\n")[0];
  console.error("enrollment bench failed:", failure);
  process.exitCode = 1;
} finally {
  mkdirSync("bench-results", { recursive: true });
  const result = { suite: "enrollment", figures, ...(failure ? { error: failure } : {}) };
  writeFileSync("bench-results/enrollment.json", `${JSON.stringify(result, null, 2)}\n`);
  console.log("\nenrollment figures (bench-results/enrollment.json):");
  printTable(figures);
  // Whatever the harness did not stop (a failure mid-phase) is stopped here; the testkit's exit hooks back this up.
  await killAllStarted().catch((err: unknown) => console.error("cleanup failed:", err));
}
