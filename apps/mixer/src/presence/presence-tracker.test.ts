// Tests of presence: drops, offline after the window, coming back, grace after restart, batched flush.
import { describe, expect, test } from "vitest";
import { heartbeatFixture, RACK_ID } from "../../test/support/presence-fixtures.js";
import { type PresenceEntry, type PresenceSink, PresenceTracker } from "./presence-tracker.js";

function recordingSink() {
  const calls: string[] = [];
  const flushed: Array<{ entityId: bigint; lastSeen: Date; stats: unknown }> = [];
  const sink: PresenceSink = {
    flush: async (rows) => {
      rows((entityId, lastSeenMs, statsJson) => {
        flushed.push({
          entityId,
          lastSeen: new Date(lastSeenMs),
          stats: statsJson === null ? null : JSON.parse(statsJson),
        });
      });
    },
    markOffline: async (entry: PresenceEntry, d) => {
      calls.push(`offline:${entry.name}:${d.missedIntervals}`);
    },
    markBack: async (entry: PresenceEntry, d) => {
      calls.push(`back:${entry.name}:${d.flaps}`);
    },
  };
  return { sink, calls, flushed };
}

const hb = heartbeatFixture;

const opts = { heartbeatIntervalMs: 100, missedHeartbeats: 3, startedAtMs: 0 };

describe("PresenceTracker", () => {
  test("heartbeats for unknown names, other ids, refused Racks and replays are dropped with a reason", () => {
    const { sink } = recordingSink();
    const t = new PresenceTracker(opts, sink);
    expect(t.heartbeat(hb(), RACK_ID, 10)).toEqual({ accepted: false, reason: "unknown_rack" });
    t.upsert({ entityId: RACK_ID, name: "rack-a", status: "active" });
    expect(t.heartbeat(hb(), RACK_ID + 1n, 10)).toEqual({ accepted: false, reason: "entity_mismatch" });
    expect(t.heartbeat(hb({ seq: 5 }), RACK_ID, 10).accepted).toBe(true);
    expect(t.heartbeat(hb({ seq: 5 }), RACK_ID, 11)).toEqual({ accepted: false, reason: "replay" });
    expect(t.heartbeat(hb({ seq: 1, session: "s2" }), RACK_ID, 12).accepted).toBe(true);
    t.upsert({ entityId: RACK_ID, name: "rack-a", status: "revoked" });
    expect(t.heartbeat(hb({ seq: 9, session: "s2" }), RACK_ID, 13)).toEqual({
      accepted: false,
      reason: "revoked",
    });
    expect(t.size).toBe(1);
  });

  test("an active Rack silent past interval x missed is marked offline once, and comes back on a heartbeat", async () => {
    const { sink, calls } = recordingSink();
    const t = new PresenceTracker(opts, sink);
    t.upsert({ entityId: RACK_ID, name: "rack-a", status: "active" });
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 1000);
    expect(t.sweep(1300)).toBe(0);
    expect(t.sweep(1301)).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(t.sweep(2000)).toBe(0);
    expect(t.get("rack-a")?.status).toBe("offline");
    const back = t.heartbeat(hb({ seq: 2 }), RACK_ID, 2100);
    expect(back).toMatchObject({ accepted: true, cameBack: true });
    expect(t.get("rack-a")?.status).toBe("active");
    expect(t.get("rack-a")?.stats?.presence).toMatchObject({ flaps: 1 });
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(["offline:rack-a:3", "back:rack-a:1"]);
  });

  test("presence never changes adoption: a silent pending Rack stays pending", () => {
    const { sink } = recordingSink();
    const t = new PresenceTracker(opts, sink);
    t.upsert({ entityId: RACK_ID, name: "rack-a", status: "pending" });
    t.heartbeat(hb({ status: "pending" }), RACK_ID, 1000);
    expect(t.sweep(10_000)).toBe(0);
    expect(t.get("rack-a")?.status).toBe("pending");
    expect(t.stalePending(5000).map((e) => e.name)).toEqual(["rack-a"]);
  });

  test("the pending count follows upserts, status changes and removals", () => {
    const t = new PresenceTracker(opts, recordingSink().sink);
    t.upsert({ entityId: 1n, name: "a", status: "pending" });
    t.upsert({ entityId: 2n, name: "b", status: "pending" });
    t.upsert({ entityId: 2n, name: "b", status: "pending" });
    expect(t.pendingCount).toBe(2);
    t.upsert({ entityId: 1n, name: "a", status: "active" });
    expect(t.pendingCount).toBe(1);
    t.remove("b");
    t.remove("nobody");
    expect(t.pendingCount).toBe(0);
    // A replaced row under the same name (another entity) does not count twice.
    t.upsert({ entityId: 3n, name: "c", status: "pending" });
    t.upsert({ entityId: 4n, name: "c", status: "pending" });
    expect(t.pendingCount).toBe(1);
  });

  test("after a restart every Rack gets a full window from the Mixer's start (no offline storm)", () => {
    const { sink } = recordingSink();
    const t = new PresenceTracker({ ...opts, startedAtMs: 50_000 }, sink);
    // Last seen long before the restart.
    t.upsert({ entityId: RACK_ID, name: "rack-a", status: "active", lastSeenMs: 1_000 });
    expect(t.sweep(50_299)).toBe(0);
    expect(t.sweep(50_301)).toBe(1);
  });

  test("flush writes only changed rows, once, and keeps them dirty when the write fails", async () => {
    const { sink, flushed } = recordingSink();
    const t = new PresenceTracker(opts, sink);
    t.upsert({ entityId: RACK_ID, name: "rack-a", status: "active" });
    t.upsert({ entityId: RACK_ID + (1n << 40n), name: "rack-b", status: "active" });
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 500);
    expect(await t.flush()).toBe(1);
    expect(flushed).toEqual([expect.objectContaining({ entityId: RACK_ID, lastSeen: new Date(500) })]);
    expect(await t.flush()).toBe(0);
    t.heartbeat(hb({ seq: 2 }), RACK_ID, 600);
    const failing = new PresenceTracker(opts, {
      ...sink,
      flush: async () => Promise.reject(new Error("disk full")),
    });
    failing.upsert({ entityId: RACK_ID, name: "rack-a", status: "active" });
    failing.heartbeat(hb({ seq: 1 }), RACK_ID, 700);
    await expect(failing.flush()).rejects.toThrow("disk full");
    expect(failing.get("rack-a")?.dirty).toBe(true);
  });

  test("flush: a write that fails after taking its rows leaves them dirty; a heartbeat during a write stays dirty", async () => {
    const { sink, flushed } = recordingSink();
    let fail = true;
    let during: (() => void) | undefined;
    const t = new PresenceTracker(opts, {
      ...sink,
      flush: async (rows) => {
        await sink.flush(rows);
        during?.();
        if (fail) throw new Error("UPDATE failed");
      },
    });
    t.upsert({ entityId: RACK_ID, name: "rack-a", status: "active" });
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 500);
    await expect(t.flush()).rejects.toThrow("UPDATE failed");
    expect(t.get("rack-a")?.dirty).toBe(true);
    fail = false;
    during = () => t.heartbeat(hb({ seq: 2 }), RACK_ID, 600);
    expect(await t.flush()).toBe(1);
    expect(t.get("rack-a")?.dirty).toBe(true);
    during = undefined;
    expect(await t.flush()).toBe(1);
    expect(flushed.map((row) => row.lastSeen.getTime())).toEqual([500, 500, 600]);
  });

  test("flush writes the live stats as JSON, and null (keep the stored) for a Rack only touched by a hello", async () => {
    const { sink, flushed } = recordingSink();
    const t = new PresenceTracker(opts, sink);
    const stored = { cpu: { process_pct: 9 }, presence: { flaps: 4 } };
    t.upsert({ entityId: RACK_ID, name: "rack-a", status: "active", stats: stored });
    t.upsert({ entityId: RACK_ID + (1n << 40n), name: "rack-b", status: "active", stats: stored });
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 500);
    t.touch("rack-b", 700);
    expect(await t.flush()).toBe(2);
    expect(flushed).toEqual([
      { entityId: RACK_ID, lastSeen: new Date(500), stats: t.get("rack-a")?.stats },
      { entityId: RACK_ID + (1n << 40n), lastSeen: new Date(700), stats: null },
    ]);
    expect(t.get("rack-a")?.stats).toMatchObject({ presence: { flaps: 4, session: "s1", seq: 1 } });
    expect(t.get("rack-b")?.stats).toBe(stored);
  });
  test("nobody is judged while the bus link is down, and everyone gets a full window once it is back", () => {
    const { sink, calls } = recordingSink();
    const t = new PresenceTracker(opts, sink);
    t.upsert({ entityId: RACK_ID, name: "rack-a", status: "active", lastSeenMs: 1000 });
    t.upsert({ entityId: RACK_ID + 1n, name: "rack-b", status: "active", lastSeenMs: 1000 });
    expect(t.busLost(1050)).toBe(true);
    expect(t.busLost(1060)).toBe(false);
    expect(t.blind).toBe(true);
    // Long silent, but the Mixer could not see the bus: no verdict.
    expect(t.hasSilent(5000)).toBe(false);
    expect(t.sweep(5000)).toBe(0);
    expect(t.busRegained(5000)).toBe(3950);
    expect(t.blind).toBe(false);
    // Inside the fresh window (300 ms from the reconnect) nobody goes offline, whatever their last_seen.
    expect(t.hasSilent(5300)).toBe(false);
    expect(t.sweep(5300)).toBe(0);
    // rack-a speaks again; rack-b stays silent and is marked once the new window has passed.
    t.heartbeat(hb({ seq: 1 }), RACK_ID, 5200);
    expect(t.hasSilent(5301)).toBe(true);
    expect(t.sweep(5301)).toBe(1);
    expect(calls).toEqual(["offline:rack-b:3"]);
    expect(t.get("rack-a")?.status).toBe("active");
  });

  test("hasSilent agrees with sweep and changes nothing", () => {
    const { sink, calls } = recordingSink();
    const t = new PresenceTracker(opts, sink);
    t.upsert({ entityId: RACK_ID, name: "rack-a", status: "active", lastSeenMs: 500 });
    t.upsert({ entityId: RACK_ID + 1n, name: "rack-p", status: "pending", lastSeenMs: 0 });
    expect(t.hasSilent(800)).toBe(false);
    expect(t.hasSilent(801)).toBe(true);
    expect(t.get("rack-a")?.status).toBe("active");
    expect(calls).toEqual([]);
    expect(t.sweep(801)).toBe(1);
    expect(t.hasSilent(801)).toBe(false);
  });
});
