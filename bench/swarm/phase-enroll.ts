// Phase 1: every Rack enrolls with a signed hello and is adopted at once (auto_adopt); each starts heartbeating.
import { loadavg } from "node:os";
import { ascending, type Figure, latencyFigures, round } from "./figures.js";
import type { Window } from "./load-meter.js";
import { cpuMs, rssBytes } from "./proc-stats.js";
import { bar } from "./progress-line.js";
import { type HelloReply, helloBytes, machineIdOf, type SwarmContext } from "./swarm-context.js";
import { sleep } from "./waits.js";

const ATTEMPTS = 3;

export interface EnrollOutcome {
  active: number;
  elapsedMs: number;
  /** CPU over the enrollment, in ms (NaN when unknown): Mixer, nats-server, this generator. */
  cpuMs: { mixer: number; nats: number; generator: number };
  /** Heartbeats the Mixer accepted over the enrollment (from the Racks already in). */
  heartbeats: number;
}

/** Checks an active reply: a passport, an entity id whose MachineID field is the MachineID the reply names. */
function goodActive(reply: HelloReply): reply is HelloReply & { entity_id: string; machine_id: number } {
  return (
    reply.status === "active" &&
    reply.passport !== undefined &&
    reply.entity_id !== undefined &&
    reply.machine_id !== undefined &&
    machineIdOf(reply.entity_id) === reply.machine_id
  );
}

/**
 * One Rack's enrollment. Open bus: one hello on its shared connection. jwt: the bootstrap hello on a shared
 * bootstrap connection, then its own connection (key, JWT, nonce signature). With `--hellos 1` the bootstrap hello
 * carries a reply key and its reply, signature checked, holds the full reply sealed to it: done. With `--hellos 2`
 * the minimal reply carries the JWT only, and the full hello follows on the Rack's own connection.
 */
async function enrollOne(ctx: SwarmContext, i: number): Promise<HelloReply> {
  const { fleet } = ctx;
  const sealed = ctx.opts.auth === "jwt" && ctx.opts.hellos === 1;
  const first = await fleet.racks[i]!.sendRaw(helloBytes(fleet, i, false, sealed));
  if (ctx.opts.auth === "none") return first;
  if (first.bus_credential === undefined) return first;
  await fleet.connectOwn(i);
  if (sealed) return first;
  return fleet.helloOwn(i, helloBytes(fleet, i, false));
}

export async function enrollPhase(ctx: SwarmContext): Promise<EnrollOutcome> {
  const { fleet, opts, progress } = ctx;
  progress.phase(`enrolling ${opts.racks} Racks (${opts.concurrency} hellos in flight)`);
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  const fail = (why: string) => failures.set(why, (failures.get(why) ?? 0) + 1);
  let next = 0;
  let active = 0;
  let retries = 0;
  /** Refused with registry_full: past the MachineID range (1..65535 less the Mixer's and Snake's), by design. */
  let full = 0;
  const started = performance.now();
  const deadline = started + opts.enrollTimeoutMs;
  const cpu0 = cpuMs(ctx.mut.mixerPid);
  const nats0 = cpuMs(ctx.mut.nats.pid);
  const gen0 = process.cpuUsage();
  const load0 = loadavg()[0]!;
  const accepted0 = (await ctx.mut.cluster()).counters["heartbeat.accepted"] ?? 0;

  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= fleet.size || performance.now() > deadline) return;
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const t0 = performance.now();
        try {
          const reply = await enrollOne(ctx, i);
          if (goodActive(reply)) {
            latencies.push(performance.now() - t0);
            fleet.adopted(i, reply.entity_id, reply.machine_id);
            fleet.live[i] = 1;
            active++;
            break;
          }
          if (reply.error?.code === "registry_full") {
            full++;
            break;
          }
          fail(reply.error?.code ?? `status ${reply.status}`);
        } catch (err) {
          fail((err as Error).message.slice(0, 60));
        }
        if (attempt < ATTEMPTS) {
          retries++;
          await sleep(1_000 * attempt);
        }
      }
      progress.update(
        `${bar(next, fleet.size)} ${active} active, ${round((active / (performance.now() - started)) * 1000, 0)} Racks/s`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, fleet.size) }, worker));
  const elapsedMs = performance.now() - started;
  const cpu1 = cpuMs(ctx.mut.mixerPid);
  const nats1 = cpuMs(ctx.mut.nats.pid);
  const gen = process.cpuUsage(gen0);
  const load1 = loadavg()[0]!;
  const accepted1 = (await ctx.mut.cluster()).counters["heartbeat.accepted"] ?? 0;

  // The Mixer's own view: every Rack active in the registry (read once more after a flush interval if not yet).
  let counts = (await ctx.mut.cluster()).counts;
  if ((counts.active ?? 0) < active) {
    await sleep(opts.flushIntervalMs + 500);
    counts = (await ctx.mut.cluster()).counts;
  }
  const sorted = ascending(latencies);
  const failed = [...failures].map(([k, n]) => `${n}x ${k}`).join("; ");
  const mixerCpu =
    cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / Math.max(1, active) : Number.NaN;
  const rss = rssBytes(ctx.mut.mixerPid);
  const natsCpu =
    nats0 !== undefined && nats1 !== undefined ? (nats1 - nats0) / Math.max(1, active) : Number.NaN;
  const genCpu = (gen.user + gen.system) / 1000 / Math.max(1, active);
  const flow =
    opts.auth === "jwt"
      ? opts.hellos === 1
        ? `bus auth jwt, one hello: bootstrap hello with a reply key on ${opts.connections} shared bootstrap ` +
          `connections -> full reply sealed to it (JWT, passport) -> own connection (nonce signed), reply ` +
          `signature checked (${fleet.badSignatures} bad)`
        : `bus auth jwt, two hellos: bootstrap hello on ${opts.connections} shared bootstrap connections -> JWT -> ` +
          `own connection (nonce signed) -> full hello, reply signature checked (${fleet.badSignatures} bad)`
      : "open bus (auth none)";
  const where =
    `CPU per Rack: Mixer ${round(mixerCpu * 1000, 0)} us, nats-server ${round(natsCpu * 1000, 0)} us, ` +
    `generator ${round(genCpu * 1000, 0)} us; load average ${round(load0, 1)} before, ${round(load1, 1)} after`;
  ctx.book.add(
    {
      name: "enroll.rate",
      value: round((active / elapsedMs) * 1000, 0),
      unit: "Racks/s",
      note:
        `${active}/${fleet.size} new Racks active with a passport in ${round(elapsedMs / 1000, 2)} s (signed hello -> ` +
        `auto_adopt -> active); registry says ${counts.active ?? 0} active; ${opts.concurrency} hellos in flight ` +
        `over ${opts.connections} connections, adopted Racks heartbeating meanwhile; retries ${retries}` +
        `${failed ? `; failures: ${failed}` : ""}; ${where}; ${flow}; ${ctx.command}`,
    },
    {
      name: "enroll.mixer_cpu_per_rack",
      value: round(mixerCpu * 1000, 0),
      unit: "us",
      note:
        `fluxrig-mixer user+system CPU over the enrollment divided by the Racks enrolled (heartbeats of those ` +
        `already in included); ${flow}. jwt minus none, run on the same machine, is the cost of the bootstrap ` +
        `hello and the credentials issued`,
    },
    {
      name: "enroll.nats_cpu_per_rack",
      value: round(natsCpu * 1000, 0),
      unit: "us",
      note:
        `nats-server user+system CPU (/proc) over the enrollment divided by the Racks enrolled: connections ` +
        `authenticated (jwt: each Rack's own, JWT and nonce signature checked), hellos and replies routed, ` +
        `heartbeats of those already in; ${flow}`,
    },
    {
      name: "enroll.generator_cpu_per_rack",
      value: round(genCpu * 1000, 0),
      unit: "us",
      note:
        `this benchmark process's CPU (process.cpuUsage) over the enrollment per Rack: hello signing, reply ` +
        `checks, sealing keys, nonce signatures, its heartbeat pump; on the same cores as the Mixer and nats-server`,
    },
    ...latencyFigures("enroll.", sorted, { digits: 1, note: "hello request to active reply" }),
    {
      name: "enroll.mixer_rss",
      value: round((rss ?? Number.NaN) / 1048576, 1),
      unit: "MB",
      note: `fluxrig-mixer VmRSS right after enrolling ${active} Racks`,
    },
  );
  if (full > 0) {
    ctx.book.add({
      name: "enroll.registry_full",
      value: full,
      unit: "Racks",
      note:
        `refused with registry_full once the 16-bit MachineID range was used up (SPEC §4): one cluster holds at ` +
        `most ${active} Racks here; the rest of the run uses those ${active}`,
    });
  }
  if (active + full < fleet.size) throw new Error(`only ${active}/${fleet.size} Racks enrolled (${failed})`);
  return {
    active,
    elapsedMs,
    cpuMs: {
      mixer: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : Number.NaN,
      nats: nats0 !== undefined && nats1 !== undefined ? nats1 - nats0 : Number.NaN,
      generator: (gen.user + gen.system) / 1000,
    },
    heartbeats: accepted1 - accepted0,
  };
}

/**
 * The enrollment's CPU per Rack less the heartbeats of the Racks already in: each party's CPU over the enrollment
 * minus the heartbeats accepted meanwhile at that party's cost per heartbeat in the steady window. A slower enrollment
 * takes more heartbeats per Rack enrolled (about N/2 x its duration in all), which would otherwise be charged to it.
 */
export function enrollNetFigures(ctx: SwarmContext, e: EnrollOutcome, steady: Window): Figure[] {
  const rate = steady.acceptedRate;
  const perBeatUs = (pct: number) => (rate > 0 ? (pct / 100) * 1e6 * (1 / rate) : Number.NaN);
  const net = (cpuMs: number, pct: number) =>
    round((cpuMs * 1000 - e.heartbeats * perBeatUs(pct)) / Math.max(1, e.active), 0);
  const how =
    `${e.heartbeats} heartbeats accepted during the ${round(e.elapsedMs / 1000, 1)} s enrollment, charged at the ` +
    `steady window's cost per heartbeat (Mixer ${round(perBeatUs(steady.cpu.mixer), 1)} us, nats-server ` +
    `${round(perBeatUs(steady.cpu.nats), 1)} us, generator ${round(perBeatUs(steady.cpu.generator), 1)} us) and taken off`;
  return [
    {
      name: "enroll.mixer_cpu_per_rack_net",
      value: net(e.cpuMs.mixer, steady.cpu.mixer),
      unit: "us",
      note: `fluxrig-mixer CPU per enrolled Rack without the heartbeats of those already in: ${how}; ${ctx.command}`,
    },
    {
      name: "enroll.nats_cpu_per_rack_net",
      value: net(e.cpuMs.nats, steady.cpu.nats),
      unit: "us",
      note: `nats-server CPU per enrolled Rack without the heartbeats: ${how}`,
    },
    {
      name: "enroll.generator_cpu_per_rack_net",
      value: net(e.cpuMs.generator, steady.cpu.generator),
      unit: "us",
      note: `the generator's CPU per enrolled Rack without its heartbeat pump: ${how}`,
    },
  ];
}
