// Phase: thundering herd. nats-server restarts; every Rack reconnects (jwt: re-authenticates, its first redial spread
// over --reconnect-spread and later ones paced by the reconnect backoff, as apps/rack's) and heartbeats again, and
// with --herd hello also says hello with its passport at once.
// What apps/rack does after its link dropped, imported rather than copied: the spread first redial, then the
// reconnect backoff.
import { arrivalRate, firstRedialDelayMs, redialDelayMs } from "../../apps/rack/src/bus/reconnect-spread.js";
import { Backoff, DEFAULT_TIMING } from "../../apps/rack/src/lifecycle/backoff.js";
import { ascending, latencyFigures, round } from "./figures.js";
import type { NatsConnection, RackRow } from "./mixer-under-test.js";
import { settle } from "./phase-steady.js";
import { cpuMs } from "./proc-stats.js";
import { helloBytes, type SwarmContext } from "./swarm-context.js";
import { sleep } from "./waits.js";

/** The Rack's own hello retry policy after transport failures (apps/rack DEFAULT_TIMING.enroll). */
const RETRY = DEFAULT_TIMING.enroll;

function backoffMs(attempt: number): number {
  const base = Math.min(RETRY.maxMs, RETRY.initialMs * RETRY.factor ** (attempt - 1));
  return base * (1 - RETRY.jitter + Math.random() * 2 * RETRY.jitter);
}

/** At most `limit` of the given tasks run at once; the others wait in order. */
class Gate {
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  constructor(readonly limit: number) {}
  /** Whether a new task would wait. */
  get busy(): boolean {
    return this.#running >= this.limit;
  }
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}

/** Resolves true when `nc` reports a reconnect (after the restart began), false at the deadline. */
function reconnected(nc: NatsConnection, deadline: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()));
    timer.unref();
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type !== "reconnect") continue;
        clearTimeout(timer);
        resolve(true);
        return;
      }
    })();
  });
}

export async function herdPhase(ctx: SwarmContext): Promise<void> {
  const { fleet, opts, mut } = ctx;
  ctx.progress.phase(
    `thundering herd: nats-server restart, ${fleet.enrolled} Racks say hello with their passport at once`,
  );
  const before = new Map((await mut.allRacks()).map((r) => [r.name, r] as const));
  const offline0 = (await mut.cluster()).counters["presence.offline"] ?? 0;
  const deadline = performance.now() + opts.herdTimeoutMs;
  const t0 = performance.now();
  const t0Date = new Date();
  const cpu0 = cpuMs(mut.mixerPid);
  const natsPid0 = mut.nats.pid;
  const shed0 = ctx.pump.shed;
  const reconnects = fleet.conns.map((nc) => reconnected(nc, deadline));
  for (let i = 0; i < fleet.size; i++) fleet.live[i] = 0;

  const doneAt = new Float64Array(fleet.size);
  const helloing = opts.herdMode === "hello";
  /** Per Rack: Date.now() when its connection was back (jwt: its own, re-authenticated). */
  const backAt = new Float64Array(fleet.size);
  const herd = fleet.enrolled;
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let active = 0;
  let retries = 0;
  let wrongIdentity = 0;
  const fail = (why: string) => failures.set(why, (failures.get(why) ?? 0) + 1);
  /** Counts a Rack's hello reply: true when it is active again with its passport, else the refusal is tallied. */
  type Reply = Awaited<ReturnType<typeof fleet.helloOwn>>;
  const tallied = (i: number, reply: Reply, t: number): boolean => {
    if (reply.status === "active" && reply.passport !== undefined) {
      if (reply.entity_id !== fleet.entityIds[i] || reply.machine_id !== fleet.machineIds[i]) wrongIdentity++;
      latencies.push(performance.now() - t);
      doneAt[i] = performance.now();
      active++;
      return true;
    }
    fail(reply.error?.code ?? `status ${reply.status}`);
    return false;
  };

  const rackHello = async (i: number): Promise<void> => {
    for (let attempt = 1; performance.now() < deadline; attempt++) {
      const t = performance.now();
      try {
        const reply = await fleet.racks[i]!.sendRaw(helloBytes(fleet, i, true));
        if (tallied(i, reply, t)) return;
      } catch (err) {
        fail((err as Error).message.slice(0, 60));
      }
      retries++;
      await sleep(backoffMs(attempt));
    }
  };

  /**
   * jwt: the server closed every Rack's own connection. Each Rack connects again as itself (a new nonce signed with
   * its key, its stored JWT: every Rack re-authenticates) as apps/rack's client does: its first redial waits its draw
   * from the spread, counted from the drop (the restart's start, so a Rack that draws less than the outage is
   * refused and retries like a real one); later redials come one reconnect-backoff step, but at least the spread,
   * after the previous dial began (nats.js paces dials from their start). Then it heartbeats again at once and, with --herd hello, says hello with
   * its passport over its own connection (a failed hello is retried with the enroll backoff).
   */
  // TCP handshakes the generator keeps in flight (--herd-in-flight, default 512). One process signs every Rack's
  // nonce; with 10,000 at once it cannot answer the servers' INFO within nats-server's auth timeout (2 s) and is
  // refused 'Authentication Timeout', partly an artefact of simulating 10,000 machines in one. With the Racks' spread
  // the cap seldom binds: the note says how many dials waited for it.
  const handshakes = new Gate(opts.herdInFlight);
  let handshakesWaited = 0;
  let refusedWhileDown = 0;
  let busUp = false;
  const rackReconnectJwt = async (i: number): Promise<void> => {
    await sleep(firstRedialDelayMs(opts.reconnectSpreadMs));
    const redial = new Backoff(DEFAULT_TIMING.reconnect);
    while (performance.now() < deadline) {
      const t = performance.now();
      if (!busUp) {
        // The server is still down: the dial is refused at once (ECONNREFUSED), as a real Rack's is. Not dialled for
        // real, so testkit's readiness probe of the new server is not starved by the generator.
        retries++;
        refusedWhileDown++;
        await sleep(
          Math.max(0, t + redialDelayMs(opts.reconnectSpreadMs, redial.next()) - performance.now()),
        );
        continue;
      }
      try {
        if (handshakes.busy) handshakesWaited++;
        await handshakes.run(() => fleet.connectOwn(i));
        backAt[i] = Date.now();
        fleet.lastSentMs[i] = Date.now();
        fleet.maxGapMs[i] = 0;
        fleet.watchNext[i] = 1;
        fleet.live[i] = 1;
        if (!helloing) return;
        for (let hello = 1; performance.now() < deadline; hello++) {
          const th = performance.now();
          try {
            const reply = await fleet.helloOwn(i, helloBytes(fleet, i, true));
            if (tallied(i, reply, th)) return;
          } catch (err) {
            fail((err as Error).message.slice(0, 60));
          }
          retries++;
          await sleep(backoffMs(hello));
        }
        return;
      } catch (err) {
        fail((err as Error).message.slice(0, 60));
      }
      retries++;
      await sleep(Math.max(0, t + redialDelayMs(opts.reconnectSpreadMs, redial.next()) - performance.now()));
    }
  };

  // jwt: every Rack's own reconnect starts with the drop, as apps/rack's does (rackReconnectJwt).
  const restarted = mut.nats.restart();
  const hellos: Array<Promise<void>> = [];
  if (opts.auth === "jwt") {
    for (let i = 0; i < fleet.size; i++) if (fleet.isEnrolled(i)) hellos.push(rackReconnectJwt(i));
  }
  await restarted;
  busUp = true;
  const busReady = performance.now();
  await Promise.all(
    reconnects.map(async (ok, c) => {
      if (opts.auth === "jwt") return;
      if (!(await ok)) return;
      // This connection is back: its Racks heartbeat again and all say hello at once (the herd).
      for (let i = c; i < fleet.size; i += fleet.conns.length) {
        if (!fleet.isEnrolled(i)) continue;
        // Silence is counted from here: the outage before its reconnect is not the Rack's.
        backAt[i] = Date.now();
        fleet.lastSentMs[i] = Date.now();
        fleet.maxGapMs[i] = 0;
        fleet.watchNext[i] = 1;
        fleet.live[i] = 1;
        if (helloing) hellos.push(rackHello(i));
      }
    }),
  );
  const progress = setInterval(() => ctx.progress.update(`${active}/${herd} active again`), 250);
  await Promise.all(hellos);
  let seen: SeenAgain | undefined;
  if (!helloing) {
    // Heartbeats only: a Rack is back when the Mixer took a heartbeat of it sent after its reconnect (its row's
    // last_seen, stamped when the Mixer takes a heartbeat, at or after the reconnect).
    seen = await seenAgain(ctx, backAt, t0Date, deadline, (n) => {
      active = n;
    });
    for (let i = 0; i < fleet.size; i++) if (seen.at[i]! > 0) doneAt[i] = seen.at[i]! - t0Date.getTime() + t0;
  }
  clearInterval(progress);
  const cpu1 = cpuMs(mut.mixerPid);
  // The restart makes a new nats-server process: its whole CPU time so far is the herd's (and its start-up's).
  const nats1 = mut.nats.pid === natsPid0 ? undefined : cpuMs(mut.nats.pid);
  const allDone = active === herd;
  const lastDone = allDone ? doneAt.reduce((a, b) => Math.max(a, b), 0) : Number.NaN;
  const lastBack = backAt.reduce((a, b) => Math.max(a, b), 0) - t0Date.getTime();
  let lastFirstBeat = 0;
  for (let i = 0; i < fleet.size; i++)
    if (fleet.isEnrolled(i))
      lastFirstBeat = Math.max(lastFirstBeat, fleet.firstSentMs[i]! - t0Date.getTime());

  // What the registry says now: same rows, same entity ids and MachineIDs, nobody new.
  await sleep(opts.flushIntervalMs);
  const after = await mut.allRacks();
  let changed = 0;
  let added = 0;
  for (const r of after) {
    const was: RackRow | undefined = before.get(r.name);
    if (was === undefined) added++;
    else if (was.entity_id !== r.entity_id || was.machine_id !== r.machine_id) changed++;
  }
  const offlineMarked = ((await mut.cluster()).counters["presence.offline"] ?? 0) - offline0;
  const pumpShed = ctx.pump.shed - shed0;
  // When the sweep marked Racks offline during the herd, relative to the restart (a storm shows here).
  const storm = (await mut.eventsSince(t0Date)).filter((e) => e.to_status === "offline");
  // Which of them the generator itself left silent for a whole window after their reconnect (its pump falls behind
  // and sheds when the machine is short of CPU): those were offline as far as anyone could tell, not false.
  const windowMs = opts.intervalMs * opts.missed;
  const indexOf = new Map(fleet.racks.map((r, i) => [r.name, i] as const));
  const silentAtSource = storm.filter((e) => {
    const i = e.name === null ? undefined : indexOf.get(e.name);
    return i !== undefined && fleet.maxGapMs[i]! > windowMs;
  }).length;
  const stormAt = ascending(storm.map((e) => (Date.parse(e.at) - t0Date.getTime()) / 1000));
  const stormText =
    storm.length === 0
      ? ""
      : ` (offline events from +${round(stormAt[0]!, 1)} s to +${round(stormAt[stormAt.length - 1]!, 1)} s after the restart began)`;
  const settled = await settle(ctx, 60_000);
  const counts = (await mut.cluster()).counts;
  const settleText = `${settled ? "settled" : "NOT settled within 60 s"}: registry then says ${counts.active ?? 0} active, ${counts.offline ?? 0} offline`;
  const sorted = ascending(latencies);
  const arrival =
    opts.reconnectSpreadMs > 0
      ? `${Math.round(arrivalRate(herd, opts.reconnectSpreadMs))} first redials a second`
      : "all at once";
  const perSecond = new Map<number, number>();
  for (let i = 0; i < fleet.size; i++) {
    if (backAt[i] === 0) continue;
    const second = Math.floor((backAt[i]! - t0Date.getTime()) / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  const peakBack = Math.max(0, ...perSecond.values());
  const failed = [...failures].map(([k, n]) => `${n}x ${k}`).join("; ");
  ctx.book.add(
    {
      name: "herd.all_active",
      value: round((lastDone - t0) / 1000, 2),
      unit: "s",
      note:
        (helloing
          ? `nats-server restart (SIGTERM, same port) -> every one of ${herd} Racks answered active to a hello with its ` +
            `passport (${active}/${herd}); bus back after ${round((busReady - t0) / 1000, 2)} s; each Rack hellos as ` +
            `soon as its connection (${opts.auth === "jwt" ? "its own" : `${fleet.conns.length} shared`}) reconnects and heartbeats again at once; a hello waits ` +
            `10 s for its reply (ScriptedRack; apps/rack waits 5 s), then retries 1 s doubling +-20% as apps/rack does; ` +
            `${retries} retries${failed ? ` (${failed})` : ""}; `
          : `nats-server restart (SIGTERM, same port) -> the Mixer took a heartbeat sent after its reconnect from every ` +
            `one of ${herd} Racks (${active}/${herd}; the latest such heartbeat's last_seen, as the Mixer stamped it, ` +
            `polled from GET /api/v1/racks); no hellos, as apps/rack after a nats-server restart while active; bus back ` +
            `after ${round((busReady - t0) / 1000, 2)} s; last Rack reconnected at +${round(lastBack / 1000, 2)} s, its ` +
            `first heartbeat sent by +${round(lastFirstBeat / 1000, 2)} s; ${retries} reconnect retries${failed ? ` (${failed})` : ""}; `) +
        `${settleText}; ` +
        `${opts.auth === "jwt" ? `bus auth jwt: each Rack reconnects on its own connection with its own key and JWT (re-authenticates) as apps/rack does: first redial at a uniform draw from reconnect_spread ${opts.reconnectSpreadMs} ms after the drop (${arrival}), later ones paced by the reconnect backoff (${DEFAULT_TIMING.reconnect.initialMs} ms doubling +-${DEFAULT_TIMING.reconnect.jitter * 100}%) but at least the spread apart; ${refusedWhileDown} redials came while the bus was down (refused, not dialled); ${handshakesWaited} dials waited for the generator's cap of ${opts.herdInFlight} handshakes in flight; reconnects completed per second at most ${peakBack}${helloing ? "; then hellos there" : ""}; ` : ""}` +
        `the new nats-server process used ${nats1 === undefined ? "?" : `${round(nats1 / 1000, 1)} s of CPU (${round((nats1 * 1000) / Math.max(1, herd), 0)} us per Rack)`} by then; ` +
        `target <= 10 s for 10,000; ${ctx.command}`,
    },
    {
      name: "herd.after_bus_ready",
      value: round((lastDone - busReady) / 1000, 2),
      unit: "s",
      note:
        `nats-server accepting connections again -> all Racks active; fluxrig-mixer used ` +
        `${cpu0 === undefined || cpu1 === undefined ? "?" : round((cpu1 - cpu0) / 1000, 1)} s of CPU meanwhile ` +
        `(${cpu0 === undefined || cpu1 === undefined ? "?" : round(((cpu1 - cpu0) * 1000) / Math.max(1, active), 0)} us per Rack, ${helloing ? "its hello, " : ""}heartbeats and flapping included); ` +
        `${mut.memoryText()}`,
    },
    ...(helloing
      ? latencyFigures("herd.hello_", sorted, { digits: 0, note: "successful hello request to reply" })
      : []),
    {
      name: "herd.false_offline",
      value: Math.max(0, offlineMarked - silentAtSource),
      unit: "Racks",
      note:
        `Racks the Mixer marked offline during the herd while the generator kept publishing their heartbeats (no gap ` +
        `over the window from their reconnect on)${stormText}; ${offlineMarked} marked offline in all, ` +
        `${silentAtSource} of them left silent over a whole window by the generator itself (pump ${pumpShed} heartbeats ` +
        `shed meanwhile); window heartbeat_interval ${opts.intervalMs} ms x missed ${opts.missed}`,
    },
    {
      name: "herd.new_machine_ids",
      value: changed + added + wrongIdentity,
      unit: "Racks",
      note: `registry rows before/after compared by name (GET /api/v1/racks, all pages): ${changed} changed entity id or MachineID, ${added} new rows, ${wrongIdentity} hello replies naming another identity; must be 0`,
    },
  );
}

interface SeenAgain {
  /** Per Rack: the Mixer's last_seen (epoch ms) at the first poll that showed it at or after the Rack's reconnect. */
  at: Float64Array;
}

/**
 * Polls every Rack row (all pages) until each enrolled Rack's last_seen is at or after its reconnect (`backAt`), or
 * the deadline. The first last_seen seen that way is kept: the poll every 250 ms and the batched flush
 * (flush_interval) make it later than the Mixer's first heartbeat by at most a poll, a flush and a heartbeat interval.
 */
async function seenAgain(
  ctx: SwarmContext,
  backAt: Float64Array,
  since: Date,
  deadline: number,
  onCount: (n: number) => void,
): Promise<SeenAgain> {
  const { fleet, mut } = ctx;
  const at = new Float64Array(fleet.size);
  const indexOf = new Map(fleet.racks.map((r, i) => [r.name, i] as const));
  const want = fleet.enrolled;
  let count = 0;
  while (count < want && performance.now() < deadline) {
    for (const row of await mut.allRacks()) {
      const i = indexOf.get(row.name);
      if (i === undefined || at[i]! > 0 || backAt[i] === 0 || row.last_seen === null) continue;
      const seenMs = Date.parse(row.last_seen);
      if (seenMs >= backAt[i]! && seenMs >= since.getTime()) {
        at[i] = seenMs;
        count++;
      }
    }
    onCount(count);
    if (count < want) await sleep(250);
  }
  return { at };
}
