// Tests of presence: drops, silence after the window, coming back, grace after restart, batched flush, following
// the directory (which owns status: a test "commits" a status change by putting the Rack's new record there).
import { describe, expect, test } from "vitest";
import { heartbeatFixture, RACK_ID, rackRecordFixture } from "../../test/support/presence-fixtures.js";
import { RackDirectory } from "../registry/rack-directory.js";
import type { RackRecord } from "../registry/registry-records.js";
import { type PresenceOptions, type PresenceSink, PresenceTracker } from "./presence-tracker.js";

const hb = heartbeatFixture;
const rackB = RACK_ID + (1n << 40n);
const opts: PresenceOptions = { heartbeatIntervalMs: 100, missedHeartbeats: 3, startedAtMs: 0 };

function setup(
  racks: RackRecord[] = [rackRecordFixture()],
  options = opts,
  sinkOver: Partial<PresenceSink> = {},
) {
  const calls: string[] = [];
  const flushed: Array<{ entityId: bigint; lastSeen: Date; stats: unknown }> = [];
  const sink: PresenceSink = {
    flush: async (rows) => {
      const row = (entityId: bigint, lastSeenMs: number, statsJson: string | null) => {
        flushed.push({
          entityId,
          lastSeen: new Date(lastSeenMs),
          stats: statsJson === null ? null : JSON.parse(statsJson),
        });
      };
      while (rows(row, 1_000));
    },
    markBack: async (rack, d) => {
      calls.push(`back:${rack.name}:${d.flaps}`);
    },
    markStopped: async (rack, d) => {
      calls.push(`stopped:${rack.name}:${d.lastSeen.getTime()}`);
    },
    ...sinkOver,
  };
  const directory = new RackDirectory();
  for (const rack of racks) directory.put(rack);
  const t = new PresenceTracker(options, { directory, sink });
  /** What a committed status change does: the directory gets the Rack's new record. */
  const commit = (name: string, over: Partial<RackRecord>) => {
    directory.put({ ...directory.rackByName(name)!, ...over });
  };
  const silent = (nowMs: number) => t.silent(nowMs).map((s) => `${s.rack.name}:${s.missedIntervals}`);
  return { t, directory, commit, silent, calls, flushed };
}

const settle = () => new Promise((r) => setImmediate(r));

describe("PresenceTracker", () => {
  test("heartbeats for unknown names, other ids, rejected Racks and replays are dropped with a reason", () => {
    const { t: empty } = setup([]);
    expect(empty.heartbeat(hb(), RACK_ID, 10)).toEqual({ accepted: false, reason: "unknown_rack" });
    const { t: known, commit: commitKnown } = setup();
    expect(known.heartbeat(hb(), RACK_ID + 1n, 10)).toEqual({ accepted: false, reason: "entity_mismatch" });
    expect(known.heartbeat(hb({ seq: 5 }), RACK_ID, 10).accepted).toBe(true);
    expect(known.heartbeat(hb({ seq: 5 }), RACK_ID, 11)).toEqual({ accepted: false, reason: "replay" });
    expect(known.heartbeat(hb({ seq: 1, session: "s2" }), RACK_ID, 12).accepted).toBe(true);
    commitKnown("rack-a", { status: "rejected" });
    expect(known.heartbeat(hb({ seq: 10, session: "s2" }), RACK_ID, 14)).toMatchObject({
      reason: "rejected",
    });
    expect(known.size).toBe(1);
  });

  test("a Rack heard before its record arrives (cluster mode's mirror lagging) is judged from that heartbeat", () => {
    const { t, directory, silent } = setup([]);
    // Its enrollment (by another Mixer) is long past when the record reaches this directory.
    const rack = rackRecordFixture({
      status: "active",
      lifecycle: { ...rackRecordFixture().lifecycle, statusChangedAt: new Date(0) },
    });
    expect(t.heartbeat(hb({ seq: 1 }), RACK_ID, 1_000)).toMatchObject({ reason: "unknown_rack" });
    directory.put(rack);
    // Without the heartbeat heard at 1,000 it would be silent since the start: the window (300) long past.
    expect(silent(1_250)).toEqual([]);
    expect(silent(1_301)).toEqual(["rack-a:3"]);
  });

  test("a pending Rack silent past interval x missed is stale (shown, never written); adopted ones never are", () => {
    const { t, commit } = setup([rackRecordFixture({ status: "pending" })]);
    t.heartbeat(hb({ seq: 1, status: "pending" }), RACK_ID, 1000);
    expect(t.stale("rack-a", 1300)).toBe(false);
    expect(t.stale("rack-a", 1301)).toBe(true);
    // A hello is a sign of life too.
    t.touch("rack-a", 1350);
    expect(t.stale("rack-a", 1400)).toBe(false);
    // Not judged while the Mixer cannot see the bus, and silence it could not observe is not held against it.
    t.busLost(1500);
    expect(t.stale("rack-a", 2000)).toBe(false);
    t.busRegained(2000);
    expect(t.stale("rack-a", 2300)).toBe(false);
    expect(t.stale("rack-a", 2301)).toBe(true);
    expect(t.stale("nobody", 5000)).toBe(false);
    commit("rack-a", { status: "active" });
    expect(t.stale("rack-a", 5000)).toBe(false);
  });

  test("an active Rack silent past interval x missed is named once, and asks to come back on a heartbeat", async () => {
    const { t, commit, silent, calls } = setup();
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 1000);
    expect(silent(1300)).toEqual([]);
    expect(silent(1301)).toEqual(["rack-a:3"]);
    // Presence does not change the status itself: the sweep writes its verdict, and the directory says offline.
    expect(t.get("rack-a")?.rack.record.status).toBe("active");
    commit("rack-a", { status: "offline" });
    expect(silent(2000)).toEqual([]);
    const back = t.heartbeat(hb({ seq: 2 }), RACK_ID, 2100);
    expect(back).toMatchObject({ accepted: true, cameBack: true });
    // A second heartbeat before the return is committed does not ask again.
    expect(t.heartbeat(hb({ seq: 3 }), RACK_ID, 2150)).toMatchObject({ accepted: true, cameBack: false });
    expect(t.get("rack-a")?.stats?.presence).toMatchObject({ flaps: 1 });
    await settle();
    commit("rack-a", {
      status: "active",
      lifecycle: { ...rackRecordFixture().lifecycle, statusChangedAt: new Date(2100) },
    });
    expect(calls).toEqual(["back:rack-a:1"]);
    expect(t.heartbeat(hb({ seq: 4 }), RACK_ID, 2200)).toMatchObject({ accepted: true, cameBack: false });
  });

  test("an active Rack that says it is stopping is asked offline at once, once; pending and offline ones are not", async () => {
    const { t, commit, silent, calls } = setup([
      rackRecordFixture(),
      rackRecordFixture({ entityId: rackB, name: "rack-b", status: "pending" }),
    ]);
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 1000);
    const last = t.heartbeat(hb({ seq: 2, status: "stopping" }), RACK_ID, 1050);
    expect(last).toMatchObject({ accepted: true, stopped: true, cameBack: false });
    // A duplicate stopping heartbeat (a retry) before the change commits asks nothing more.
    expect(t.heartbeat(hb({ seq: 3, status: "stopping" }), RACK_ID, 1060)).toMatchObject({ stopped: false });
    await settle();
    expect(calls).toEqual(["stopped:rack-a:1050"]);
    // Not the sweep's business: the window has not passed.
    expect(silent(1100)).toEqual([]);
    commit("rack-a", { status: "offline" });
    // A stopping heartbeat never brings an offline Rack back; the next session's first heartbeat does.
    expect(t.heartbeat(hb({ seq: 4, status: "stopping" }), RACK_ID, 1200)).toMatchObject({
      cameBack: false,
      stopped: false,
    });
    expect(t.heartbeat(hb({ seq: 1, session: "s2" }), RACK_ID, 1300)).toMatchObject({ cameBack: true });
    // Presence never changes adoption: a pending Rack stopping stays pending.
    const pending = t.heartbeat(hb({ name: "rack-b", seq: 1, status: "stopping" }), rackB, 1400);
    expect(pending).toMatchObject({ accepted: true, stopped: false });
    await settle();
    expect(calls).toEqual(["stopped:rack-a:1050", "back:rack-a:1"]);
  });

  test("a revoked Rack is heartbeat-only: its last seen and stats move, its status never", async () => {
    const { t, commit, silent, calls } = setup();
    commit("rack-a", { status: "revoked" });
    const seen = t.heartbeat(hb({ seq: 1, status: "revoked" }), RACK_ID, 1000);
    expect(seen).toMatchObject({ accepted: true, cameBack: false, stopped: false });
    expect(t.get("rack-a")?.lastSeenMs).toBe(1000);
    expect(t.get("rack-a")?.stats?.rack_status).toBe("revoked");
    // Neither its silence nor its stop is presence's business.
    expect(silent(10_000)).toEqual([]);
    t.heartbeat(hb({ seq: 2, status: "stopping" }), RACK_ID, 10_100);
    await settle();
    expect(calls).toEqual([]);
  });

  test("a return that fails to be written is asked for again by the next heartbeat", async () => {
    let fail = true;
    const calls: number[] = [];
    const { t } = setup([rackRecordFixture({ status: "offline" })], opts, {
      markBack: async (_rack, d) => {
        calls.push(d.flaps);
        if (fail) throw new Error("disk full");
      },
    });
    expect(t.heartbeat(hb({ seq: 1 }), RACK_ID, 1000)).toMatchObject({ cameBack: true });
    await settle();
    fail = false;
    expect(t.heartbeat(hb({ seq: 2 }), RACK_ID, 1100)).toMatchObject({ cameBack: true });
    expect(calls).toEqual([1, 2]);
  });

  test("an adoption starts a full window: a Rack is not judged silent until one window after becoming active", () => {
    const { t, commit, silent } = setup([rackRecordFixture({ status: "pending", lastSeenMs: 100 })]);
    expect(silent(5000)).toEqual([]);
    commit("rack-a", {
      status: "active",
      lifecycle: { ...rackRecordFixture().lifecycle, statusChangedAt: new Date(5000) },
    });
    expect(silent(5300)).toEqual([]);
    expect(silent(5301)).toEqual(["rack-a:3"]);
    expect(t.get("rack-a")?.lastSeenMs).toBe(100);
  });

  test("presence never changes adoption: a silent pending Rack stays pending", () => {
    const { t, silent, calls } = setup([rackRecordFixture({ status: "pending" })]);
    expect(t.heartbeat(hb({ status: "pending" }), RACK_ID, 1000)).toMatchObject({
      accepted: true,
      cameBack: false,
    });
    expect(silent(10_000)).toEqual([]);
    expect(t.get("rack-a")?.rack.record.status).toBe("pending");
    expect(calls).toEqual([]);
    expect(t.stalePending(5000).map((r) => r.name)).toEqual(["rack-a"]);
    expect(t.stalePending(1000)).toEqual([]);
  });

  test("a pending Rack never seen is stale from its first sighting in the registry", () => {
    const firstSeen = new Date(3000);
    const lifecycle = { ...rackRecordFixture().lifecycle, firstSeen };
    const { t } = setup([rackRecordFixture({ status: "pending", lifecycle })]);
    expect(t.stalePending(3000)).toEqual([]);
    expect(t.stalePending(3001).map((r) => r.name)).toEqual(["rack-a"]);
  });

  test("follows the directory: Racks added and removed after the start, and a name taken by a new Rack", () => {
    const { t, directory } = setup([]);
    directory.put(rackRecordFixture({ lastSeenMs: 700 }));
    expect(t.get("rack-a")?.lastSeenMs).toBe(700);
    t.heartbeat(hb({ seq: 3 }), RACK_ID, 800);
    // The same name for another entity (a replaced key): a fresh entry, no session, seq or stats carried over.
    directory.remove(RACK_ID);
    expect(t.get("rack-a")).toBeUndefined();
    directory.put(rackRecordFixture({ entityId: rackB }));
    expect(t.get("rack-a")).toMatchObject({ entityId: rackB, session: null, seq: 0, stats: null });
    expect(t.heartbeat(hb({ seq: 1 }), RACK_ID, 900)).toMatchObject({ reason: "entity_mismatch" });
    // A removal of an entity that no longer holds the name leaves the holder alone.
    directory.put(rackRecordFixture({ entityId: RACK_ID, name: "rack-z" }));
    directory.remove(RACK_ID);
    expect(t.get("rack-a")?.entityId).toBe(rackB);
    expect(t.size).toBe(1);
  });

  test("after a restart every Rack gets a full window from the Mixer's start (no offline storm)", () => {
    // Last seen long before the restart.
    const { silent } = setup([rackRecordFixture({ lastSeenMs: 1_000 })], { ...opts, startedAtMs: 50_000 });
    expect(silent(50_299)).toEqual([]);
    expect(silent(50_301)).toEqual(["rack-a:3"]);
  });

  test("flush writes only changed rows, once, and keeps them dirty when the write fails", async () => {
    const { t, flushed } = setup([
      rackRecordFixture(),
      rackRecordFixture({ entityId: rackB, name: "rack-b" }),
    ]);
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 500);
    expect(await t.flush()).toBe(1);
    expect(flushed).toEqual([expect.objectContaining({ entityId: RACK_ID, lastSeen: new Date(500) })]);
    expect(await t.flush()).toBe(0);
    const { t: failing } = setup(undefined, opts, {
      flush: async () => Promise.reject(new Error("disk full")),
    });
    failing.heartbeat(hb({ seq: 1 }), RACK_ID, 700);
    await expect(failing.flush()).rejects.toThrow("disk full");
    expect(failing.get("rack-a")?.dirty).toBe(true);
  });

  test("flush: a write that fails after taking its rows leaves them dirty; a heartbeat during a write stays dirty", async () => {
    let fail = true;
    let during: (() => void) | undefined;
    const flushed: number[] = [];
    const { t } = setup(undefined, opts, {
      flush: async (rows) => {
        while (rows((_id, lastSeenMs) => flushed.push(lastSeenMs), 1_000));
        during?.();
        if (fail) throw new Error("UPDATE failed");
      },
    });
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 500);
    await expect(t.flush()).rejects.toThrow("UPDATE failed");
    expect(t.get("rack-a")?.dirty).toBe(true);
    fail = false;
    during = () => t.heartbeat(hb({ seq: 2 }), RACK_ID, 600);
    expect(await t.flush()).toBe(1);
    expect(t.get("rack-a")?.dirty).toBe(true);
    during = undefined;
    expect(await t.flush()).toBe(1);
    expect(flushed).toEqual([500, 500, 600]);
  });

  test("flush gives its rows a slice at a time; what happens between slices lands in this batch or the next", async () => {
    const names = ["rack-a", "rack-b", "rack-c", "rack-d", "rack-e"];
    const ids = names.map((_, i) => RACK_ID + (BigInt(i) << 40n));
    const slices: string[][] = [];
    let between: (() => void) | undefined;
    const { t, directory } = setup(
      names.map((name, i) => rackRecordFixture({ entityId: ids[i]!, name })),
      opts,
      {
        flush: async (rows) => {
          let slice: string[] = [];
          const row = (entityId: bigint) => slice.push(names[ids.indexOf(entityId)]!);
          while (rows(row, 2)) {
            slices.push(slice);
            slice = [];
            between?.();
            between = undefined;
          }
          slices.push(slice);
        },
      },
    );
    for (const [i, name] of names.entries()) {
      t.heartbeat(hb({ name, seq: 1, entity_id: ids[i]!.toString() }), ids[i]!, 500);
    }
    between = () => {
      // rack-a is taken: its new heartbeat waits for the next batch. rack-e is not yet: this batch takes it, once.
      t.heartbeat(hb({ name: "rack-a", seq: 2, entity_id: ids[0]!.toString() }), ids[0]!, 600);
      t.heartbeat(hb({ name: "rack-e", seq: 2, entity_id: ids[4]!.toString() }), ids[4]!, 600);
      // rack-d is removed before its turn: not written.
      directory.remove(ids[3]!);
    };
    expect(await t.flush()).toBe(4);
    expect(slices).toEqual([["rack-a", "rack-b"], ["rack-c", "rack-e"], []]);
    expect(t.get("rack-a")?.dirty).toBe(true);
    expect(t.get("rack-e")).toMatchObject({ dirty: false, lastSeenMs: 600 });
    slices.length = 0;
    expect(await t.flush()).toBe(1);
    expect(slices).toEqual([["rack-a"]]);
  });

  test("flush writes the live stats as JSON, and null (keep the stored) for a Rack only touched by a hello", async () => {
    const stored = { cpu: { process_pct: 9 }, presence: { flaps: 4 } };
    const { t, flushed } = setup([
      rackRecordFixture({ stats: stored }),
      rackRecordFixture({ entityId: rackB, name: "rack-b", stats: stored }),
    ]);
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 500);
    t.touch("rack-b", 700);
    expect(await t.flush()).toBe(2);
    expect(flushed).toEqual([
      { entityId: RACK_ID, lastSeen: new Date(500), stats: t.get("rack-a")?.stats },
      { entityId: rackB, lastSeen: new Date(700), stats: null },
    ]);
    expect(t.get("rack-a")?.stats).toMatchObject({ presence: { flaps: 4, session: "s1", seq: 1 } });
    expect(t.get("rack-b")?.stats).toBe(stored);
  });

  test("stats_flush_interval: flushes in between write last_seen alone; stats not written yet are never lost", async () => {
    const { t, flushed } = setup([rackRecordFixture()], { ...opts, statsFlushIntervalMs: 1000 });
    const statsOf = (i: number) => flushed[i]?.stats as { presence?: { seq?: number } } | null;
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 100);
    expect(await t.flush(100)).toBe(1);
    expect(statsOf(0)?.presence?.seq).toBe(1);
    // Within the interval: last_seen is written, the stats are kept for a later flush.
    t.heartbeat(hb({ seq: 2 }), RACK_ID, 400);
    expect(await t.flush(400)).toBe(1);
    expect(flushed[1]).toEqual({ entityId: RACK_ID, lastSeen: new Date(400), stats: null });
    // The Rack goes quiet: its last stats are still owed, and the first flush past the interval writes them.
    expect(await t.flush(900)).toBe(0);
    expect(await t.flush(1100)).toBe(1);
    expect(flushed[2]).toMatchObject({ lastSeen: new Date(400) });
    expect(statsOf(2)?.presence?.seq).toBe(2);
    expect(await t.flush(2500)).toBe(0);
    // A failed write of stats owes them again; the final flush at stop (no time given) writes whatever is owed.
    t.heartbeat(hb({ seq: 3 }), RACK_ID, 2600);
    const failing = setup(
      [rackRecordFixture()],
      { ...opts, statsFlushIntervalMs: 1000 },
      {
        flush: async (rows) => {
          while (rows(() => undefined, 1_000));
          throw new Error("disk full");
        },
      },
    );
    failing.t.heartbeat(hb({ seq: 1 }), RACK_ID, 100);
    await expect(failing.t.flush(5000)).rejects.toThrow("disk full");
    expect(failing.t.get("rack-a")).toMatchObject({ dirty: true, statsDirty: true });
    t.heartbeat(hb({ seq: 4 }), RACK_ID, 2700);
    expect(await t.flush(2700)).toBe(1);
    expect(statsOf(3)?.presence?.seq).toBe(4);
    t.heartbeat(hb({ seq: 5 }), RACK_ID, 2800);
    expect(await t.flush(2800)).toBe(1);
    expect(statsOf(4)).toBeNull();
    expect(await t.flush()).toBe(1);
    expect(statsOf(5)?.presence?.seq).toBe(5);
  });

  test("nobody is judged while the bus link is down, and everyone gets a full window once it is back", () => {
    const { t, silent } = setup([
      rackRecordFixture({ lastSeenMs: 1000 }),
      rackRecordFixture({ entityId: RACK_ID + 1n, name: "rack-b", lastSeenMs: 1000 }),
    ]);
    expect(t.busLost(1050)).toBe(true);
    expect(t.busLost(1060)).toBe(false);
    expect(t.blind).toBe(true);
    // Long silent, but the Mixer could not see the bus: no verdict.
    expect(t.hasSilent(5000)).toBe(false);
    expect(silent(5000)).toEqual([]);
    expect(t.busRegained(5000)).toBe(3950);
    expect(t.blind).toBe(false);
    // Inside the fresh window (300 ms from the reconnect) nobody goes offline, whatever their last_seen.
    expect(t.hasSilent(5300)).toBe(false);
    expect(silent(5300)).toEqual([]);
    // rack-a speaks again at 5200: the fleet is still coming back, so nobody is judged until a window after that.
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 5200);
    expect(silent(5301)).toEqual([]);
    expect(t.hasSilent(5500)).toBe(false);
    // rack-b stayed silent through the whole return: named, counted from the reconnect; rack-a keeps speaking.
    t.heartbeat(hb({ seq: 2 }), RACK_ID, 5450);
    expect(t.hasSilent(5501)).toBe(true);
    expect(silent(5501)).toEqual(["rack-b:5"]);
  });

  test("after a reconnect the grace lasts while Racks keep returning, up to its cap", () => {
    // 30 Racks, window 300 ms; the bus comes back at 10,000 and one Rack returns every 200 ms (a herd re-authenticating).
    const racks = Array.from({ length: 30 }, (_, i) =>
      rackRecordFixture({ entityId: RACK_ID + BigInt(i), name: `rack-${i}`, lastSeenMs: 1000 }),
    );
    const { t, silent } = setup(racks);
    t.busLost(2000);
    t.busRegained(10_000);
    for (let i = 0; i < 20; i++) {
      const now = 10_000 + 200 * (i + 1);
      t.heartbeat(hb({ name: `rack-${i}`, seq: 1 }), RACK_ID + BigInt(i), now);
      // Long after the first window, nobody who is still queuing is named while others keep coming back.
      expect(silent(now + 1)).toEqual([]);
    }
    // The returned ones keep heartbeating; the last return was at 14,000: one window later the ten that never came
    // back are named, and only they.
    for (let i = 0; i < 20; i++) t.heartbeat(hb({ name: `rack-${i}`, seq: 2 }), RACK_ID + BigInt(i), 14_200);
    expect(silent(14_300)).toEqual([]);
    const named = silent(14_301).map((s) => s.split(":")[0]);
    expect(named).toEqual(Array.from({ length: 10 }, (_, i) => `rack-${20 + i}`));

    // A fleet that trickles back for ever cannot hide a dead Rack: the grace ends at its cap (60 s here), even though
    // a Rack returns every 100 ms.
    const many = Array.from({ length: 800 }, (_, i) =>
      rackRecordFixture({ entityId: RACK_ID + BigInt(i), name: `rack-${i}`, lastSeenMs: 1000 }),
    );
    const capped = setup(many);
    capped.t.busRegained(100_000);
    for (let i = 0; i < 700; i++) capped.t.touch(`rack-${i}`, 100_100 + 100 * i);
    expect(capped.t.hasSilent(160_000)).toBe(false);
    expect(capped.silent(160_001).map((s) => s.split(":")[0])).toContain("rack-799");
  });

  test("hasSilent agrees with silent and changes nothing", () => {
    const { t, silent, commit } = setup([
      rackRecordFixture({ lastSeenMs: 500 }),
      rackRecordFixture({ entityId: RACK_ID + 1n, name: "rack-p", status: "pending" }),
    ]);
    expect(t.hasSilent(800)).toBe(false);
    expect(silent(800)).toEqual([]);
    expect(t.hasSilent(801)).toBe(true);
    expect(t.hasSilent(801)).toBe(true);
    expect(silent(801)).toEqual(["rack-a:3"]);
    commit("rack-a", { status: "offline" });
    expect(t.hasSilent(801)).toBe(false);
  });
});
