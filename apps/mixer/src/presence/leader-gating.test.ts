// Presence under a leader gate (cluster mode, docs/cluster.md "Work done once"): every Mixer keeps presence warm,
// only the leader gives verdicts, a new leader first gives every Rack the grace, and a lost lease stops the verdicts.
import { describe, expect, test } from "vitest";
import { heartbeatFixture, RACK_ID, rackRecordFixture } from "../../test/support/presence-fixtures.js";
import type { RackStatusChanges } from "../fleet/rack-status-changes.js";
import { RackDirectory } from "../registry/rack-directory.js";
import type { RackRecord } from "../registry/registry-records.js";
import { Counters } from "../runtime/counters.js";
import { LeaderFlag } from "../runtime/leader-gate.js";
import { createLogger } from "../runtime/logger.js";
import { PresenceSweeper } from "./presence-sweeper.js";
import { PresenceTracker } from "./presence-tracker.js";

const hb = heartbeatFixture;
/** heartbeat 100 ms x 3 missed: the offline window and the grace are 300 ms. */
const WINDOW = 300;

function setup(racks: RackRecord[], opts: { leading: boolean; confirmCaughtUp?: () => Promise<void> }) {
  const leader = new LeaderFlag(opts.leading);
  const directory = new RackDirectory();
  for (const rack of racks) directory.put(rack);
  const asked: string[] = [];
  const presence = new PresenceTracker(
    { heartbeatIntervalMs: 100, missedHeartbeats: 3, startedAtMs: 0 },
    {
      directory,
      leader,
      sink: {
        flush: async () => undefined,
        markBack: async (rack) => void asked.push(`back:${rack.name}`),
        markStopped: async (rack) => void asked.push(`stopped:${rack.name}`),
      },
    },
  );
  let nowMs = 0;
  const offline: string[] = [];
  const removed: string[] = [];
  const counters = new Counters();
  const ctx = {
    leader,
    directory,
    presence,
    asked,
    offline,
    removed,
    counters,
    /** Called as each verdict (offline, pending removal) is written, before it is committed. */
    onVerdict: (() => undefined) as (name: string) => void,
    setNow: (ms: number) => {
      nowMs = ms;
    },
  };
  const sweeper = new PresenceSweeper({
    presence,
    leader,
    changes: {
      offline: async ({ rack }) => {
        offline.push(rack.name);
        ctx.onVerdict(rack.name);
        directory.put({ ...rack, status: "offline" });
      },
    },
    lifecycle: {
      flushHelloFacts: async () => 0,
      remove: async (rack: RackRecord) => {
        removed.push(rack.name);
        ctx.onVerdict(rack.name);
        directory.remove(rack.entityId);
        return rack;
      },
    } as unknown as Pick<RackStatusChanges, "flushHelloFacts" | "remove">,
    clock: () => new Date(nowMs),
    logger: createLogger({ level: "silent" }),
    counters,
    // The timers never fire within a test: each sweep is called by hand.
    flushIntervalMs: 3_600_000,
    sweepIntervalMs: 3_600_000,
    pendingTtlMs: 1000,
    ...(opts.confirmCaughtUp ? { confirmCaughtUp: opts.confirmCaughtUp, confirmTimeoutMs: 1000 } : {}),
  });
  sweeper.start();
  return { ...ctx, sweeper, ctx };
}

const silentRacks = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    rackRecordFixture({ entityId: RACK_ID + BigInt(i), name: `rack-${i}`, lastSeenMs: 100 }),
  );

describe("presence under a leader gate", () => {
  test("a Mixer that does not lead keeps presence warm but gives no verdict: no offline, no return, no stop, no pending expiry", async () => {
    const s = setup(
      [
        rackRecordFixture({ lastSeenMs: 100 }),
        rackRecordFixture({ entityId: RACK_ID + 1n, name: "rack-off", status: "offline" }),
        rackRecordFixture({ entityId: RACK_ID + 2n, name: "rack-p", status: "pending" }),
      ],
      { leading: false },
    );
    try {
      s.setNow(10_000);
      // rack-a is long silent, rack-p long pending: a leader would mark and remove them.
      expect(s.presence.hasSilent(10_000)).toBe(true);
      expect(await s.sweeper.sweep()).toBe(0);
      expect(await s.sweeper.expirePending()).toBe(0);
      // An offline Rack's heartbeat and an active Rack's last one: presence takes them, asks for nothing.
      expect(s.presence.heartbeat(hb({ name: "rack-off" }), RACK_ID + 1n, 10_000)).toMatchObject({
        accepted: true,
        cameBack: false,
      });
      expect(s.presence.get("rack-off")?.lastSeenMs).toBe(10_000);
      expect(s.presence.get("rack-off")?.stats?.presence).toMatchObject({ flaps: 0 });
      expect(s.presence.heartbeat(hb({ status: "stopping" }), RACK_ID, 10_000)).toMatchObject({
        accepted: true,
        stopped: false,
      });
      expect([...s.offline, ...s.removed, ...s.asked]).toEqual([]);

      // The same Mixer once it leads (and its grace has passed): every verdict it held back.
      s.leader.set(true);
      s.setNow(10_000 + WINDOW + 1);
      expect(s.presence.heartbeat(hb({ name: "rack-off", seq: 2 }), RACK_ID + 1n, 10_301)).toMatchObject({
        cameBack: true,
      });
      expect(await s.sweeper.expirePending()).toBe(1);
      expect(s.removed).toEqual(["rack-p"]);
      expect(s.asked).toEqual(["back:rack-off"]);
    } finally {
      await s.sweeper.stop();
    }
  });

  test("becoming leader applies the grace from that moment: no verdict for silence before it, one window after it", async () => {
    // Both Racks were last heard at 100; the Mixer started at 0 and has followed along without leading.
    const s = setup(silentRacks(2), { leading: false });
    try {
      s.setNow(50_000);
      expect(await s.sweeper.sweep()).toBe(0);
      s.leader.set(true);
      // rack-1 speaks at 50,100 (its first heartbeat since the takeover: a return, which extends the grace by a
      // window from it, exactly as after a bus reconnect); rack-0 stays silent.
      s.presence.heartbeat(
        hb({ name: "rack-1", entity_id: (RACK_ID + 1n).toString() }),
        RACK_ID + 1n,
        50_100,
      );
      s.setNow(50_000 + WINDOW);
      expect(await s.sweeper.sweep()).toBe(0);
      s.setNow(50_100 + WINDOW);
      expect(await s.sweeper.sweep()).toBe(0);
      // One window after the last return: rack-0 is named, counted from the takeover (4 missed intervals), not from
      // its last sighting 50 s earlier.
      s.setNow(50_100 + WINDOW + 1);
      s.presence.heartbeat(
        hb({ name: "rack-1", entity_id: (RACK_ID + 1n).toString(), seq: 2 }),
        RACK_ID + 1n,
        50_350,
      );
      const named = s.presence.silent(50_100 + WINDOW + 1);
      expect(named.map((r) => [r.rack.name, r.missedIntervals])).toEqual([["rack-0", 4]]);
      expect(await s.sweeper.sweep()).toBe(1);
      expect(s.offline).toEqual(["rack-0"]);
    } finally {
      await s.sweeper.stop();
    }
  });

  test("a Mixer that stops leading and leads again gets the grace again", async () => {
    const s = setup(silentRacks(1), { leading: true });
    try {
      s.leader.set(false);
      s.setNow(20_000);
      s.leader.set(true);
      s.setNow(20_000 + WINDOW);
      expect(await s.sweeper.sweep()).toBe(0);
      s.setNow(20_000 + WINDOW + 1);
      expect(await s.sweeper.sweep()).toBe(1);
    } finally {
      await s.sweeper.stop();
    }
  });

  test("a lease lost while the sweep waits for the bus: no verdict at all", async () => {
    let s!: ReturnType<typeof setup>;
    s = setup(silentRacks(3), {
      leading: true,
      confirmCaughtUp: async () => {
        s.leader.set(false);
      },
    });
    try {
      s.setNow(10_000);
      expect(await s.sweeper.sweep()).toBe(0);
      expect(s.offline).toEqual([]);
      expect(s.counters.get("presence.sweep.not_leading")).toBe(1);
    } finally {
      await s.sweeper.stop();
    }
  });

  test("a lease lost mid-sweep, after a verdict: the sweep stops before the next one", async () => {
    const s = setup(silentRacks(3), { leading: true });
    try {
      s.ctx.onVerdict = () => s.leader.set(false);
      s.setNow(10_000);
      expect(await s.sweeper.sweep()).toBe(1);
      expect(s.offline).toEqual(["rack-0"]);
      // Not leading: the next sweeps give nothing either, though two Racks are still silent.
      expect(s.presence.silent(10_000)).toHaveLength(2);
      expect(await s.sweeper.sweep()).toBe(0);
      expect(s.offline).toEqual(["rack-0"]);
    } finally {
      await s.sweeper.stop();
    }
  });

  test("pending expiry runs only while leading, and stops before the next removal when the lease is lost", async () => {
    const s = setup(
      Array.from({ length: 3 }, (_, i) =>
        rackRecordFixture({ entityId: RACK_ID + BigInt(i), name: `rack-p${i}`, status: "pending" }),
      ),
      { leading: true },
    );
    try {
      s.setNow(60_000);
      s.leader.set(false);
      expect(await s.sweeper.expirePending()).toBe(0);
      s.leader.set(true);
      s.ctx.onVerdict = () => s.leader.set(false);
      expect(await s.sweeper.expirePending()).toBe(1);
      s.ctx.onVerdict = () => undefined;
      s.leader.set(true);
      expect(await s.sweeper.expirePending()).toBe(2);
      expect(s.removed).toEqual(["rack-p0", "rack-p1", "rack-p2"]);
    } finally {
      await s.sweeper.stop();
    }
  });
});
