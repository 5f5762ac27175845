// Cluster mode against one Mixer, in the same run (issue 18): enrollment rate and heartbeats held with two Mixers on a
// 3-node nats-server cluster (testkit startMixerCluster: real processes, cluster mode) against the default single
// Mixer on one nats-server (testkit MixerHarness); then the Mixers' failover: SIGKILL of the leading Mixer while the
// fleet heartbeats and fresh Racks keep saying hello, timed until hellos are answered again and until the other Mixer
// leads (once the build exposes leadership), with the fleet's Racks the survivor then shows offline counted.
// The KV write rate at R1 and R3 is bench/kv.bench.ts's.
//
// Run: pnpm exec tsx --conditions=@fluxrig/source bench/cluster.bench.ts [--racks 2000] [--auth none|jwt]
//      [--concurrency 64] [--connections 8] [--interval 1s] [--steady 10s] [--probes 400] [--skip-single]
//      [--skip-failover] [--out bench-results/cluster.json]
// Needs the built Mixer (`pnpm build`) and nats-server 2.10+ (NATS_SERVER_BIN or .tools/bin). A few minutes.
// Reuses the swarm's generator (bench/swarm: SimulatedFleet, HeartbeatPump, the /proc readings): every Rack has its
// own Ed25519 key and name, enrolls with a signed hello (auto_adopt) and heartbeats with the real Heartbeat message.
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import {
  killAllStarted,
  type MixerCluster,
  MixerHarness,
  startMixerCluster,
  TEST_TOKEN,
} from "@fluxrig/testkit";
import { decodeHelloReply, SUBJECTS } from "../packages/wire/src/index.js";
import { ascending, type Figure, FigureBook, latencyFigures, printTable, round } from "./swarm/figures.js";
import { HeartbeatPump } from "./swarm/heartbeat-pump.js";
import type { ClusterView, NatsConnection } from "./swarm/mixer-under-test.js";
import { cpuMs, rssBytes, selfCpuMs } from "./swarm/proc-stats.js";
import { bar, ProgressLine } from "./swarm/progress-line.js";
import { SimulatedFleet } from "./swarm/simulated-fleet.js";
import { type HelloReply, helloBytes, machineIdOf } from "./swarm/swarm-context.js";
import { durationMs, durationText } from "./swarm/swarm-options.js";
import { sleep, within } from "./swarm/waits.js";

const MB = 1024 * 1024;
const { values: args } = parseArgs({
  options: {
    racks: { type: "string", default: "2000" },
    auth: { type: "string", default: "none" },
    concurrency: { type: "string", default: "64" },
    connections: { type: "string", default: "8" },
    interval: { type: "string", default: "1s" },
    steady: { type: "string", default: "10s" },
    probes: { type: "string", default: "400" },
    "skip-single": { type: "boolean", default: false },
    "skip-failover": { type: "boolean", default: false },
    out: { type: "string", default: "bench-results/cluster.json" },
  },
  strict: true,
});
const opts = {
  racks: positive("racks", args.racks),
  auth: args.auth === "jwt" ? ("jwt" as const) : ("none" as const),
  concurrency: positive("concurrency", args.concurrency),
  connections: positive("connections", args.connections),
  intervalMs: durationMs("interval", args.interval),
  steadyMs: durationMs("steady", args.steady),
  probes: positive("probes", args.probes),
};
if (args.auth !== "jwt" && args.auth !== "none")
  throw new Error(`--auth: expected jwt or none, got ${args.auth}`);
const command = [
  "pnpm exec tsx --conditions=@fluxrig/source bench/cluster.bench.ts",
  ...process.argv.slice(2),
].join(" ");
const MISSED = 3;
const FLUSH_MS = 1_000;
const MIXER_ENV = {
  FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true",
  FLUXRIG_ENROLLMENT_MAX_PENDING: "65535",
  FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: durationText(opts.intervalMs),
  FLUXRIG_PRESENCE_MISSED_HEARTBEATS: String(MISSED),
  FLUXRIG_PRESENCE_FLUSH_INTERVAL: durationText(FLUSH_MS),
};

function positive(flag: string, text: string): number {
  const n = Number(text.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: expected a positive integer, got "${text}"`);
  return n;
}

/** One system under test: one Mixer on one nats-server, or several Mixers on a cluster. */
interface Topology {
  name: "single" | "cluster";
  what: string;
  mixers: number;
  mixerPid(i: number): number | undefined;
  apiUrl(i: number): string;
  natsPids(): Array<number | undefined>;
  view(i: number): Promise<ClusterView>;
  /** A shared connection for hellos and heartbeats (jwt: the bootstrap credential). */
  connect(name: string): Promise<NatsConnection>;
  /** Where a Rack's own connection goes (jwt). */
  server: { host: string; port: number };
  kill(i: number): Promise<void>;
  stop(): Promise<void>;
}

async function apiGet<T>(apiUrl: string, path: string): Promise<T> {
  const res = await fetch(`${apiUrl}${path}`, {
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`GET ${apiUrl}${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

function getView(apiUrl: string): Promise<ClusterView> {
  return apiGet<ClusterView>(apiUrl, "/api/v1/cluster");
}

/**
 * Whether Mixer `apiUrl` leads the work done once (the `leader` lease, docs/cluster.md): `leading` in
 * `GET /api/v1/cluster`, else the `fluxrig_mixer_leading` gauge of `GET /metrics`; `undefined` when this build exposes
 * neither (before the leader gate) or the Mixer does not answer.
 */
async function leadingOf(apiUrl: string): Promise<boolean | undefined> {
  try {
    const view = await apiGet<{ leading?: unknown }>(apiUrl, "/api/v1/cluster");
    if (typeof view.leading === "boolean") return view.leading;
    const res = await fetch(`${apiUrl}/metrics`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      signal: AbortSignal.timeout(5_000),
    });
    const gauge = /^fluxrig_mixer_leading(?:\{[^}]*\})? ([0-9.]+)$/m.exec(await res.text());
    return gauge === null ? undefined : Number(gauge[1]) === 1;
  } catch {
    return undefined;
  }
}

/** The names of the Racks a Mixer's registry holds offline, page by page. */
async function offlineNames(apiUrl: string): Promise<Set<string>> {
  const names = new Set<string>();
  let after: string | null = null;
  for (let page = 0; page < 1_000; page++) {
    const q: string = after === null ? "" : `&after=${encodeURIComponent(after)}`;
    const body = await apiGet<{ items: Array<{ name: string }>; next: string | null }>(
      apiUrl,
      `/api/v1/racks?status=offline&limit=1000${q}`,
    );
    for (const r of body.items) names.add(r.name);
    after = body.next;
    if (after === null) break;
  }
  return names;
}

async function singleTopology(): Promise<Topology> {
  const h = await MixerHarness.create({ auth: opts.auth, env: MIXER_ENV });
  return {
    name: "single",
    what: "1 Mixer (single mode, DuckDB) on 1 nats-server",
    mixers: 1,
    mixerPid: () => (h.mixer?.running ? h.mixer.pid : undefined),
    apiUrl: () => h.apiUrl,
    natsPids: () => [h.nats.pid],
    view: () => getView(h.apiUrl),
    connect: (name) =>
      opts.auth === "jwt"
        ? h.connectBootstrap({ name, noAsyncTraces: true, reconnectTimeWait: 500 })
        : h.client({ name, lean: true, reconnectTimeWait: 500 }),
    server: { host: h.nats.host, port: h.nats.port },
    kill: () => h.kill9(),
    stop: () => h[Symbol.asyncDispose](),
  };
}

async function clusterTopology(): Promise<Topology & { mc: MixerCluster }> {
  const mc = await startMixerCluster({ mixers: 2, nats: { nodes: 3 }, auth: opts.auth, env: MIXER_ENV });
  return {
    mc,
    name: "cluster",
    what: "2 Mixers (cluster mode) on a 3-node nats-server cluster (sync_interval always)",
    mixers: 2,
    mixerPid: (i) => {
      const p = mc.process(i);
      return p?.running ? p.pid : undefined;
    },
    apiUrl: (i) => mc.apiUrl(i),
    natsPids: () => mc.nats.nodes.map((n) => n.pid),
    view: (i) => getView(mc.apiUrl(i)),
    connect: (name) => mc.connect({ name, noAsyncTraces: true, reconnectTimeWait: 500 }),
    server: { host: mc.nats.nodes[0]!.host, port: mc.nats.nodes[0]!.port },
    kill: (i) => mc.kill(i, "SIGKILL"),
    stop: () => mc.stop(),
  };
}

/** CPU time (ms) of every party now: each Mixer, all nats-servers together, this generator. */
function cpuNow(t: Topology): { mixers: Array<number | undefined>; nats: number; generator: number } {
  const mixers = Array.from({ length: t.mixers }, (_, i) => cpuMs(t.mixerPid(i)));
  const nats = t.natsPids().reduce<number>((sum, pid) => sum + (cpuMs(pid) ?? 0), 0);
  return { mixers, nats, generator: selfCpuMs() };
}

function goodActive(reply: HelloReply): reply is HelloReply & { entity_id: string; machine_id: number } {
  return (
    reply.status === "active" &&
    reply.passport !== undefined &&
    reply.entity_id !== undefined &&
    reply.machine_id !== undefined &&
    machineIdOf(reply.entity_id) === reply.machine_id
  );
}

/** One Rack's enrollment, as the swarm's: open bus one hello; jwt the sealed bootstrap hello, then its own connection. */
async function enrollOne(fleet: SimulatedFleet, i: number): Promise<HelloReply> {
  const reply = await fleet.racks[i]!.sendRaw(helloBytes(fleet, i, false, opts.auth === "jwt"));
  if (opts.auth === "jwt" && reply.bus_credential !== undefined) await fleet.connectOwn(i);
  return reply;
}

interface Run {
  t: Topology;
  fleet: SimulatedFleet;
  pump: HeartbeatPump;
  book: FigureBook;
  progress: ProgressLine;
}

async function enrollPhase(run: Run): Promise<void> {
  const { t, fleet, book, progress } = run;
  progress.phase(`${t.name}: enrolling ${opts.racks} Racks (${opts.concurrency} hellos in flight)`);
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let next = 0;
  let active = 0;
  const load0 = loadavg()[0]!;
  const cpu0 = cpuNow(t);
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= opts.racks) return;
      for (let attempt = 1; attempt <= 3; attempt++) {
        const t0 = performance.now();
        try {
          const reply = await enrollOne(fleet, i);
          if (goodActive(reply)) {
            latencies.push(performance.now() - t0);
            fleet.adopted(i, reply.entity_id, reply.machine_id);
            fleet.live[i] = 1;
            active++;
            break;
          }
          const why = reply.error?.code ?? `status ${reply.status}`;
          failures.set(why, (failures.get(why) ?? 0) + 1);
        } catch (err) {
          const why = (err as Error).message.slice(0, 60);
          failures.set(why, (failures.get(why) ?? 0) + 1);
        }
        await sleep(500 * attempt);
      }
      progress.update(`${bar(next, opts.racks)} ${active} active`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.racks) }, worker));
  const elapsedMs = performance.now() - started;
  const cpu1 = cpuNow(t);
  const load1 = loadavg()[0]!;
  // Unique MachineIDs and entity ids across every reply, whichever Mixer gave it: what the cluster must guarantee.
  const byMachine = new Map<number, number>();
  const entities = new Set<string>();
  for (let i = 0; i < opts.racks; i++) {
    const id = fleet.entityIds[i];
    if (id === undefined) continue;
    entities.add(id);
    byMachine.set(fleet.machineIds[i]!, (byMachine.get(fleet.machineIds[i]!) ?? 0) + 1);
  }
  const duplicateMachineIds = [...byMachine.values()].filter((n) => n > 1).reduce((a, n) => a + n - 1, 0);
  await sleep(FLUSH_MS + 500);
  const counts = await Promise.all(
    Array.from({ length: t.mixers }, (_, i) => t.view(i).then((v) => v.counts.active ?? 0)),
  );
  const perRack = (ms: number | undefined) => round(((ms ?? Number.NaN) * 1000) / Math.max(1, active), 0);
  const mixerCpu = cpu1.mixers.map((c, i) => (c ?? Number.NaN) - (cpu0.mixers[i] ?? Number.NaN));
  const failed = [...failures].map(([k, n]) => `${n}x ${k}`).join("; ");
  const p = `${t.name}.enroll`;
  book.add(
    {
      name: `${p}.rate`,
      value: round((active / elapsedMs) * 1000, 0),
      unit: "Racks/s",
      note:
        `${active}/${opts.racks} Racks active with a passport in ${round(elapsedMs / 1000, 1)} s on ${t.what}; ` +
        `registry active per Mixer: ${counts.join(", ")}; ${opts.concurrency} in flight over ${opts.connections} ` +
        `connections, bus auth ${opts.auth}${failed ? `; failures: ${failed}` : ""}; load average ` +
        `${round(load0, 1)} -> ${round(load1, 1)}; ${command}`,
    },
    ...latencyFigures(`${p}.`, ascending(latencies), { digits: 1, note: "hello request to active reply" }),
    ...mixerCpu.map((ms, i) => ({
      name: `${p}.mixer${t.mixers > 1 ? i : ""}_cpu_per_rack`,
      value: perRack(ms),
      unit: "us",
      note: `fluxrig-mixer${t.mixers > 1 ? ` ${i}` : ""} user+system CPU over the enrollment per Rack enrolled (through any Mixer)`,
    })),
    {
      name: `${p}.mixers_cpu_per_rack`,
      value: perRack(mixerCpu.reduce((a, b) => a + b, 0)),
      unit: "us",
      note: "every Mixer's CPU together per Rack enrolled",
    },
    {
      name: `${p}.nats_cpu_per_rack`,
      value: perRack(cpu1.nats - cpu0.nats),
      unit: "us",
      note: `every nats-server's CPU together (${t.natsPids().length}) per Rack enrolled`,
    },
    {
      name: `${p}.generator_cpu_per_rack`,
      value: perRack(cpu1.generator - cpu0.generator),
      unit: "us",
      note: "this process (hello signing, reply checks, its heartbeat pump) per Rack enrolled",
    },
    {
      name: `${p}.duplicate_machine_ids`,
      value: duplicateMachineIds,
      unit: "Racks",
      note:
        `active replies naming a MachineID another Rack got too (${entities.size} distinct entity ids for ${active} ` +
        "Racks); must be 0: uniqueness across Mixers is the cluster's (KV create) job",
    },
  );
  if (active === 0) throw new Error(`${t.name}: no Rack enrolled (${failed})`);
}

/** Heartbeats at the configured interval for the window: what each Mixer accepted, and what it cost. */
async function steadyPhase(run: Run): Promise<void> {
  const { t, fleet, pump, book, progress } = run;
  const live = fleet.liveCount();
  progress.phase(
    `${t.name}: steady: ${live} Racks every ${durationText(opts.intervalMs)} for ${durationText(opts.steadyMs)}`,
  );
  pump.setPeriod(opts.intervalMs);
  await sleep(opts.intervalMs + FLUSH_MS);
  const accepted = async () =>
    Promise.all(
      Array.from({ length: t.mixers }, (_, i) =>
        t.view(i).then((v) => v.counters["heartbeat.accepted"] ?? 0),
      ),
    );
  const a0 = await accepted();
  const s0 = pump.sent;
  const c0 = cpuNow(t);
  const t0 = performance.now();
  const rss: number[][] = Array.from({ length: t.mixers }, () => []);
  while (performance.now() - t0 < opts.steadyMs) {
    await sleep(500);
    for (let i = 0; i < t.mixers; i++) {
      const r = rssBytes(t.mixerPid(i));
      if (r !== undefined) rss[i]!.push(r);
    }
  }
  const a1 = await accepted();
  const s1 = pump.sent;
  const c1 = cpuNow(t);
  const seconds = (performance.now() - t0) / 1000;
  const sentRate = (s1 - s0) / seconds;
  const p = `${t.name}.steady`;
  const figures: Figure[] = [
    {
      name: `${p}.sent_rate`,
      value: round(sentRate, 0),
      unit: "heartbeats/s",
      note: `${live} Racks each every ${durationText(opts.intervalMs)} over ${round(seconds, 1)} s on ${t.what}; ${command}`,
    },
  ];
  for (let i = 0; i < t.mixers; i++) {
    const acc = a1[i]! - a0[i]!;
    const cpu = (c1.mixers[i] ?? Number.NaN) - (c0.mixers[i] ?? Number.NaN);
    const who = t.mixers > 1 ? `mixer${i}` : "mixer";
    figures.push(
      {
        name: `${p}.${who}_held`,
        value: round((acc / Math.max(1, s1 - s0)) * 100, 1),
        unit: "%",
        note: `heartbeats this Mixer accepted over those sent (${round(acc / seconds, 0)}/s): every Mixer hears every Rack`,
      },
      {
        name: `${p}.${who}_cpu`,
        value: round((cpu / (seconds * 1000)) * 100, 1),
        unit: "% of a core",
        note: `${round((cpu * 1000) / Math.max(1, acc), 1)} us per accepted heartbeat`,
      },
      {
        name: `${p}.${who}_rss`,
        value: rss[i]!.length > 0 ? round(Math.max(...rss[i]!) / MB, 1) : Number.NaN,
        unit: "MB",
        note: `VmRSS, max of 0.5 s samples over the window, ${live} Racks`,
      },
    );
  }
  figures.push({
    name: `${p}.nats_cpu`,
    value: round(((c1.nats - c0.nats) / (seconds * 1000)) * 100, 1),
    unit: "% of a core",
    note: `every nats-server together (${t.natsPids().length}); ${round(((c1.nats - c0.nats) * 1000) / Math.max(1, s1 - s0), 1)} us per heartbeat sent`,
  });
  book.add(...figures);
}

/**
 * SIGKILL of the leading Mixer while every Rack heartbeats and a fresh Rack says hello every 50 ms (1 s timeout):
 * how long until a hello is answered again, how many went unanswered, and whether the survivor marked any Rack
 * offline over three missed intervals after.
 */
async function failoverPhase(run: Run): Promise<void> {
  const { t, fleet, book, progress } = run;
  // The Mixer that leads, once the cluster names one (bounded: a lease is taken within its ttl); Mixer 0 when this
  // build exposes no leadership.
  const leading = async () => Promise.all(Array.from({ length: t.mixers }, (_, i) => leadingOf(t.apiUrl(i))));
  let states = await leading();
  const leaseDeadline = performance.now() + 30_000;
  while (states.some((x) => x !== undefined) && !states.includes(true) && performance.now() < leaseDeadline) {
    await sleep(200);
    states = await leading();
  }
  const exposed = states.some((x) => x !== undefined);
  const victim = Math.max(0, states.indexOf(true));
  const survivor = victim === 0 ? 1 : 0;
  progress.phase(
    `${t.name}: failover: SIGKILL of Mixer ${victim} (${exposed ? `leading: ${states.join(", ")}` : "leadership not exposed by this build"}) under heartbeats and hellos`,
  );
  const probeConn = await t.connect("failover-probe");
  const answered: Array<{ sentAt: number; ok: boolean }> = [];
  let probing = true;
  let nextProbe = opts.racks;
  // A hello every 50 ms, each on its own (not waiting for the one before): one lost with the dead Mixer does not delay
  // the next, so the first answered after the kill is timed to 50 ms.
  const inFlight: Array<Promise<void>> = [];
  const probeLoop = (async () => {
    while (probing && nextProbe < fleet.size) {
      const i = nextProbe++;
      const sentAt = performance.now();
      inFlight.push(
        probeConn
          .request(SUBJECTS.hello, helloBytes(fleet, i, false, opts.auth === "jwt"), { timeout: 1_000 })
          .then(
            (msg) => decodeHelloReply(msg.data).ok,
            () => false,
          )
          .then((ok) => {
            answered.push({ sentAt, ok });
          }),
      );
      await sleep(50);
    }
    await Promise.all(inFlight);
  })();
  await sleep(2_000);
  // The enrolled fleet, which keeps heartbeating throughout (the probes' Racks, once adopted, fall silent: not counted).
  const fleetNames = new Set<string>();
  for (let i = 0; i < opts.racks; i++) if (fleet.isEnrolled(i)) fleetNames.add(fleet.racks[i]!.name);
  const offlineBefore = await offlineNames(t.apiUrl(survivor));
  const killedAt = performance.now();
  await t.kill(victim);
  // The survivor takes the lead (lease ttl + polls + a write, docs/cluster.md): timed at 100 ms resolution.
  let ledAfterMs = Number.NaN;
  if (exposed) {
    const deadline = killedAt + 90_000;
    while (performance.now() < deadline) {
      if ((await leadingOf(t.apiUrl(survivor))) === true) {
        ledAfterMs = performance.now() - killedAt;
        break;
      }
      await sleep(100);
    }
  }
  const settledAt = performance.now();
  await sleep(Math.max(0, MISSED * opts.intervalMs + 2 * FLUSH_MS + 2_000 - (settledAt - killedAt)));
  probing = false;
  await probeLoop;
  const offlineAfter = await offlineNames(t.apiUrl(survivor));
  const falseOffline = [...offlineAfter].filter((n) => fleetNames.has(n) && !offlineBefore.has(n)).length;
  answered.sort((x, y) => x.sentAt - y.sentAt);
  const after = answered.filter((a) => a.sentAt >= killedAt);
  const firstOk = after.find((a) => a.ok);
  // Hellos sent before the kill and lost with it count too: the gap runs from the last answered one before it.
  const lastOkBefore = [...answered].reverse().find((a) => a.sentAt < killedAt && a.ok);
  const unanswered = answered.filter((a) => !a.ok && a.sentAt >= (lastOkBefore?.sentAt ?? 0)).length;
  book.add(
    {
      name: `${t.name}.failover.hello_answered_after`,
      value: firstOk === undefined ? Number.NaN : round(firstOk.sentAt - killedAt, 0),
      unit: "ms",
      note:
        `from the SIGKILL of Mixer ${victim} to the send of the first hello answered after it (a hello every 50 ms, ` +
        `each on its own, 1 s timeout; the queue group loses the dead member when nats-server sees its socket close); ${command}`,
    },
    {
      name: `${t.name}.failover.leading_moved_after`,
      value: round(ledAfterMs, 0),
      unit: "ms",
      note: exposed
        ? `from the SIGKILL of the leading Mixer ${victim} until Mixer ${survivor} says it leads (\`leading\` in GET /api/v1/cluster or the fluxrig_mixer_leading gauge, polled every 100 ms; the lease's ttl is [cluster] lease_ttl, 10 s by default)`
        : "not measured: this build exposes no leadership (no `leading` in GET /api/v1/cluster, no fluxrig_mixer_leading gauge)",
    },
    {
      name: `${t.name}.failover.hellos_unanswered`,
      value: unanswered,
      unit: "hellos",
      note: `probe hellos around the kill with no answer within 1 s (of ${answered.length} sent)`,
    },
    {
      name: `${t.name}.failover.false_offline`,
      value: falseOffline,
      unit: "Racks",
      note: `Racks of the fleet (all kept heartbeating) the surviving Mixer's registry shows offline ${MISSED} missed intervals after the kill and did not before: must be 0`,
    },
  );
}

async function runTopology(
  make: () => Promise<Topology>,
  book: FigureBook,
  progress: ProgressLine,
  failover: boolean,
): Promise<void> {
  progress.phase(
    `starting ${make === singleTopology ? "the single Mixer" : "the cluster"} (bus auth ${opts.auth})`,
  );
  const t = await make();
  let fleet: SimulatedFleet | undefined;
  let pump: HeartbeatPump | undefined;
  try {
    const conns: NatsConnection[] = [];
    for (let c = 0; c < opts.connections; c++) conns.push(await t.connect(`cluster-bench-${c}`));
    fleet = new SimulatedFleet(conns, opts.racks + opts.probes, opts.auth, t.server);
    progress.phase(`generating ${fleet.size} Ed25519 keys`);
    fleet.generate((done) => progress.update(`${bar(done, fleet!.size)} ${done} keys`));
    pump = new HeartbeatPump(fleet, opts.intervalMs);
    pump.start();
    const run: Run = { t, fleet, pump, book, progress };
    await enrollPhase(run);
    await steadyPhase(run);
    if (failover) await failoverPhase(run);
  } finally {
    await within(pump?.stop() ?? Promise.resolve(), 5_000, undefined);
    await within(fleet?.closeOwn() ?? Promise.resolve(), 10_000, undefined);
    progress.phase(`${t.name}: stopping`);
    await within(t.stop(), 60_000, undefined);
  }
}

const book = new FigureBook();
const progress = new ProgressLine();
let failure: string | undefined;
try {
  if (!args["skip-single"]) await runTopology(singleTopology, book, progress, false);
  await runTopology(clusterTopology, book, progress, !args["skip-failover"]);
} catch (err) {
  failure = String((err as Error).message ?? err).split("\n")[0];
  progress.note(`FAILED: ${String((err as Error).stack ?? err)}`);
  process.exitCode = 1;
}
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(
  args.out,
  `${JSON.stringify({ suite: "cluster", figures: book.figures, ...(failure ? { error: failure } : {}) }, null, 2)}\n`,
);
console.log(`\ncluster figures (${args.out}):`);
printTable(book.figures);
await killAllStarted().catch((err: unknown) => console.error("cleanup failed:", err));
