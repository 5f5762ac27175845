// kill -9 of the real Mixer at seeded-random moments during enrollment, adoption and heartbeat flushes, then a
// restart: the DuckDB file must hold every acknowledged enrollment and adoption, no MachineID twice, no Rack half
// adopted, and last_seen within one flush interval (plus slack) of the last heartbeat sent before the kill.
//
// Replay a failure with FLUXRIG_FAULT_SEED=<the seed this file logs>.
import { MixerHarness, openFaultScenario, ScriptedRack, SeededRandom, waitFor } from "@fluxrig/testkit";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeEach, describe, expect, onTestFinished, test } from "vitest";
import { type RegistrySnapshot, snapshotRegistry } from "./support/registry-snapshot.js";

const {
  report,
  iterations: ITERATIONS,
  seed: SEED,
} = openFaultScenario(import.meta.url, { afterAll, beforeEach }, { seeded: true, tail: 80 });
const HEARTBEAT_MS = 200;
const FLUSH_MS = 200;
/** Delivery and scheduling slack on a loaded 2-core machine, on top of one flush interval. */
const LAST_SEEN_SLACK_MS = 1500;
const WAVE = 10;
const PHASES = ["enrollment", "adoption", "heartbeat"] as const;
type Phase = (typeof PHASES)[number];

/** What the test knows about one scripted Rack: what the Mixer acknowledged, and when it last heard from us. */
interface Tracked {
  rack: ScriptedRack;
  /** The hello reply that first named its entity id and MachineID (the enrollment acknowledgement). */
  enrolled?: { entityId: string; machineId: number; atMs: number };
  /** A 2xx answer to POST /adopt: the adoption acknowledgement. */
  adopted?: { serial: number };
  /** When recent heartbeats were handed to the NATS client (the last few hundred). */
  sentMs: number[];
}

class Fleet {
  readonly racks = new Map<string, Tracked>();
  /** Disagreements seen on the wire (a known key answered with another entity id). */
  readonly problems: string[] = [];
  #next = 0;

  constructor(readonly nc: NatsConnection) {}

  add(count: number): Tracked[] {
    const added: Tracked[] = [];
    for (let i = 0; i < count; i++) {
      const name = `k9-${String(this.#next++).padStart(4, "0")}`;
      const t: Tracked = { rack: new ScriptedRack(this.nc, name), sentMs: [] };
      this.racks.set(name, t);
      added.push(t);
    }
    return added;
  }

  /** One hello; the reply (when one comes) is recorded as an acknowledgement. Never throws. */
  async hello(t: Tracked): Promise<boolean> {
    try {
      const reply = await t.rack.hello({ passport: undefined });
      if (reply.entity_id === undefined || reply.machine_id === undefined) return false;
      if (t.enrolled && t.enrolled.entityId !== reply.entity_id) {
        this.problems.push(
          `${t.rack.name}: the same key got entity ${reply.entity_id}, was ${t.enrolled.entityId}`,
        );
      }
      t.enrolled ??= { entityId: reply.entity_id, machineId: reply.machine_id, atMs: Date.now() };
      return true;
    } catch {
      return false; // no responder, timeout: not acknowledged
    }
  }

  heartbeatAll(): void {
    const now = Date.now();
    for (const t of this.racks.values()) {
      if (!t.enrolled) continue;
      try {
        t.rack.heartbeat({ status: t.adopted ? "active" : "pending" });
        t.sentMs.push(now);
        if (t.sentMs.length > 400) t.sentMs.splice(0, 200);
      } catch {
        // The connection is closing (the test is ending).
      }
    }
  }

  pendingAcked(): Tracked[] {
    return [...this.racks.values()].filter((t) => t.enrolled && !t.adopted);
  }
}

async function adopt(h: MixerHarness, t: Tracked): Promise<boolean> {
  try {
    const res = await h.api<{ status: string; passport: { serial: number } | null }>(
      `/api/v1/racks/${t.rack.name}/adopt`,
      { method: "POST", json: { reason: "kill -9 fault test" } },
    );
    if (res.status >= 200 && res.status < 300 && res.body.passport) {
      t.adopted = { serial: res.body.passport.serial };
      return true;
    }
    return false;
  } catch {
    return false; // connection reset by the kill: not acknowledged
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every way the file can disagree with what was acknowledged; one message per violation. */
function violations(
  snap: RegistrySnapshot,
  fleet: Fleet,
  up: { readyAtMs: number; killedAtMs: number },
): { messages: string[]; lost: number; wronglyAdmitted: number; worstLagMs: number; checked: number } {
  const messages: string[] = [];
  let lost = 0;
  let wronglyAdmitted = snap.halfAdopted.filter((r) => r.status === "pending").length;
  let worstLagMs = 0;
  let checked = 0;
  for (const s of snap.sharedMachineIds) messages.push(`MachineID ${s.machineId} is held by ${s.rows} rows`);
  if (snap.orphans > 0)
    messages.push(`${snap.orphans} Rack rows without their lifecycle row (or the reverse)`);
  for (const r of snap.halfAdopted)
    messages.push(`${r.name} half adopted: ${r.status} with passport serial ${r.passportSerial}`);
  for (const [name, t] of fleet.racks) {
    const row = snap.racks.get(name);
    if (t.enrolled) {
      if (!row) {
        lost++;
        messages.push(`${name}: enrollment acknowledged (entity ${t.enrolled.entityId}) but no row`);
        continue;
      }
      if (row.entityId !== t.enrolled.entityId || row.machineId !== t.enrolled.machineId) {
        lost++;
        messages.push(
          `${name}: acknowledged entity ${t.enrolled.entityId}/${t.enrolled.machineId}, file has ${row.entityId}/${row.machineId}`,
        );
      }
      if (row.publicKey !== t.rack.publicKey) messages.push(`${name}: the row holds another public key`);
    }
    if (t.adopted && row && (row.status !== "active" || (row.passportSerial ?? 0) < t.adopted.serial)) {
      lost++;
      messages.push(
        `${name}: adoption acknowledged (serial ${t.adopted.serial}) but the file says ${row.status}, serial ${row.passportSerial}`,
      );
    }
    // last_seen: every heartbeat sent while this Mixer process was up, and at least one flush interval (plus slack)
    // before the kill, must be in the file. Heartbeats sent while no Mixer ran were never received by anyone.
    const { readyAtMs, killedAtMs } = up;
    const durableBefore = killedAtMs - FLUSH_MS - LAST_SEEN_SLACK_MS;
    const covered = t.sentMs.filter((ms) => ms > readyAtMs && ms <= durableBefore).at(-1);
    const lastSent = t.sentMs.filter((ms) => ms > readyAtMs && ms <= killedAtMs).at(-1);
    if (row && covered !== undefined) {
      checked++;
      const seen = row.lastSeenMs ?? 0;
      if (lastSent !== undefined) worstLagMs = Math.max(worstLagMs, lastSent - seen);
      // The Mixer stamps last_seen when it receives a heartbeat, on this same host's clock: never before the send.
      if (seen < covered - 5) {
        lost++;
        messages.push(
          `${name}: last_seen ${new Date(seen).toISOString()} misses the heartbeat sent at ${new Date(covered).toISOString()}, ${killedAtMs - covered} ms before the kill (flush ${FLUSH_MS} ms + slack ${LAST_SEEN_SLACK_MS} ms)`,
        );
      }
    }
    if (row?.lastSeenMs && row.lastSeenMs > killedAtMs + 50)
      messages.push(`${name}: last_seen is after the kill`);
  }
  for (const name of snap.racks.keys()) {
    if (fleet.racks.has(name)) continue;
    wronglyAdmitted++;
    messages.push(`${name}: a row nobody enrolled`);
  }
  return { messages, lost, wronglyAdmitted, worstLagMs, checked };
}

describe("kill -9 of the Mixer (real process, real DuckDB file)", () => {
  test(`${ITERATIONS} kills during enrollment, adoption and heartbeat flushes leave a consistent registry`, async () => {
    const rng = new SeededRandom(SEED);
    await using h = await MixerHarness.create({
      env: {
        FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: `${HEARTBEAT_MS}ms`,
        FLUXRIG_PRESENCE_FLUSH_INTERVAL: `${FLUSH_MS}ms`,
        // Presence transitions are not under test here: restarts must not turn into offline noise.
        FLUXRIG_PRESENCE_MISSED_HEARTBEATS: "50",
        FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false",
      },
    });
    let readyAtMs = Date.now();
    const fleet = new Fleet(await h.client());
    const timer = setInterval(() => fleet.heartbeatAll(), HEARTBEAT_MS);
    onTestFinished(() => clearInterval(timer));

    // A first wave enrolled before any kill, so that even a first heartbeat phase has Racks to hold to last_seen.
    for (const t of fleet.add(WAVE)) expect(await fleet.hello(t), `${t.rack.name} enrolled`).toBe(true);

    // Phases cycle in a seeded order, so every three iterations cover all three.
    let order: Phase[] = [];
    const failures: string[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      if (order.length === 0) order = rng.shuffle(PHASES);
      const phase = order.shift()!;
      report.count(`phase.${phase}`);

      // Racks whose enrollment was never acknowledged (their hello died with a Mixer) try again: same key, same row.
      await Promise.all([...fleet.racks.values()].filter((t) => !t.enrolled).map((t) => fleet.hello(t)));
      if (phase === "adoption" && fleet.pendingAcked().length < WAVE) {
        const fresh = fleet.add(WAVE);
        await Promise.all(fresh.map((t) => fleet.hello(t)));
      }

      const phaseStartMs = Date.now();
      let killed = false;
      const killAfter = rng.int(1, WAVE - 2);
      const extraDelayMs = rng.int(0, 40);
      let acks = 0;
      const launch = (work: () => Promise<boolean>, atMs: number): void => {
        setTimeout(() => {
          if (killed) return;
          void work().then((ok) => {
            if (ok) acks++;
          });
        }, atMs);
      };
      if (phase === "enrollment") {
        for (const t of fleet.add(WAVE)) launch(() => fleet.hello(t), rng.int(0, 300));
      } else if (phase === "adoption") {
        for (const t of fleet.pendingAcked().slice(0, WAVE)) launch(() => adopt(h, t), rng.int(0, 300));
      }
      if (phase === "heartbeat") {
        // A flush of this process has happened; then the kill lands anywhere in the next two flush periods.
        await waitFor(
          async () =>
            ((await h.api<{ counters: Record<string, number> }>("/api/v1/cluster")).body.counters[
              "presence.flushed_rows"
            ] ?? 0) > 0,
          { timeoutMs: 10_000, message: "a presence flush in this Mixer process" },
        );
        // The kill lands anywhere in two flush periods after the process has run long enough for its flushes to
        // be held to the last_seen bound: the fault's random moment, not a synchronisation.
        const earliest = Math.max(readyAtMs, phaseStartMs) + FLUSH_MS + LAST_SEEN_SLACK_MS + 3 * HEARTBEAT_MS;
        await delay(Math.max(0, earliest - Date.now()) + rng.int(0, 2 * FLUSH_MS));
      } else {
        await waitFor(() => acks >= killAfter, {
          timeoutMs: 15_000,
          message: `${killAfter} ${phase} acknowledgements before the kill`,
        });
        await delay(extraDelayMs); // the fault's random moment, not a synchronisation
      }

      if (!h.mixer?.running) report.record.crashes++;
      expect(h.mixer?.running, "the Mixer died before the test killed it").toBe(true);
      killed = true;
      const killedAtMs = Date.now();
      await h.kill9();
      const snap = await snapshotRegistry(h.dataDir);
      const found = violations(snap, fleet, { readyAtMs, killedAtMs });
      report.record.rowsLost += found.lost;
      report.record.wronglyAdmitted += found.wronglyAdmitted;
      report.count("half_adopted", snap.halfAdopted.length);
      report.count("shared_machine_ids", snap.sharedMachineIds.length);
      report.max("worst_last_seen_lag_ms", found.worstLagMs);
      report.count("last_seen_checks", found.checked);
      if (phase === "heartbeat")
        expect(found.checked, "the heartbeat phase checks last_seen").toBeGreaterThan(0);
      report.max("racks", fleet.racks.size);
      for (const m of found.messages) failures.push(`iteration ${i} (${phase}, seed ${SEED}): ${m}`);

      try {
        await h.start();
        readyAtMs = Date.now();
      } catch (err) {
        report.record.crashes++;
        throw err;
      }
      // The restarted Mixer serves what the file holds: the same rows, an unbroken audit chain.
      const listed = await h.api<{ items: Array<{ name: string; entity_id: string; status: string }> }>(
        "/api/v1/racks?limit=1000",
      );
      expect(listed.status).toBe(200);
      const served = new Map(listed.body.items.map((r) => [r.name, r]));
      expect(served.size, `iteration ${i}: rows served after restart`).toBe(snap.racks.size);
      for (const [name, row] of snap.racks) {
        expect(served.get(name)?.entity_id, `${name} after restart`).toBe(row.entityId);
        expect(served.get(name)?.status, `${name} after restart`).toBe(row.status);
      }
      const chain = await h.api<{ ok: boolean }>("/api/v1/events/verify");
      expect(chain.body, `iteration ${i}: audit chain after kill -9`).toMatchObject({ ok: true });
      report.max("audit_events", snap.auditEvents);
    }
    report.note(
      `kill -9 at seeded moments (seed ${SEED}): enrollment/adoption after 1..${WAVE - 2} acknowledgements + 0-40 ms, heartbeat 0-${2 * FLUSH_MS} ms once the process has run ${FLUSH_MS + LAST_SEEN_SLACK_MS + 3 * HEARTBEAT_MS} ms; last_seen must cover every heartbeat sent while the process was up and more than flush ${FLUSH_MS} ms + slack ${LAST_SEEN_SLACK_MS} ms before the kill`,
    );
    expect([...failures, ...fleet.problems]).toEqual([]);
  });
});
