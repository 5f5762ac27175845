// The governor collects only past its limit, and its limit follows what survives a collection.
import { describe, expect, test } from "vitest";
import { HeapGovernor } from "./heap-governor.js";

const MB = 1024 * 1024;

function fakeHeap(startMb: number) {
  const heap = { used: startMb * MB, liveAfterGc: 40 * MB, collections: 0, nowMs: 0 };
  return {
    heap,
    now: () => heap.nowMs,
    read: () => heap.used,
    collect: () => {
      heap.collections++;
      heap.used = heap.liveAfterGc;
    },
  };
}

describe("HeapGovernor", () => {
  test("below the soft limit nothing is collected", () => {
    const f = fakeHeap(90);
    const g = new HeapGovernor({ softLimitBytes: 96 * MB, read: f.read, collect: f.collect, now: f.now });
    expect(g.check()).toBe(false);
    expect(f.heap.collections).toBe(0);
  });

  test("past the limit one full collection, and the limit stays the soft limit while live data is small", () => {
    const f = fakeHeap(150);
    const told: number[] = [];
    const g = new HeapGovernor({
      softLimitBytes: 96 * MB,
      read: f.read,
      collect: f.collect,
      now: f.now,
      onCollect: (live) => told.push(live),
    });
    expect(g.check()).toBe(true);
    expect(f.heap.collections).toBe(1);
    expect(g.limitBytes).toBe(96 * MB);
    expect(g.stats).toMatchObject({ collections: 1, lastLiveBytes: 40 * MB });
    expect(told).toEqual([40 * MB]);
  });

  test("a fleet whose live data outgrows the soft limit is collected at 1.5 times its size, not at every check", () => {
    const f = fakeHeap(150);
    f.heap.liveAfterGc = 120 * MB;
    const g = new HeapGovernor({ softLimitBytes: 96 * MB, read: f.read, collect: f.collect, now: f.now });
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
    const g = new HeapGovernor({ softLimitBytes: 96 * MB, read: f.read, collect: f.collect, now: f.now });
    expect(g.check()).toBe(true);
    f.heap.used = 150 * MB;
    f.heap.nowMs += 4_999;
    expect(g.check()).toBe(false);
    f.heap.nowMs += 1;
    expect(g.check()).toBe(true);
    expect(f.heap.collections).toBe(2);
  });

  test("the real collector can be called (V8's gc, exposed at run time)", () => {
    const g = new HeapGovernor({ softLimitBytes: 1 });
    expect(g.check()).toBe(true);
    expect(g.stats.lastLiveBytes).toBeGreaterThan(0);
  });
});
