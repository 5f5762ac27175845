// Readings taken at the edges of a measurement window, and what happened between two of them: rates and CPU.
import { readFileSync } from "node:fs";
import { cpuMs, schedMs, selfCpuMs } from "./proc-stats.js";
import type { SwarmContext } from "./swarm-context.js";
import { within } from "./waits.js";

export interface Reading {
  /** performance.now() when the Mixer's counters were read (the reply's arrival). */
  at: number;
  sent: number;
  shed: number;
  noop: number;
  /** Date.now() of the no-op subscriber's report of `noop`. */
  noopT: number;
  accepted: number;
  /** Every heartbeat.dropped.* counter summed. */
  dropped: number;
  offline: number;
  slowConsumers: number;
  mixerCpu: number | undefined;
  /** The Mixer's main thread only: its event loop. */
  mixerMainCpu: number | undefined;
  /** The Mixer's main thread: ms on a CPU and ms runnable but waiting for one. */
  mixerSched: { runMs: number; waitMs: number } | undefined;
  generatorSched: { runMs: number; waitMs: number } | undefined;
  natsCpu: number | undefined;
  noopCpu: number | undefined;
  selfCpu: number;
  /** Ticks of the whole machine (/proc/stat), to see load from outside the benchmark. */
  machine: MachineTicks;
}

export interface Window {
  seconds: number;
  sentRate: number;
  shedRate: number;
  noopRate: number;
  acceptedRate: number;
  /** Heartbeats sent but not accepted, as a fraction of those sent. */
  lossFraction: number;
  dropped: number;
  offline: number;
  slowConsumers: number;
  /** CPU in % of one core over the window. */
  cpu: {
    mixer: number;
    /** The Mixer's event loop thread: near 100% means the Mixer itself is the limit. */
    mixerMain: number;
    nats: number;
    noop: number;
    generator: number;
    /** Every core's busy time: 200% is a fully busy 2-core machine. */
    machine: number;
    /** Interrupts and softirqs (loopback TCP is processed there), counted in no process. */
    irq: number;
    /** Time the hypervisor gave to other guests. */
    steal: number;
    /** Busy time of processes other than ours: other work on this shared machine. */
    others: number;
  };
  /** The Mixer's event loop thread, in % of the window: on a CPU, waiting for a CPU (starved), neither (idle or blocked). */
  mixerLoop: { run: number; wait: number; idle: number };
  /** The generator's main thread waiting for a CPU, in % of the window. */
  generatorWait: number;
  /** Mixer CPU per accepted heartbeat, in microseconds. */
  mixerUsPerHeartbeat: number;
}

interface MachineTicks {
  busy: number;
  irq: number;
  steal: number;
  total: number;
}

function machineTicks(): MachineTicks {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    // user nice system idle iowait irq softirq steal
    const t = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = t.reduce((a, b) => a + b, 0);
    return {
      busy: total - (t[3] ?? 0) - (t[4] ?? 0),
      irq: (t[5] ?? 0) + (t[6] ?? 0),
      steal: t[7] ?? 0,
      total,
    };
  } catch {
    return { busy: Number.NaN, irq: Number.NaN, steal: Number.NaN, total: Number.NaN };
  }
}

/** Reads every counter at once; the Mixer's counters come from `GET /api/v1/cluster`, nats-server's from /varz. */
export async function takeReading(ctx: SwarmContext): Promise<Reading> {
  const others = Promise.all([
    within(
      ctx.mut.varz().catch(() => ({ slow_consumers: Number.NaN })),
      5_000,
      { slow_consumers: Number.NaN },
    ),
    ctx.noop.freshCount(),
  ]);
  const mixerCpu = cpuMs(ctx.mut.mixerPid);
  const mixerMainCpu = cpuMs(ctx.mut.mixerPid, true);
  const mixerSched = schedMs(ctx.mut.mixerPid);
  const generatorSched = schedMs(process.pid);
  const natsCpu = cpuMs(ctx.mut.nats.pid);
  const noopCpu = cpuMs(ctx.noop.pid);
  const selfCpu = selfCpuMs();
  const machine = machineTicks();
  const t0 = performance.now();
  const sent0 = ctx.pump.sent;
  const shed0 = ctx.pump.shed;
  const cluster = await ctx.mut.cluster();
  // The Mixer read its counters somewhere inside the request: take our side at the request's midpoint.
  const t1 = performance.now();
  const sent = (sent0 + ctx.pump.sent) / 2;
  const shed = (shed0 + ctx.pump.shed) / 2;
  const [varz, noop] = await others;
  let dropped = 0;
  for (const [k, v] of Object.entries(cluster.counters)) if (k.startsWith("heartbeat.dropped.")) dropped += v;
  return {
    at: (t0 + t1) / 2,
    sent,
    shed,
    noop: noop.count,
    noopT: noop.t,
    accepted: cluster.counters["heartbeat.accepted"] ?? 0,
    dropped,
    offline: cluster.counters["presence.offline"] ?? 0,
    slowConsumers: varz.slow_consumers,
    mixerCpu,
    mixerMainCpu,
    mixerSched,
    generatorSched,
    natsCpu,
    noopCpu,
    selfCpu,
    machine,
  };
}

function loopShares(
  a: { runMs: number; waitMs: number } | undefined,
  b: { runMs: number; waitMs: number } | undefined,
  ms: number,
): { run: number; wait: number; idle: number } {
  if (a === undefined || b === undefined) return { run: Number.NaN, wait: Number.NaN, idle: Number.NaN };
  const run = ((b.runMs - a.runMs) / ms) * 100;
  const wait = ((b.waitMs - a.waitMs) / ms) * 100;
  return { run, wait, idle: Math.max(0, 100 - run - wait) };
}

function pct(a: number | undefined, b: number | undefined, ms: number): number {
  return a === undefined || b === undefined ? Number.NaN : ((b - a) / ms) * 100;
}

/** Rates and CPU between two readings. */
export function between(a: Reading, b: Reading): Window {
  const ms = b.at - a.at;
  const per = (x: number) => (x / ms) * 1000;
  const sent = b.sent - a.sent;
  const accepted = b.accepted - a.accepted;
  const ticks = Math.max(1, b.machine.total - a.machine.total);
  const share = (x: number, y: number) => ((y - x) / ticks) * 100 * cpuCount();
  const cpu = {
    mixer: pct(a.mixerCpu, b.mixerCpu, ms),
    mixerMain: pct(a.mixerMainCpu, b.mixerMainCpu, ms),
    nats: pct(a.natsCpu, b.natsCpu, ms),
    noop: pct(a.noopCpu, b.noopCpu, ms),
    generator: pct(a.selfCpu, b.selfCpu, ms),
    machine: share(a.machine.busy, b.machine.busy),
    irq: share(a.machine.irq, b.machine.irq),
    steal: share(a.machine.steal, b.machine.steal),
    others: Number.NaN,
  };
  // Tick sampling makes the difference a few % noisy; below zero it only means "none".
  cpu.others = Math.max(
    0,
    cpu.machine - cpu.irq - cpu.steal - cpu.mixer - cpu.nats - cpu.noop - cpu.generator,
  );
  return {
    seconds: ms / 1000,
    sentRate: per(sent),
    shedRate: per(b.shed - a.shed),
    noopRate: b.noopT > a.noopT ? ((b.noop - a.noop) / (b.noopT - a.noopT)) * 1000 : Number.NaN,
    acceptedRate: per(accepted),
    lossFraction: sent > 0 ? Math.max(0, (sent - accepted) / sent) : 0,
    dropped: b.dropped - a.dropped,
    offline: b.offline - a.offline,
    slowConsumers: b.slowConsumers - a.slowConsumers,
    cpu,
    mixerLoop: loopShares(a.mixerSched, b.mixerSched, ms),
    generatorWait: loopShares(a.generatorSched, b.generatorSched, ms).wait,
    mixerUsPerHeartbeat:
      accepted > 0 ? (((b.mixerCpu ?? 0) - (a.mixerCpu ?? 0)) * 1000) / accepted : Number.NaN,
  };
}

let cores: number | undefined;
export function cpuCount(): number {
  if (cores === undefined) {
    try {
      cores =
        readFileSync("/proc/stat", "utf8")
          .split("\n")
          .filter((l) => /^cpu\d+ /.test(l)).length || 1;
    } catch {
      cores = 1;
    }
  }
  return cores;
}

/** CPU of each party as `mixer 97% nats 31% ...`, for notes. */
export function cpuText(w: Window): string {
  const c = w.cpu;
  const l = w.mixerLoop;
  const f = (v: number) => (Number.isNaN(v) ? "?" : `${Math.round(v)}%`);
  return (
    `CPU (% of one core): mixer ${f(c.mixer)}, nats-server ${f(c.nats)}, generator ${f(c.generator)}, ` +
    `no-op ${f(c.noop)}, irq/softirq ${f(c.irq)}, steal ${f(c.steal)}, other processes ${f(c.others)}; ` +
    `machine ${f(c.machine)} of ${cpuCount() * 100}% busy; Mixer event-loop thread: on a CPU ${f(l.run)}, ` +
    `runnable but waiting for a CPU ${f(l.wait)}, idle or blocked ${f(l.idle)}; generator waiting for a CPU ${f(w.generatorWait)}`
  );
}

/** A plain reading of what held the Mixer back over a window, from its event loop's scheduler times. */
export function limitText(w: Window): string {
  const l = w.mixerLoop;
  const f = (v: number) => `${Math.round(v)}%`;
  if (Number.isNaN(l.run)) return "no scheduler times for the Mixer";
  if (l.run >= 85) return `the Mixer's event loop was saturated (on a CPU ${f(l.run)} of the window)`;
  if (l.wait >= 15)
    return (
      `the Mixer's event loop was starved of CPU: runnable but waiting ${f(l.wait)} of the window ` +
      `(machine ${f(w.cpu.machine)} busy, other processes ${f(w.cpu.others)})`
    );
  return `the Mixer's event loop was on a CPU ${f(l.run)} and waiting ${f(l.wait)}: it was not the bottleneck here`;
}
