// The sweep confirms that the Mixer has caught up with the bus before it marks anyone offline.
import { waitFor } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import {
  heartbeatFixture,
  NULL_PRESENCE_SINK,
  RACK_ID,
  rackRecordFixture,
} from "../../test/support/presence-fixtures.js";
import type { RackStatusChanges } from "../fleet/rack-status-changes.js";
import { RackDirectory } from "../registry/rack-directory.js";
import { Counters } from "../runtime/counters.js";
import { createLogger } from "../runtime/logger.js";
import { PresenceSweeper } from "./presence-sweeper.js";
import { PresenceTracker } from "./presence-tracker.js";

function setup(confirmCaughtUp?: () => Promise<void>) {
  const offline: string[] = [];
  const directory = new RackDirectory();
  directory.put(rackRecordFixture({ lastSeenMs: 1000 }));
  const presence = new PresenceTracker(
    { heartbeatIntervalMs: 100, missedHeartbeats: 3, startedAtMs: 0 },
    {
      directory,
      sink: NULL_PRESENCE_SINK,
    },
  );
  let nowMs = 2000;
  const counters = new Counters();
  const sweeper = new PresenceSweeper({
    presence,
    // The sweep writes its verdicts here, once each: as the lifecycle would, the directory then says offline.
    changes: {
      offline: async ({ rack }) => {
        offline.push(rack.name);
        directory.put({ ...rack, status: "offline" });
      },
    },
    // The sweep never touches the lifecycle itself; only flushes and pending expiry do.
    lifecycle: {} as RackStatusChanges,
    clock: () => new Date(nowMs),
    logger: createLogger({ level: "silent" }),
    counters,
    flushIntervalMs: 1000,
    sweepIntervalMs: 25,
    pendingTtlMs: 60_000,
    ...(confirmCaughtUp ? { confirmCaughtUp, confirmTimeoutMs: 50 } : {}),
  });
  return {
    presence,
    sweeper,
    counters,
    offline,
    setNow: (ms: number) => {
      nowMs = ms;
    },
  };
}

describe("PresenceSweeper.sweep", () => {
  test("a heartbeat applied while catching up with the bus saves the Rack", async () => {
    let ctx!: ReturnType<typeof setup>;
    ctx = setup(async () => {
      // The backlog holds a heartbeat sent before the sweep asked; applying it happens during the confirmation.
      ctx.presence.heartbeat(
        heartbeatFixture({ session: "s", ts: new Date(1990).toISOString() }),
        RACK_ID,
        1990,
      );
    });
    expect(await ctx.sweeper.sweep()).toBe(0);
    expect(ctx.offline).toEqual([]);
    expect(ctx.presence.get("rack-a")?.rack.record.status).toBe("active");
  });

  test("a confirmation that fails or never answers defers the sweep", async () => {
    const failing = setup(() => Promise.reject(new Error("disconnected")));
    expect(await failing.sweeper.sweep()).toBe(0);
    expect(failing.counters.get("presence.sweep.deferred")).toBe(1);
    const hanging = setup(() => new Promise<void>(() => undefined));
    expect(await hanging.sweeper.sweep()).toBe(0);
    expect(hanging.counters.get("presence.sweep.deferred")).toBe(1);
    expect([...failing.offline, ...hanging.offline]).toEqual([]);
  });

  test("once caught up, a Rack that is really silent is marked", async () => {
    let confirmations = 0;
    const ctx = setup(async () => {
      confirmations++;
    });
    expect(await ctx.sweeper.sweep()).toBe(1);
    expect(ctx.offline).toEqual(["rack-a"]);
    expect(ctx.counters.get("presence.sweep.marked")).toBe(1);
    // Nobody left to judge: no round trip to the bus at all.
    expect(await ctx.sweeper.sweep()).toBe(0);
    expect(confirmations).toBe(1);
  });
});

describe("PresenceSweeper timings", () => {
  test("every flush and sweep the timers run reports its duration in seconds", async () => {
    const directory = new RackDirectory();
    const presence = new PresenceTracker(
      { heartbeatIntervalMs: 100, missedHeartbeats: 3, startedAtMs: 0 },
      {
        directory,
        sink: NULL_PRESENCE_SINK,
      },
    );
    const seen = { flush: [] as number[], sweep: [] as number[] };
    const report = (duty: "flush" | "sweep") => (seconds: number) => void seen[duty].push(seconds);
    const sweeper = new PresenceSweeper({
      presence,
      changes: { offline: async () => undefined },
      lifecycle: {
        flushHelloFacts: async () => 0,
        remove: async () => {
          throw new Error("no pending Rack to remove");
        },
      },
      clock: () => new Date(),
      logger: createLogger({ level: "silent" }),
      counters: new Counters(),
      flushIntervalMs: 10,
      sweepIntervalMs: 10,
      pendingTtlMs: 60_000,
      timings: { flush: report("flush"), sweep: report("sweep") },
    });
    sweeper.start();
    try {
      await waitFor(() => seen.flush.length > 0 && seen.sweep.length > 0, {
        timeoutMs: 5000,
        message: "a flush and a sweep timed",
      });
    } finally {
      await sweeper.stop();
    }
    for (const s of [...seen.flush, ...seen.sweep]) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(5);
    }
  });
});
