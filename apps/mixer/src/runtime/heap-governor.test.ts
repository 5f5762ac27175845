// The governor collects only past its limit, and its limit follows what survives a collection.
import { describe, expect, test } from "vitest";
import { HeapGovernor } from "./heap-governor.js";

const MB = 1024 * 1024;

/** A heap, clock and event loop the test moves by hand, and a governor over them (soft limit 96 MB). */
function fakeHeap(startMb: number, onCollect?: (liveBytes: number) => void) {
  const heap = { used: startMb * MB, liveAfterGc: 40 * MB, collections: 0, nowMs: 0, loop: 0.2 };
  const governor = new HeapGovernor({
    softLimitBytes: 96 * MB,
    now: () => heap.nowMs,
    utilization: () => heap.loop,
    read: () => heap.used,
    collect: () => {
      heap.collections++;
      heap.used = heap.liveAfterGc;
    },
    ...(onCollect ? { onCollect } : {}),
  });
  return { heap, governor };
}

describe("HeapGovernor", () => {
  test("below the soft limit nothing is collected", () => {
    const f = fakeHeap(90);
    const g = f.governor;
    expect(g.check()).toBe(false);
    expect(f.heap.collections).toBe(0);
  });

  test("past the limit one full collection, and the limit stays the soft limit while live data is small", () => {
    const told: number[] = [];
    const f = fakeHeap(150, (live) => told.push(live));
    const g = f.governor;
    expect(g.check()).toBe(true);
    expect(f.heap.collections).toBe(1);
    expect(g.limitBytes).toBe(96 * MB);
    expect(g.stats).toMatchObject({ collections: 1, lastLiveBytes: 40 * MB });
    expect(told).toEqual([40 * MB]);
  });

  test("a fleet whose live data outgrows the soft limit is collected at 1.5 times its size, not at every check", () => {
    const f = fakeHeap(150);
    f.heap.liveAfterGc = 120 * MB;
    const g = f.governor;
    expect(g.check()).toBe(true);
    expect(g.limitBytes).toBe(180 * MB);
    f.heap.used = 170 * MB;
    f.heap.nowMs += 10_000;
    expect(g.check()).toBe(false);
    // The fleet shrinks again: the limit comes back down after the next collection.
    f.heap.used = 190 * MB;
    f.heap.liveAfterGc = 30 * MB;
    expect(g.check()).toBe(true);
    expect(g.limitBytes).toBe(96 * MB);
    expect(f.heap.collections).toBe(2);
  });

  test("at most one collection per 5 s, however fast the heap fills", () => {
    const f = fakeHeap(150);
    const g = f.governor;
    expect(g.check()).toBe(true);
    f.heap.used = 150 * MB;
    f.heap.nowMs += 4_999;
    expect(g.check()).toBe(false);
    f.heap.nowMs += 1;
    expect(g.check()).toBe(true);
    expect(f.heap.collections).toBe(2);
  });

  test("while the event loop is busy the collection waits for a quieter interval", () => {
    const f = fakeHeap(150);
    f.heap.loop = 0.9;
    const g = f.governor;
    expect(g.check()).toBe(false);
    f.heap.nowMs += 1_000;
    expect(g.check()).toBe(false);
    expect(g.stats.deferredBusy).toBe(2);
    f.heap.loop = 0.3;
    f.heap.nowMs += 1_000;
    expect(g.check()).toBe(true);
    expect(f.heap.collections).toBe(1);
  });

  test("the real utilization reading: a busy interval defers, an idle one collects", async () => {
    let nowMs = 0;
    let collections = 0;
    const g = new HeapGovernor({ softLimitBytes: 1, collect: () => collections++, now: () => nowMs });
    g.check(); // Starts the readings; what it decides depends on the test runner's own load.
    const before = { collections, deferred: g.stats.deferredBusy };
    nowMs += 10_000;
    const start = performance.now();
    while (performance.now() - start < 50) {
      // The whole interval on the event loop.
    }
    expect(g.check()).toBe(false);
    expect(g.stats.deferredBusy).toBe(before.deferred + 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    nowMs += 10_000;
    expect(g.check()).toBe(true);
    expect(collections).toBe(before.collections + 1);
  });

  test("the real collector can be called (V8's gc, exposed at run time)", () => {
    const g = new HeapGovernor({ softLimitBytes: 1, utilization: () => 0 });
    expect(g.check()).toBe(true);
    expect(g.stats.lastLiveBytes).toBeGreaterThan(0);
  });
});
