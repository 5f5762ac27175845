import { describe, expect, test, vi } from "vitest";
import type { AuditEvent } from "../registry/audit-chain.js";
import { AuditFeed } from "./audit-feed.js";

function event(seq: number): AuditEvent {
  return {
    seq,
    at: new Date(1_750_000_000_000 + seq),
    entityId: null,
    name: null,
    kind: "test",
    fromStatus: null,
    toStatus: null,
    cause: "test",
    actor: "test",
    details: null,
    prevHash: "",
    hash: "",
  };
}

/** An in-memory log the feed reads, counting reads. */
function memoryLog(initial = 0) {
  const events: AuditEvent[] = Array.from({ length: initial }, (_, i) => event(i + 1));
  const log = {
    events,
    reads: 0,
    append: (n = 1) => {
      for (let i = 0; i < n; i++) events.push(event(events.length + 1));
    },
    read: async (after: number, limit: number) => {
      log.reads += 1;
      return events.filter((e) => e.seq > after).slice(0, limit);
    },
    head: async () => events.length,
  };
  return log;
}

async function takeUntil(sub: { take(ms: number): Promise<AuditEvent[] | null> }, lastSeq: number) {
  const seen: number[] = [];
  while (seen.at(-1) !== lastSeq) {
    const got = await sub.take(2_000);
    if (got === null || got.length === 0)
      throw new Error(`stalled after ${seen.at(-1)} waiting for ${lastSeq}`);
    seen.push(...got.map((e) => e.seq));
  }
  return seen;
}

describe("AuditFeed", () => {
  test("starts after the head, delivers every later event once and in order, to every subscriber", async () => {
    const log = memoryLog(5);
    const feed = new AuditFeed({ ...log, intervalMs: 5, pageSize: 3 });
    const a = await feed.subscribe();
    const b = await feed.subscribe();
    expect(a.startSeq).toBe(5);
    log.append(8);
    expect(await takeUntil(a, 13)).toEqual([6, 7, 8, 9, 10, 11, 12, 13]);
    expect(await takeUntil(b, 13)).toEqual([6, 7, 8, 9, 10, 11, 12, 13]);
    await feed.close();
  });

  test("polls only while someone listens, and one poller serves all", async () => {
    // Fake timers: the counts below are of poll ticks, not of how busy the machine is.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const log = memoryLog();
      const feed = new AuditFeed({ ...log, intervalMs: 5 });
      const subs = await Promise.all([feed.subscribe(), feed.subscribe(), feed.subscribe()]);
      const before = log.reads;
      await vi.advanceTimersByTimeAsync(60);
      // Three listeners for 60 ms at 5 ms: one poller reads about a dozen times, not three dozen.
      expect(log.reads - before).toBeGreaterThanOrEqual(10);
      expect(log.reads - before).toBeLessThanOrEqual(13);
      for (const s of subs) s.close();
      await vi.advanceTimersByTimeAsync(20);
      const after = log.reads;
      await vi.advanceTimersByTimeAsync(50);
      expect(log.reads).toBe(after);
      // It starts again from the new head for the next listener.
      log.append(2);
      const late = await feed.subscribe();
      expect(late.startSeq).toBe(2);
      log.append();
      await vi.advanceTimersByTimeAsync(10);
      expect(await late.take(0)).toEqual([expect.objectContaining({ seq: 3 })]);
      await feed.close();
    } finally {
      vi.useRealTimers();
    }
  });

  test("refuses one subscriber over the limit with unavailable, and takes one again after a close", async () => {
    const feed = new AuditFeed({ ...memoryLog(), intervalMs: 5, maxSubscribers: 2 });
    const first = await feed.subscribe();
    await feed.subscribe();
    await expect(feed.subscribe()).rejects.toMatchObject({ code: "unavailable", details: { limit: 2 } });
    first.close();
    await expect(feed.subscribe()).resolves.toBeDefined();
    await feed.close();
  });

  test("close ends every subscription, wakes waiting takes and refuses new subscribers", async () => {
    const feed = new AuditFeed({ ...memoryLog(), intervalMs: 5 });
    const sub = await feed.subscribe();
    const waiting = sub.take(60_000);
    await feed.close();
    expect(await waiting).toBeNull();
    expect(sub.ended).toBe("stopping");
    expect(sub.signal.aborted).toBe(true);
    await expect(feed.subscribe()).rejects.toMatchObject({ code: "unavailable" });
  });

  test("a subscriber that falls too far behind is ended; the others go on", async () => {
    const log = memoryLog();
    const feed = new AuditFeed({ ...log, intervalMs: 5, maxQueued: 3 });
    const slow = await feed.subscribe();
    const fast = await feed.subscribe();
    log.append(2);
    expect(await takeUntil(fast, 2)).toEqual([1, 2]);
    log.append(3);
    expect(await takeUntil(fast, 5)).toEqual([3, 4, 5]);
    expect(slow.ended).toBe("overflow");
    expect(await slow.take(10)).toBeNull();
    await feed.close();
  });

  test("a failed read loses nothing: the next tick reads the same events", async () => {
    const log = memoryLog();
    let failures = 2;
    const feed = new AuditFeed({
      head: log.head,
      read: async (after, limit) => {
        if (failures > 0 && log.events.length > 0) {
          failures -= 1;
          throw new Error("disk hiccup");
        }
        return log.read(after, limit);
      },
      intervalMs: 5,
    });
    const sub = await feed.subscribe();
    log.append(3);
    expect(await takeUntil(sub, 3)).toEqual([1, 2, 3]);
    expect(failures).toBe(0);
    await feed.close();
  });
});
