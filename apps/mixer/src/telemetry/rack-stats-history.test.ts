// The stats history behind the console's chart: sampled at most once per step, kept for the window, oldest first.
import { describe, expect, test } from "vitest";
import { RackStatsHistory } from "./rack-stats-history.js";

const stats = (cpu: number, rss = 1000, msgs?: { in: number; out: number }) => ({
  cpu: { process_pct: cpu, host_pct: 1 },
  mem: { rss_bytes: rss, heap_used_bytes: 1 },
  event_loop_lag_ms: 0,
  active_handles: 1,
  uptime_s: 1,
  ...(msgs === undefined ? {} : { messages: msgs }),
});
const T0 = Date.parse("2025-06-01T12:00:00.000Z");

describe("RackStatsHistory", () => {
  test("one sample per step, oldest first, with what the heartbeat carried", () => {
    const h = new RackStatsHistory({ windowMs: 60_000, stepMs: 10_000 });
    h.record(1n, T0, stats(1.5, 2000, { in: 3, out: 4 }));
    h.record(1n, T0 + 2000, stats(99)); // within the step: not sampled
    h.record(1n, T0 + 10_000, stats(2.5));
    expect(h.samples(1n, T0 + 10_000)).toEqual([
      { at: "2025-06-01T12:00:00.000Z", cpu_pct: 1.5, rss_bytes: 2000, messages_in: 3, messages_out: 4 },
      {
        at: "2025-06-01T12:00:10.000Z",
        cpu_pct: 2.5,
        rss_bytes: 1000,
        messages_in: null,
        messages_out: null,
      },
    ]);
    expect(h.samples(2n, T0)).toEqual([]);
  });

  test("record answers when the next sample is due, sampled or not", () => {
    const h = new RackStatsHistory({ windowMs: 60_000, stepMs: 10_000 });
    expect(h.record(1n, T0, stats(1))).toBe(T0 + 10_000);
    expect(h.record(1n, T0 + 4000, stats(2))).toBe(T0 + 10_000); // not sampled: still due then
    expect(h.record(1n, T0 + 12_000, stats(3))).toBe(T0 + 22_000);
    expect(h.samples(1n, T0 + 12_000).map((s) => s.cpu_pct)).toEqual([1, 3]);
  });

  test("keeps only the window, however long it runs (the ring wraps)", () => {
    const h = new RackStatsHistory({ windowMs: 30_000, stepMs: 10_000 });
    for (let i = 0; i < 50; i += 1) h.record(7n, T0 + i * 10_000, stats(i));
    const now = T0 + 49 * 10_000;
    expect(h.samples(7n, now).map((s) => s.cpu_pct)).toEqual([46, 47, 48, 49]);
    // Long silent: nothing left in the window.
    expect(h.samples(7n, now + 120_000)).toEqual([]);
  });

  test("junk stats give nulls, never NaN or a throw", () => {
    const h = new RackStatsHistory();
    h.record(3n, T0, null);
    h.record(4n, T0, { cpu: { process_pct: "x" }, mem: null });
    expect(h.samples(3n, T0)[0]).toMatchObject({ cpu_pct: null, rss_bytes: null });
    expect(h.samples(4n, T0)[0]).toMatchObject({ cpu_pct: null, rss_bytes: null });
  });

  test("at most maxRacks: the Rack heard from least recently goes first; forget drops one", () => {
    const h = new RackStatsHistory({ maxRacks: 2, stepMs: 1 });
    h.record(1n, T0, stats(1));
    h.record(2n, T0 + 1, stats(2));
    h.record(1n, T0 + 2, stats(1));
    h.record(3n, T0 + 3, stats(3));
    expect(h.size).toBe(2);
    expect(h.samples(2n, T0 + 3)).toEqual([]);
    expect(h.samples(1n, T0 + 3)).toHaveLength(2);
    h.forget(1n);
    expect(h.samples(1n, T0 + 3)).toEqual([]);
  });
});

describe("fed by presence", () => {
  test("each accepted heartbeat is offered, a dropped one is not, and a removed Rack is forgotten", async () => {
    const { PresenceTracker } = await import("../presence/presence-tracker.js");
    const { RackDirectory } = await import("../registry/rack-directory.js");
    const { heartbeatFixture, RACK_ID, rackRecordFixture } = await import(
      "../../test/support/presence-fixtures.js"
    );
    const directory = new RackDirectory();
    const record = rackRecordFixture();
    directory.put(record);
    const history = new RackStatsHistory({ stepMs: 1 });
    const sink = {
      flush: async () => undefined,
      markBack: async () => undefined,
      markStopped: async () => undefined,
    };
    const tracker = new PresenceTracker(
      { heartbeatIntervalMs: 100, missedHeartbeats: 3, startedAtMs: 0 },
      { directory, sink, history },
    );
    expect(tracker.heartbeat(heartbeatFixture({ seq: 1 }), RACK_ID, 10).accepted).toBe(true);
    expect(tracker.heartbeat(heartbeatFixture({ seq: 1 }), RACK_ID, 20).accepted).toBe(false); // a replay
    expect(tracker.heartbeat(heartbeatFixture({ seq: 2 }), RACK_ID + 1n, 30).accepted).toBe(false); // another id
    expect(history.samples(RACK_ID, 30)).toHaveLength(1);
    directory.remove(record.entityId);
    expect(history.samples(RACK_ID, 30)).toEqual([]);
  });

  test("a Rack heartbeating every second is sampled once per 10 s step, at the heartbeat that opens the step", async () => {
    const { PresenceTracker } = await import("../presence/presence-tracker.js");
    const { RackDirectory } = await import("../registry/rack-directory.js");
    const { heartbeatFixture, NULL_PRESENCE_SINK, RACK_ID, rackRecordFixture } = await import(
      "../../test/support/presence-fixtures.js"
    );
    const directory = new RackDirectory();
    directory.put(rackRecordFixture());
    const history = new RackStatsHistory({ windowMs: 300_000, stepMs: 10_000 });
    const offered: number[] = [];
    const tracker = new PresenceTracker(
      { heartbeatIntervalMs: 1000, missedHeartbeats: 3, startedAtMs: T0 },
      {
        directory,
        sink: NULL_PRESENCE_SINK,
        // The real history, and what presence offers it: the heartbeats within a step are no longer offered.
        history: {
          record: (id, nowMs, s) => {
            offered.push(nowMs - T0);
            return history.record(id, nowMs, s);
          },
          forget: (id) => history.forget(id),
        },
      },
    );
    for (let i = 0; i <= 25; i++) {
      const hb = heartbeatFixture({
        seq: i + 1,
        stats: { ...heartbeatFixture().stats, cpu: { process_pct: i, host_pct: 0 } },
      });
      // 500 ms late now and then: the next step is due 10 s after the sample actually taken.
      const at = T0 + i * 1000 + (i === 10 ? 500 : 0);
      expect(tracker.heartbeat(hb, RACK_ID, at).accepted).toBe(true);
    }
    expect(offered).toEqual([0, 10_500, 21_000]);
    expect(history.samples(RACK_ID, T0 + 25_000).map((s) => [s.at, s.cpu_pct])).toEqual([
      ["2025-06-01T12:00:00.000Z", 0],
      ["2025-06-01T12:00:10.500Z", 10],
      ["2025-06-01T12:00:21.000Z", 21],
    ]);
  });
});
