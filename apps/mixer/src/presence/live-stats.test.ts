// LiveStats gives back exactly what the tracker used to store: the heartbeat's stats plus rack_status and presence.
import { type Heartbeat, HeartbeatSchema, RackStatsSchema } from "@fluxrig/wire";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { LIVE_STATS_KEYS, LiveStats } from "./live-stats.js";

const count = fc.integer({ min: 0, max: 2 ** 40 });
const gauge = fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true });
const statsArb = fc.record(
  {
    cpu: fc.record({ process_pct: gauge, host_pct: gauge }),
    mem: fc.record({ rss_bytes: count, heap_used_bytes: count }),
    event_loop_lag_ms: gauge,
    active_handles: count,
    uptime_s: gauge,
    gears: fc.record({ running: count, failed: count, restarts: count }),
    messages: fc.record({ in: count, out: count }),
  },
  { requiredKeys: ["cpu", "mem", "event_loop_lag_ms", "active_handles", "uptime_s"] },
);

const sessionArb = fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/);

function heartbeat(
  stats: unknown,
  seq: number,
  status: Heartbeat["status"],
  session = "session-0123456789",
): Heartbeat {
  return HeartbeatSchema.parse({
    v: 1,
    entity_id: "216282733276561408",
    name: "rack-a",
    status,
    seq,
    session,
    version: "1.0.0",
    stats,
    ts: new Date(0).toISOString(),
  });
}

describe("LiveStats", () => {
  test("copies every key of the wire's stats schema", () => {
    expect([...LIVE_STATS_KEYS].sort()).toEqual(Object.keys(RackStatsSchema.shape).sort());
  });

  test("round trip: the stored form equals the heartbeat's stats plus rack_status and presence (property)", () => {
    const live = new LiveStats();
    fc.assert(
      fc.property(
        statsArb,
        fc.integer({ min: 1, max: 1e6 }),
        fc.constantFrom("pending", "active", "stopping" as const),
        fc.nat(100),
        (stats, seq, status, flaps) => {
          const hb = heartbeat(stats, seq, status);
          // The same object is reused across heartbeats: leftovers of an earlier one must not leak through.
          live.take(hb, flaps);
          expect(live.toJSON()).toEqual({
            ...hb.stats,
            rack_status: status,
            presence: { flaps, session: hb.session, seq },
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  test("toJSONText is byte for byte JSON.stringify of toJSON (property)", () => {
    const live = new LiveStats();
    fc.assert(
      fc.property(
        statsArb,
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.constantFrom("pending", "active", "stopping" as const),
        fc.nat(),
        sessionArb,
        (stats, seq, status, flaps, session) => {
          live.take(heartbeat(stats, seq, status, session), flaps);
          expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
        },
      ),
      { numRuns: 500 },
    );
  });

  test("toJSONText writes a number JSON cannot hold as null, as JSON.stringify does", () => {
    const live = new LiveStats();
    const stats = {
      cpu: { process_pct: 1, host_pct: 2 },
      mem: { rss_bytes: 3, heap_used_bytes: 4 },
      event_loop_lag_ms: 5,
      active_handles: 6,
      uptime_s: 7,
    };
    live.take(heartbeat(stats, 1, "active"), 0);
    live.lag = Number.NaN;
    live.uptime = Number.POSITIVE_INFINITY;
    live.cpuHost = -0;
    expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
  });
});
