// Cluster mode as a whole, with real processes only: two fluxrig-mixer processes in cluster mode on a real 3-node
// nats-server 2.10 cluster in the product's JWT bus mode (testkit startMixerCluster), Racks that say sealed hellos over
// the bootstrap credential and heartbeat as themselves. Checked, never assumed, on every side that holds the registry:
// KV (read through the stream leaders), both Mixers' APIs, both Mixers' DuckDB files, and each node's own /jsz.
//   1. Concurrent enrollment through both Mixers: every Rack once; MachineIDs, names and keys unique.
//   2. kill -9 of the leading Mixer under enrollment and heartbeats: the other answers hellos and leads within a bound,
//      no registration lost, no Rack falsely offline; the killed Mixer comes back with its index rebuilt from KV.
//   3. SIGKILL of a nats-server node (a follower of the racks stream, then its leader), then of two (no quorum): no
//      confirmed write lost, writes refused clearly without quorum, replicas and indexes identical afterwards.
// The default run does one round of each; FLUXRIG_FAULT_ITERATIONS=<n> does n. Replay with FLUXRIG_FAULT_SEED=<seed>.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  HeartbeatSends,
  type MixerCluster,
  openFaultScenario,
  repoRoot,
  type ScriptedRack,
  SeededRandom,
  startMixerCluster,
  waitFor,
} from "@fluxrig/testkit";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeEach, describe, expect, onTestFinished, test } from "vitest";
import { REGISTRY_BUCKETS } from "../../src/kv/registry-buckets.js";
import {
  ClusterFleet,
  diffRackViews,
  fileRacks,
  fleetUserConnection,
  type HelloOutcome,
  heartbeat,
  hostPort,
  type KvRegistry,
  listRacks,
  lostConfirmed,
  openBuckets,
  readKvRegistry,
} from "./support/cluster-fleet.js";

const {
  report,
  iterations: ROUNDS,
  seed: SEED,
} = openFaultScenario(
  import.meta.url,
  { afterAll, beforeEach },
  // One round of each fault by default (the file must stay well under 3 minutes); more on demand.
  { seeded: true, tail: 80, once: process.env.FLUXRIG_FAULT_ITERATIONS === undefined },
);

const CONCURRENT_RACKS = 200;
const HEARTBEAT_MS = 500;
const MISSED = 6;
/** The silence after which the leading Mixer may call a Rack offline. */
const OFFLINE_WINDOW_MS = HEARTBEAT_MS * MISSED;
const FLUSH_MS = 500;
const LEASE_TTL_MS = 3_000;
/** docs/cluster.md, "The KV layer": a holder killed at K is replaced by K + ttl + 2 polls (ttl/5 each) + one write. */
const TAKEOVER_BOUND_MS = LEASE_TTL_MS + (2 * LEASE_TTL_MS) / 5 + 2_000;
/**
 * The bound this test states for hellos after a Mixer's kill: the queue group drops the dead member when its socket
 * closes (measured 32 ms before the KV writer, bench/cluster.bench.ts), then one enrollment's KV writes at R3.
 */
const HELLO_FAILOVER_BOUND_MS = 3_000;
/** Every registry stream whose replicas must agree: the buckets, the Racks' state and the audit stream. */
const STREAMS = [
  ...Object.values(REGISTRY_BUCKETS).map((b) => `KV_${b.name}`),
  "KV_fluxrig_rack_state",
  "fluxrig_audit",
];

/**
 * A fresh hello is answered within this of a node's kill. A node leads several of the registry's streams, and a
 * hello meets each one's election in turn: its writes' (claims, the record, audit: 4 to 8 s each on a quiet machine,
 * docs/cluster.md "Failure behaviour"), then its mirror's catch-up through the streams' new leaders (a stalled
 * follower is found in 3 s, and its consumer can be made only once the election is over). Measured up to 14 s on a
 * busy machine and 17.6 s in a full CI run, with the KV layer's backoff (at most 1 s between attempts).
 */
const WRITE_RESUME_BOUND_MS = 30_000;
/** How long after a Mixer's SIGKILL a hello may still go to its queue-group member (nats-server notices the close). */
const DEAD_MEMBER_ROUTED_MS = 250;
/**
 * How long a probe waits for one hello before saying it again (a Rack waits 5 s, apps/rack's `helloTimeoutMs`; longer
 * here, so that a hello the Mixers are still writing through an election is seldom said twice).
 */
const RACK_HELLO_ATTEMPT_MS = 10_000;
/** A probe hello's own bound: past the Mixer's KV retry window (20 s) and its wait for its index (30 s). */
const PROBE_TIMEOUT_MS = 40_000;

const MIXER_ENV = {
  FLUXRIG_ENROLLMENT_MAX_PENDING: "65535",
  FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: `${HEARTBEAT_MS}ms`,
  FLUXRIG_PRESENCE_MISSED_HEARTBEATS: String(MISSED),
  FLUXRIG_PRESENCE_FLUSH_INTERVAL: `${FLUSH_MS}ms`,
  FLUXRIG_CLUSTER_LEASE_TTL: `${LEASE_TTL_MS}ms`,
};

interface ClusterView {
  leading?: unknown;
  counters: Record<string, number>;
}

/** Whether Mixer `i` says it leads the work done once (`leading` in GET /api/v1/cluster). */
async function leading(mc: MixerCluster, i: number): Promise<boolean> {
  const res = await mc.api<ClusterView>(i, "/api/v1/cluster");
  if (res.status !== 200) throw new Error(`Mixer ${i} GET /api/v1/cluster: HTTP ${res.status}`);
  if (typeof res.body.leading !== "boolean")
    throw new Error(
      `Mixer ${i}: GET /api/v1/cluster has no boolean "leading" (this build exposes no leadership)`,
    );
  return res.body.leading;
}

async function counter(mc: MixerCluster, i: number, name: string): Promise<number> {
  return (await mc.api<ClusterView>(i, "/api/v1/cluster")).body.counters[name] ?? 0;
}

/** The Cluster Key every reply must be signed with, and a few bootstrap connections to hello over. */
async function fleetOf(mc: MixerCluster, prefix: string, connections = 3): Promise<ClusterFleet> {
  const info = await mc.api<{ public_key: string }>(0, "/api/v1/cluster");
  const conns: NatsConnection[] = [];
  for (let i = 0; i < connections; i++) conns.push(await mc.connect({ name: `${prefix}-bootstrap-${i}` }));
  return new ClusterFleet(conns, info.body.public_key, prefix);
}

async function startCluster(env: Record<string, string>): Promise<MixerCluster> {
  try {
    return await startMixerCluster({
      mixers: 2,
      nats: { nodes: 3 },
      auth: "jwt",
      env: { ...MIXER_ENV, ...env },
      // A loaded 2-core machine (the whole suite runs two files at a time) has taken over 30 s to create the R3
      // buckets at a first start.
      readyTimeoutMs: 60_000,
    });
  } catch (error) {
    report.record.crashes++;
    throw error;
  }
}

/**
 * Runs a scenario's body; when it fails, prints what the processes logged and what the scenario saw (the cluster's
 * temp dir and logs go with the Mixers once the body ends, so after that it is too late).
 */
async function diagnosed<T>(mc: MixerCluster, seen: () => string, body: () => Promise<T>): Promise<T> {
  // Every line each Mixer and node kept goes to a file, passed or failed (a stall's cause may lie minutes before its
  // symptom, and a pass near a bound is worth reading too): .reports/faults/mixer-cluster-<pid>.log.
  const full = join(repoRoot(), ".reports", "faults", `mixer-cluster-${process.pid}.log`);
  const keep = async () => {
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, mc.output(Number.MAX_SAFE_INTEGER));
  };
  try {
    const result = await body();
    await keep();
    return result;
  } catch (error) {
    await keep();
    console.error(
      `--- what the scenario saw ---\n${seen()}\n--- logs (every line: ${full}) ---\n${mc.output(60)}`,
    );
    throw error;
  }
}

/** Both Mixers stopped cleanly (SIGTERM), so their files can be read; a Mixer that does not stop is a crash. */
async function stopMixers(mc: MixerCluster): Promise<void> {
  await Promise.all(mc.running.map((i) => mc.kill(i, "SIGTERM")));
}

/** The registry as KV holds it now, read through the stream leaders as the Mixers' fleet user. */
async function readKv(mc: MixerCluster): Promise<KvRegistry> {
  const nc = await fleetUserConnection(mc);
  try {
    return await readKvRegistry(await openBuckets(nc));
  } finally {
    await nc.close();
  }
}

/**
 * Every side agrees with KV: both APIs (waited for, bounded: the mirrors apply KV's changes a moment later, and KV is
 * read again each time), then, with both Mixers stopped, both DuckDB files against KV read once more. Returns every
 * disagreement.
 */
async function indexesMatchKv(mc: MixerCluster, label: string): Promise<string[]> {
  const problems: string[] = [];
  for (const i of [0, 1]) {
    let diff: string[] = [];
    await waitFor(
      async () => {
        const kv = await readKv(mc);
        diff = diffRackViews(kv.racks, await listRacks(mc, i), ["KV", `${mc.member(i)}'s API`]);
        return diff.length === 0;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: `${label}: ${mc.member(i)}'s API lists what KV holds` },
    ).catch(() => problems.push(...diff.map((d) => `${label}: ${d}`)));
  }
  await stopMixers(mc);
  const kv = await readKv(mc);
  const files = await Promise.all([0, 1].map((i) => fileRacks(mc.dataDirs[i]!)));
  for (const i of [0, 1]) {
    const f = files[i]!;
    if (f.shared > 0) problems.push(`${label}: ${mc.member(i)}'s file: ${f.shared} MachineIDs on two rows`);
    problems.push(
      ...diffRackViews(kv.racks, f.racks, ["KV", `${mc.member(i)}'s file`]).map((d) => `${label}: ${d}`),
    );
  }
  problems.push(
    ...diffRackViews(files[0]!.racks, files[1]!.racks, [
      `${mc.member(0)}'s file`,
      `${mc.member(1)}'s file`,
    ]).map((d) => `${label}: ${d}`),
  );
  report.max("racks_in_kv", kv.racks.size);
  return problems;
}

/** A bound on one load's hellos, so a stall of the test cannot turn into an endless fleet. */
const MAX_LOAD_HELLOS = 3_000;

/** Fresh Racks saying hello `concurrency` at a time until stopped; pausable so replicas can settle between faults. */
class HelloLoad {
  readonly outcomes: Array<{ rack: string; outcome: HelloOutcome }> = [];
  #stopped = false;
  #paused = false;
  #inFlight = 0;
  readonly #loops: Promise<void>[];

  constructor(
    readonly fleet: ClusterFleet,
    concurrency: number,
    readonly timeoutMs: number,
  ) {
    this.#loops = Array.from({ length: concurrency }, () => this.#loop());
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      if (this.#paused) {
        await delay(20);
        continue;
      }
      if (this.outcomes.length >= MAX_LOAD_HELLOS) {
        await delay(50);
        continue;
      }
      const rack = this.fleet.add(1)[0]!;
      this.#inFlight++;
      const outcome = await this.fleet.hello(rack, this.timeoutMs);
      this.#inFlight--;
      this.outcomes.push({ rack: rack.name, outcome });
      // A hello that was not answered (no responders while a node or a Mixer is down) is not retried at once: a
      // Rack backs off, and a loop that did not would only spin.
      if (outcome.kind !== "answered") await delay(200);
    }
  }

  /** The last `n` outcomes, one line each, with times relative to `t0`. */
  summary(t0: number, n = 40): string {
    return this.outcomes
      .slice(-n)
      .map(({ rack, outcome: o }) => {
        const at = `sent +${o.sentAt - t0} ms`;
        if (o.kind === "answered")
          return `${rack} ${at}: ${o.reply.status} after ${o.answeredAt - o.sentAt} ms`;
        if (o.kind === "refused")
          return `${rack} ${at}: refused ${o.code} after ${o.answeredAt - o.sentAt} ms: ${o.message}`;
        return `${rack} ${at}: no answer: ${o.error} (via ${o.link})`;
      })
      .join("\n");
  }

  /** Confirmations of hellos sent at or after `since`. */
  answeredSince(since: number): number {
    return this.outcomes.filter((o) => o.outcome.kind === "answered" && o.outcome.sentAt >= since).length;
  }

  async pause(): Promise<void> {
    this.#paused = true;
    await waitFor(() => this.#inFlight === 0, { timeoutMs: 60_000, message: "hellos in flight to finish" });
  }

  resume(): void {
    this.#paused = false;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }
}

/** A line per phase with the time since the test began, to tell where a slow or stuck run spent its time. */
function stepper(label: string): (what: string) => void {
  const t0 = Date.now();
  return (what) =>
    console.info(`[mixer-cluster ${label}] +${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What fresh Racks saw after a fault: when the first was answered, when the last was, how many were not. */
interface Probed {
  firstMs: number;
  lastMs: number;
  notAnswered: string[];
  /** Hellos said again after one got no answer within `attemptMs` (see probeHellos). */
  saidAgain: number;
}

/**
 * Fresh Racks say hello every 250 ms, `spreadMs / 250` of them (none waiting for another; the queue group spreads
 * them over both Mixers), each within `timeoutMs`; then every probe's fate is awaited. Times are from `since`, and a
 * probe's from its first hello.
 *
 * With `attemptMs`, a probe does as a Rack does (apps/rack: a hello times out, then the Rack says it again with the
 * same key): a hello sent in the instant a node dies may be lost on its way to a Mixer whose link was on that node
 * (core NATS delivers at most once), which neither side can tell from a Mixer's silence. Without it, one hello each.
 */
async function probeHellos(
  fleet: ClusterFleet,
  since: number,
  spreadMs: number,
  timeoutMs: number,
  opts: { attemptMs?: number } = {},
): Promise<Probed> {
  let saidAgain = 0;
  const probe = async (rack: ScriptedRack): Promise<HelloOutcome> => {
    const deadline = Date.now() + timeoutMs;
    const first = await fleet.hello(rack, Math.min(opts.attemptMs ?? timeoutMs, timeoutMs));
    let o = first;
    while (o.kind === "no_answer" && opts.attemptMs !== undefined && deadline - Date.now() > 500) {
      saidAgain++;
      o = await fleet.hello(rack, Math.min(opts.attemptMs, deadline - Date.now()));
    }
    return { ...o, sentAt: first.sentAt };
  };
  const probes: Array<Promise<{ rack: string; o: HelloOutcome }>> = [];
  // A fixed count, from now: the caller may reach this a moment after `since` (checks between a fault and its probes).
  for (let n = 0; n < Math.max(1, Math.round(spreadMs / 250)); n++) {
    if (n > 0) await delay(250);
    const rack = fleet.add(1)[0]!;
    probes.push(probe(rack).then((o) => ({ rack: rack.name, o })));
  }
  const done = await Promise.all(probes);
  const answered = done.flatMap(({ o }) => (o.kind === "answered" ? [o.answeredAt - since] : []));
  return {
    firstMs: Math.min(...answered),
    lastMs: Math.max(...answered),
    saidAgain,
    notAnswered: done
      .filter(({ o }) => o.kind !== "answered")
      .map(({ rack, o }) =>
        o.kind === "refused"
          ? `${rack} (sent +${o.sentAt - since} ms) refused ${o.code} after ${o.answeredAt - o.sentAt} ms: ${o.message}`
          : `${rack} (sent +${o.sentAt - since} ms): no answer in ${timeoutMs} ms (via ${o.kind === "no_answer" ? o.link : "?"})`,
      ),
  };
}

/**
 * One hello, said again while the bus answers "no responders" (no Mixer subscribed yet: both may be re-subscribing on
 * a surviving node a moment after a kill), as a Rack does; anything else is the outcome.
 */
async function helloPastNoResponders(
  fleet: ClusterFleet,
  rack: ScriptedRack,
  timeoutMs: number,
): Promise<HelloOutcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const o = await fleet.hello(rack, Math.max(1, deadline - Date.now()));
    if (o.kind !== "no_answer" || !/no responders/i.test(o.error) || Date.now() >= deadline - 200) return o;
    report.count("hellos_said_again_after_no_responders");
    await delay(100);
  }
}

/** Says hello again (same key) for every Rack no reply confirmed, until each is confirmed (bounded). */
async function confirmEveryRack(fleet: ClusterFleet, label: string): Promise<number> {
  const retried = fleet.unconfirmed().length;
  await waitFor(
    async () => {
      const left = fleet.unconfirmed();
      const queue = [...left];
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let r = queue.shift(); r !== undefined; r = queue.shift()) await fleet.hello(r, 15_000);
        }),
      );
      return fleet.unconfirmed().length === 0;
    },
    { timeoutMs: 180_000, intervalMs: 500, message: `${label}: every Rack confirmed by a hello` },
  );
  return retried;
}

/** The Racks' own connections, one per Rack, spread over the nodes. */
async function connectOwn(mc: MixerCluster, racks: ScriptedRack[]): Promise<void> {
  await Promise.all(racks.map((r, i) => r.connectLight(hostPort(mc.nats.urls[i % mc.nats.urls.length]!))));
}

interface AuditEvent {
  seq: number;
  at: string;
  name: string | null;
  to_status: string | null;
}

/** Every audit event Mixer `i` serves since `sinceIso`, page by page. */
async function eventsSince(mc: MixerCluster, i: number, sinceIso: string): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  let after: number | null = null;
  for (let page = 0; page < 100; page++) {
    const query: string = `since=${encodeURIComponent(sinceIso)}&limit=1000${after === null ? "" : `&after=${after}`}`;
    const res = await mc.api<{ items: AuditEvent[]; next: number | null }>(i, `/api/v1/events?${query}`);
    if (res.status !== 200) throw new Error(`Mixer ${i} GET /api/v1/events: HTTP ${res.status}`);
    out.push(...res.body.items);
    if (res.body.next === null || res.body.items.length === 0) return out;
    after = res.body.next;
  }
  return out;
}

describe("cluster mode with real processes: two Mixers on a 3-node JWT cluster", () => {
  test(`concurrent enrollment through both Mixers: ${CONCURRENT_RACKS} Racks at once, each once, unique everywhere (${ROUNDS} round(s))`, async () => {
    // These Racks never heartbeat: a window longer than the test keeps the leader's sweep out of the comparison.
    await using mc = await startCluster({
      FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true",
      FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: "60s",
    });
    const fleet = await fleetOf(mc, "ce");
    const failures: string[] = [];
    const repliesBefore = await Promise.all([0, 1].map((i) => counter(mc, i, "hello.replies_sent")));
    for (let round = 0; round < ROUNDS; round++) {
      const racks = fleet.add(CONCURRENT_RACKS);
      const startedAt = Date.now();
      const outcomes = await Promise.all(racks.map((r) => fleet.hello(r, 30_000)));
      report.max("concurrent_enrollment_ms", Date.now() - startedAt);
      const refused = outcomes.filter((o) => o.kind !== "answered");
      report.count("concurrent_hellos_not_answered", refused.length);
      for (const o of refused)
        failures.push(`round ${round}: ${o.kind === "refused" ? `${o.code}: ${o.message}` : o.error}`);
      for (const o of outcomes)
        if (o.kind === "answered" && o.reply.status !== "active")
          failures.push(`round ${round}: a hello answered ${o.reply.status} with auto_adopt on`);
    }
    // Both Mixers answered: the hello subject is one queue group across them.
    const replies = await Promise.all(
      [0, 1].map(async (i) => (await counter(mc, i, "hello.replies_sent")) - repliesBefore[i]!),
    );
    report.note(
      `concurrent enrollment: ${mc.member(0)} answered ${replies[0]}, ${mc.member(1)} ${replies[1]} hellos`,
    );
    expect(
      replies.every((n) => n > 0),
      `both Mixers answered hellos: ${replies}`,
    ).toBe(true);
    const dup = fleet.duplicates();
    report.count("duplicate_machine_ids", dup.machineIds);
    report.count("duplicate_entity_ids", dup.entityIds);
    expect(dup).toEqual({ entityIds: 0, machineIds: 0 });

    const kv = await readKv(mc);
    report.count("orphan_claims", kv.orphans.length);
    failures.push(...kv.unclaimed, ...kv.orphans.map((o) => `orphan claim ${o}`));
    if (kv.sharedMachineIds > 0) failures.push(`${kv.sharedMachineIds} MachineIDs held by two records in KV`);
    const lost = lostConfirmed(fleet, kv.racks, "KV");
    report.record.rowsLost += lost.length;
    failures.push(...lost);
    expect(kv.racks.size, "Racks in KV").toBe(fleet.racks.size);
    failures.push(...(await indexesMatchKv(mc, "concurrent enrollment")));
    expect([...failures, ...fleet.problems]).toEqual([]);
    expect(fleet.badSignatures).toBe(0);
  });

  test(`kill -9 of the leading Mixer under enrollment and heartbeats (${ROUNDS} round(s))`, async () => {
    const rng = new SeededRandom(SEED);
    await using mc = await startCluster({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" });
    const fleet = await fleetOf(mc, "k9");
    const step = stepper("mixer kill");
    step("cluster up");
    const sends = new HeartbeatSends();
    const failures: string[] = [];
    const testStart = new Date().toISOString();

    // A fleet that heartbeats through the whole test, each Rack over its own connection to one of the nodes.
    const heartbeating = fleet.add(30);
    for (const o of await Promise.all(heartbeating.map((r) => fleet.hello(r)))) {
      expect(o.kind === "answered" && o.reply.status, JSON.stringify(o)).toBe("active");
    }
    await connectOwn(mc, heartbeating);
    onTestFinished(async () => {
      await Promise.all(heartbeating.map((r) => r.close()));
    });
    const pump = setInterval(() => {
      for (const r of heartbeating) if (heartbeat(r)) sends.record(r.name);
    }, HEARTBEAT_MS);
    onTestFinished(() => clearInterval(pump));

    for (let round = 0; round < ROUNDS; round++) {
      // One leader at a time, within a bound: the lease is taken once both Mixers are ready.
      const states = await waitFor(
        async () => {
          const s = await Promise.all(mc.running.map((i) => leading(mc, i)));
          return s.filter(Boolean).length === 1 && s;
        },
        {
          timeoutMs: TAKEOVER_BOUND_MS + 10_000,
          intervalMs: 100,
          message: `round ${round}: one Mixer leads`,
        },
      );
      const victim = states.indexOf(true);
      const survivor = 1 - victim;
      // Fresh Racks say hello every 50 ms through both Mixers while the fleet heartbeats.
      const load = new HelloLoad(fleet, 2, 5_000);
      const repliesBefore = await counter(mc, victim, "hello.replies_sent");
      await waitFor(async () => (await counter(mc, victim, "hello.replies_sent")) > repliesBefore + 5, {
        timeoutMs: 20_000,
        message: `round ${round}: the leading Mixer answers hellos before its kill`,
      });
      await delay(rng.int(0, 500)); // the fault's random moment
      const killedAt = Date.now();
      await mc.kill(victim, "SIGKILL");
      step(`round ${round}: ${mc.member(victim)} killed`);
      const killedIso = new Date(killedAt).toISOString();
      // Probes from the kill on, each on its own (the load's hellos in flight to the dead Mixer block their loops
      // for their timeout: that is the test's stall, not the product's).
      const probing = probeHellos(fleet, killedAt, 2_000, 10_000);

      const ledAt = await waitFor(async () => (await leading(mc, survivor)) && Date.now(), {
        timeoutMs: TAKEOVER_BOUND_MS + 20_000,
        intervalMs: 50,
        message: `round ${round}: ${mc.member(survivor)} leads after the kill`,
      });
      const takeoverMs = ledAt - killedAt;
      step(`round ${round}: ${mc.member(survivor)} leads after ${takeoverMs} ms`);
      report.max("leader_takeover_ms", takeoverMs);
      if (takeoverMs > TAKEOVER_BOUND_MS)
        failures.push(
          `round ${round}: ${mc.member(survivor)} led ${takeoverMs} ms after the kill, bound ${TAKEOVER_BOUND_MS} ms`,
        );
      await waitFor(() => load.answeredSince(killedAt) >= 5, {
        timeoutMs: 30_000,
        message: `round ${round}: hellos answered after the kill`,
      });
      // Then longer than the offline window with heartbeats flowing: a false offline would show by now.
      await delay(OFFLINE_WINDOW_MS + 2 * FLUSH_MS + 1_000);
      await load.stop();

      const probed = await probing;
      const helloGapMs = probed.firstMs;
      report.max("hello_answered_again_ms", helloGapMs);
      report.max("hello_probes_last_answered_ms", probed.lastMs);
      if (helloGapMs > HELLO_FAILOVER_BOUND_MS)
        failures.push(
          `round ${round}: first hello answered ${helloGapMs} ms after the kill, bound ${HELLO_FAILOVER_BOUND_MS} ms`,
        );
      for (const p of probed.notAnswered) {
        // See DEAD_MEMBER_ROUTED_MS: a probe sent in the moment after the kill may go to the dead member.
        const sentAfter = Number(/\(sent \+(\d+) ms\)/.exec(p)?.[1] ?? Number.POSITIVE_INFINITY);
        if (sentAfter >= DEAD_MEMBER_ROUTED_MS || !p.includes("no answer"))
          failures.push(`round ${round}: a probe after the kill: ${p}`);
      }
      // The load's hellos: one in flight to the killed Mixer gets no answer (the Rack says hello again, below);
      // anything else, or any later hello not answered, is the product's.
      const unanswered = load.outcomes.filter((o) => o.outcome.kind !== "answered");
      report.count("hellos_unanswered_around_kill", unanswered.length);
      report.count("hellos_during_kill_rounds", load.outcomes.length);
      // A hello sent in the moment after the SIGKILL may still be routed to the dead Mixer's queue-group member until
      // nats-server sees its socket close (a few ms; more on a loaded machine): the Rack says hello again. Later ones
      // are the product's.
      for (const o of unanswered)
        if (o.outcome.kind === "refused" || o.outcome.sentAt >= killedAt + DEAD_MEMBER_ROUTED_MS)
          failures.push(
            `round ${round}: ${o.rack} ${JSON.stringify(o.outcome)} (sent ${o.outcome.sentAt - killedAt} ms after the kill)`,
          );

      // No Rack falsely offline: an offline verdict the survivor made on a Rack this test kept sending for.
      const events = await eventsSince(mc, survivor, testStart);
      // The fresh Racks of the hello load never heartbeat: their offline verdicts are right, and only counted.
      const fleetNames = new Set(heartbeating.map((r) => r.name));
      const offlineEvents = events.filter((e) => e.to_status === "offline");
      report.count(
        "offline_silent_load_racks",
        offlineEvents.filter((e) => e.name === null || !fleetNames.has(e.name)).length,
      );
      const offline = offlineEvents.filter((e) => e.name !== null && fleetNames.has(e.name));
      for (const e of offline) {
        const verdict =
          e.name === null
            ? undefined
            : sends.judgeOffline(e.name, {
                at: Date.parse(e.at),
                windowMs: OFFLINE_WINDOW_MS,
                intervalMs: HEARTBEAT_MS,
              });
        if (verdict?.excused) {
          report.count("offline_excused_test_stall");
          report.note(
            `round ${round}: ${e.name} offline at ${e.at}, excused: the test's own sends were ${verdict.gapMs} ms apart`,
          );
        } else {
          report.count("false_offline");
          failures.push(
            `round ${round}: ${e.name} marked offline at ${e.at} (kill at ${killedIso}); the test's own heartbeats for it were at most ${verdict?.gapMs} ms apart`,
          );
        }
      }
      const listed = await listRacks(mc, survivor);
      for (const r of heartbeating)
        if (listed.get(r.name)?.status !== "active")
          failures.push(
            `round ${round}: ${r.name} is ${listed.get(r.name)?.status} on ${mc.member(survivor)}`,
          );

      // Racks whose hello died with the Mixer say hello again with the same key: each enrolled once.
      report.count("racks_retried_after_kill", await confirmEveryRack(fleet, `round ${round}`));
      const kv = await readKv(mc);
      const lostKv = lostConfirmed(fleet, kv.racks, "KV");
      const lostApi = lostConfirmed(fleet, await listRacks(mc, survivor), `${mc.member(survivor)}'s API`);
      report.record.rowsLost += lostKv.length;
      failures.push(...lostKv, ...lostApi, ...kv.unclaimed);
      report.count("orphan_claims", kv.orphans.length);
      if (kv.orphans.length > 0)
        report.note(`round ${round}: orphan claims after the kill: ${kv.orphans.slice(0, 5).join(", ")}`);

      // The killed Mixer restarts on its data dir: its index is rebuilt from KV and lists what the survivor lists.
      step(`round ${round}: checked after the kill`);
      const restartAt = Date.now();
      try {
        await mc.start(victim);
      } catch (error) {
        report.record.crashes++;
        throw error;
      }
      report.max("restart_ready_ms", Date.now() - restartAt);
      let diff: string[] = [];
      await waitFor(
        async () => {
          diff = diffRackViews(await listRacks(mc, survivor), await listRacks(mc, victim), [
            mc.member(survivor),
            mc.member(victim),
          ]);
          return diff.length === 0;
        },
        {
          timeoutMs: 30_000,
          intervalMs: 250,
          message: `round ${round}: the restarted Mixer lists what the survivor lists`,
        },
      ).catch(() => failures.push(...diff.map((d) => `round ${round}, after the restart: ${d}`)));
    }
    step("rounds done");
    failures.push(...(await indexesMatchKv(mc, "after the kills")));
    step("indexes checked");
    report.note(
      `kill -9 of the leading Mixer (seed ${SEED}, ${ROUNDS} round(s)): lease ttl ${LEASE_TTL_MS} ms, takeover bound ${TAKEOVER_BOUND_MS} ms, hello bound ${HELLO_FAILOVER_BOUND_MS} ms; ${heartbeating.length} Racks heartbeating every ${HEARTBEAT_MS} ms (offline after ${OFFLINE_WINDOW_MS} ms)`,
    );
    expect([...failures, ...fleet.problems]).toEqual([]);
  });

  test(`SIGKILL of nats-server nodes under enrollment: a follower of the racks stream, its leader, then two nodes (${ROUNDS} round(s))`, async () => {
    const rng = new SeededRandom(SEED + 1);
    await using mc = await startCluster({
      FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false",
      FLUXRIG_CLUSTER_LEASE_TTL: "10s",
    });
    const fleet = await fleetOf(mc, "nk");
    const failures: string[] = [];
    /** Bounds the product misses (writes not resuming after an election): the known bug, asserted separately. */
    /** Hellos in flight when a node died that took longer than 25 s: a figure, not a failure (see docs). */
    const slow: string[] = [];
    const step = stepper("node kills");
    step("cluster up");
    const racksStream = `KV_${REGISTRY_BUCKETS.racks.name}`;
    const load = new HelloLoad(fleet, 3, 25_000);
    onTestFinished(() => load.stop());
    const t0 = Date.now();
    await diagnosed(
      mc,
      () => load.summary(t0),
      async () => {
        const killOne = async (round: number, which: "leader" | "follower"): Promise<void> => {
          const leader = await mc.nats.waitForLeader(racksStream);
          const node = which === "leader" ? leader : [0, 1, 2].filter((n) => n !== leader)[rng.int(0, 1)]!;
          const since = Date.now();
          const before = rng.int(5, 30);
          await waitFor(() => load.answeredSince(since) >= before, {
            timeoutMs: 30_000,
            message: `round ${round}: hellos answered before the ${which} kill`,
          });
          const killedAt = Date.now();
          await mc.nats.kill(node, "SIGKILL");
          step(`round ${round}: node ${node} (${which} of ${racksStream}) killed`);
          // Probes through the election: every one must be answered (a Rack retries nothing here), all within the bound.
          const probed = await probeHellos(fleet, killedAt, 3_000, PROBE_TIMEOUT_MS, {
            attemptMs: RACK_HELLO_ATTEMPT_MS,
          });
          report.count("probe_hellos_said_again", probed.saidAgain);
          step(
            `round ${round}: probes after the ${which} kill answered from ${probed.firstMs} to ${probed.lastMs} ms, ${probed.notAnswered.length} not answered`,
          );
          report.max(`hello_answered_after_${which}_kill_first_ms`, probed.firstMs);
          report.max(`hello_answered_after_${which}_kill_last_ms`, probed.lastMs);
          if (probed.lastMs > WRITE_RESUME_BOUND_MS || probed.notAnswered.length > 0)
            failures.push(
              `round ${round}: hellos sent in the 3 s after the SIGKILL of the ${which} of ${racksStream} (node ${node}) were answered ${probed.firstMs} to ${probed.lastMs} ms after it (bound ${WRITE_RESUME_BOUND_MS} ms); not answered: ${probed.notAnswered.join("; ") || "none"}`,
            );
          await waitFor(() => load.answeredSince(killedAt) >= 5, {
            // Long enough to ride out the known mirror stall below (seen lasting 95 s; once over 180 s), so the rest is still checked.
            timeoutMs: 180_000,
            message: `round ${round}: enrollment goes on with node ${node} down`,
          });
          await mc.nats.start(node);
          step(`round ${round}: node ${node} back`);
          // Replicas settle before the next fault: with the load paused, every node's stream state the same.
          await load.pause();
          for (const s of STREAMS) await mc.nats.waitForSameStreamState(s);
          step(`round ${round}: replicas identical`);
          load.resume();
        };

        for (let round = 0; round < ROUNDS; round++) {
          // The follower first: its kill needs no election, so it is checked before the leader's kill meets the
          // known mirror stall (below).
          await killOne(round, "follower");
          await killOne(round, "leader");

          // Two nodes down (the racks stream's leader and a follower): no quorum.
          await load.pause();
          const leader = await mc.nats.waitForLeader(racksStream);
          const down = [leader, [0, 1, 2].filter((n) => n !== leader)[rng.int(0, 1)]!];
          const pending = [...fleet.confirmed.entries()].find(([, c]) => c.status === "pending")?.[0];
          expect(pending, "a pending Rack to adopt").toBeDefined();
          for (const n of down) await mc.nats.kill(n, "SIGKILL");
          const downAt = Date.now();
          step(`round ${round}: nodes ${down} killed, no quorum`);
          // Sent over a new link to the surviving node: a hello the client wrote into a socket it had not yet found
          // dead would be lost (and the bootstrap links were seen still on a dead node 15 s after such a kill).
          const survivor = [0, 1, 2].find((n) => !down.includes(n))!;
          const probeLink = await mc.connect({
            servers: mc.nats.urls[survivor]!,
            name: `nk-probes-${round}`,
          });
          onTestFinished(() => probeLink.close());
          const probes = fleet.add(4, probeLink);
          const [probeOutcomes, adopts] = await Promise.all([
            Promise.all(probes.map((r) => helloPastNoResponders(fleet, r, 60_000))),
            Promise.all(
              [0, 1].map(async (i) => {
                const res = await mc.api<{ error?: { code: string } }>(i, `/api/v1/racks/${pending}/adopt`, {
                  method: "POST",
                  json: { reason: "no quorum fault test" },
                });
                return { i, status: res.status, code: res.body.error?.code, ms: Date.now() - downAt };
              }),
            ),
          ]);
          for (const o of probeOutcomes) {
            if (o.kind === "refused" && o.code === "unavailable") {
              report.count("hellos_refused_unavailable_without_quorum");
              report.max("hello_refusal_without_quorum_ms", o.answeredAt - o.sentAt);
            } else
              failures.push(
                `round ${round}, no quorum: a hello was not refused unavailable: ${JSON.stringify(o)}`,
              );
          }
          for (const a of adopts) {
            report.max("rest_refusal_without_quorum_ms", a.ms);
            if (a.status === 503 && a.code === "unavailable")
              report.count("rest_writes_refused_503_without_quorum");
            else
              failures.push(
                `round ${round}, no quorum: POST adopt on ${mc.member(a.i)}: HTTP ${a.status} ${a.code}`,
              );
          }
          if (mc.running.length !== 2) {
            report.record.crashes++;
            failures.push(`round ${round}: a Mixer died without quorum`);
          }

          // Quorum back: what was refused wrote nothing; then every Rack enrolls.
          step(`round ${round}: refusals seen`);
          for (const n of down) await mc.nats.start(n);
          // From the moment every node runs and the cluster is healthy again (testkit start waits for it).
          const backAt = Date.now();
          step(`round ${round}: quorum back`);
          report.max("quorum_down_ms", backAt - downAt);
          const kvNow = await readKv(mc);
          for (const r of probes)
            if (kvNow.racks.has(r.name))
              failures.push(`round ${round}: ${r.name}'s hello was refused without quorum, yet KV holds it`);
          if (kvNow.racks.get(pending!)?.status !== "pending")
            failures.push(
              `round ${round}: ${pending}'s adoption was refused without quorum, yet KV says ${kvNow.racks.get(pending!)?.status}`,
            );
          load.resume();
          const back = await probeHellos(fleet, backAt, 3_000, PROBE_TIMEOUT_MS, {
            attemptMs: RACK_HELLO_ATTEMPT_MS,
          });
          report.count("probe_hellos_said_again", back.saidAgain);
          step(
            `round ${round}: probes after quorum came back answered from ${back.firstMs} to ${back.lastMs} ms, ${back.notAnswered.length} not answered`,
          );
          report.max("hello_answered_after_quorum_back_first_ms", back.firstMs);
          report.max("hello_answered_after_quorum_back_last_ms", back.lastMs);
          if (back.lastMs > WRITE_RESUME_BOUND_MS || back.notAnswered.length > 0)
            failures.push(
              `round ${round}: hellos sent in the 3 s after quorum came back were answered ${back.firstMs} to ${back.lastMs} ms after it (bound ${WRITE_RESUME_BOUND_MS} ms); not answered: ${back.notAnswered.join("; ") || "none"}`,
            );
        }
        await load.stop();
        step("load stopped");
        const notAnswered = load.outcomes.filter((o) => o.outcome.kind !== "answered");
        report.count("hellos_sent", load.outcomes.length);
        report.count("hellos_not_answered_during_faults", notAnswered.length);
        for (const o of notAnswered) {
          if (o.outcome.kind === "no_answer") {
            report.count("hellos_unanswered_25s");
            slow.push(`${o.rack}: hello sent +${o.outcome.sentAt - t0} ms got no answer in 25 s`);
          } else if (o.outcome.kind === "refused" && o.outcome.code === "unavailable") {
            if (/index is behind/.test(o.outcome.message)) report.count("hellos_refused_index_behind");
          } else
            failures.push(
              `a hello refused otherwise than unavailable: ${o.rack} ${JSON.stringify(o.outcome)}`,
            );
        }
        report.count("racks_retried_after_faults", await confirmEveryRack(fleet, "after the node kills"));

        step("every Rack confirmed");
        // Every replica identical (each node's own /jsz), every confirmed write in KV, every index equal to KV.
        for (const s of STREAMS) {
          const states = await mc.nats.waitForSameStreamState(s);
          report.max(`stream_messages.${s}`, states[0]!.messages);
        }
        const kv = await readKv(mc);
        const lost = lostConfirmed(fleet, kv.racks, "KV");
        report.record.rowsLost += lost.length;
        failures.push(...lost, ...kv.unclaimed);
        if (kv.sharedMachineIds > 0)
          failures.push(`${kv.sharedMachineIds} MachineIDs held by two records in KV`);
        report.count("orphan_claims", kv.orphans.length);
        if (kv.orphans.length > 0)
          report.note(`orphan claims after the node kills: ${kv.orphans.slice(0, 5).join(", ")}`);
        const dup = fleet.duplicates();
        expect(dup).toEqual({ entityIds: 0, machineIds: 0 });
        expect(kv.racks.size, "Racks in KV").toBe(fleet.racks.size);
        failures.push(...(await indexesMatchKv(mc, "after the node kills")));
        step("indexes checked");
        report.note(
          `node kills (seed ${SEED}, ${ROUNDS} round(s)): SIGKILL of a follower of ${racksStream}, of its leader, then of two nodes; ${load.outcomes.length} hellos, 3 in flight`,
        );
        // A hello in flight when a stream's leader dies meets an election in each stream it writes (claims,
        // records, audit), one after another: it may take longer than a fresh one. The Rack says hello again and
        // is enrolled once (checked above); how many took longer than 25 s is a figure.
        for (const line of slow) report.note(`in flight at a kill, answered late: ${line}`);
        report.count("hellos_in_flight_unanswered_25s", slow.length);
        // A restarted node its peers could not hear is started once more by the testkit (docs/cluster.md, "A member
        // back from a crash"): a nats-server fault, counted so that it stays visible.
        report.count("nats_member_restarts_cut_off", mc.nats.rejoinRestarts.length);
        for (const r of mc.nats.rejoinRestarts) report.note(`node ${r.node} started again: ${r.reason}`);
        expect([...failures, ...fleet.problems]).toEqual([]);
      },
    );
  }, 900_000);
});
