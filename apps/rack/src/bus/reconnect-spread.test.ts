// The first redial after a drop: spread uniformly over [nats] reconnect_spread, once per drop, never on the initial
// connect nor on a reconnect the Rack forced itself.
import type { Server, ServerInfo } from "@nats-io/transport-node";
import { describe, expect, test } from "vitest";
import { arrivalRate, FirstRedialSpread, firstRedialDelayMs, redialDelayMs } from "./reconnect-spread.js";

const server = { hostname: "127.0.0.1", port: 4222, listen: "127.0.0.1:4222" } as Server;
const info = { server_id: "N1" } as ServerInfo;

describe("firstRedialDelayMs", () => {
  test("maps [0, 1) onto whole milliseconds in [0, spread)", () => {
    expect(firstRedialDelayMs(5_000, () => 0)).toBe(0);
    expect(firstRedialDelayMs(5_000, () => 0.5)).toBe(2_500);
    expect(firstRedialDelayMs(5_000, () => 0.999_999_9)).toBe(4_999);
    expect(firstRedialDelayMs(3, () => 0.7)).toBe(2);
  });

  test("no spread (0, negative, NaN) redials at once", () => {
    expect(firstRedialDelayMs(0, () => 0.9)).toBe(0);
    expect(firstRedialDelayMs(-1, () => 0.9)).toBe(0);
    expect(firstRedialDelayMs(Number.NaN, () => 0.9)).toBe(0);
  });

  test("a fleet's first redials are uniform over the window: no second of it holds much more than its share", () => {
    const spreadMs = 5_000;
    const perSecond = new Array<number>(5).fill(0);
    let seed = 42;
    // A small LCG, so the test is the same on every run.
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 10_000; i++) {
      const d = firstRedialDelayMs(spreadMs, random);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(spreadMs);
      perSecond[Math.floor(d / 1000)]! += 1;
    }
    for (const n of perSecond) expect(n).toBeGreaterThan(1_800);
    for (const n of perSecond) expect(n).toBeLessThan(2_200);
  });
});

describe("redialDelayMs", () => {
  test("a later redial of the same outage waits the backoff's step, but at least the spread", () => {
    expect(redialDelayMs(5_000, 500)).toBe(5_000);
    expect(redialDelayMs(5_000, 4_800)).toBe(5_000);
    expect(redialDelayMs(5_000, 8_000)).toBe(8_000);
    expect(redialDelayMs(0, 500)).toBe(500);
  });

  test("Racks that drew less than the outage come back spread over one window after it, not together", () => {
    // 10,000 Racks, a 5 s spread, the server down for 3 s; the backoff's first steps (0.5 s +-20 %) are below the
    // spread, so each Rack's next redial is its draw + 5 s: after the server is up they arrive over [3 s, 8 s).
    const spreadMs = 5_000;
    const upMs = 3_000;
    const arrivals: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      let at = firstRedialDelayMs(spreadMs, () => (i + 0.5) / 10_000);
      while (at < upMs) at += redialDelayMs(spreadMs, 500);
      arrivals.push(at);
    }
    const perSecond = new Map<number, number>();
    for (const a of arrivals)
      perSecond.set(Math.floor(a / 1000), (perSecond.get(Math.floor(a / 1000)) ?? 0) + 1);
    expect(Math.min(...arrivals)).toBeGreaterThanOrEqual(upMs);
    expect(Math.max(...arrivals)).toBeLessThan(upMs + spreadMs);
    // At most the fleet / spread rate in any second (2,000/s); with the 0.5 s step alone 6,000 would come in one.
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2_000);
  });
});

describe("arrivalRate", () => {
  test("fleet over spread, in handshakes a second", () => {
    expect(arrivalRate(10_000, 5_000)).toBe(2_000);
    expect(arrivalRate(100, 5_000)).toBe(20);
    expect(arrivalRate(10_000, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("FirstRedialSpread", () => {
  test("the initial connect is never delayed, even when armed", () => {
    const s = new FirstRedialSpread(5_000, () => 0.5);
    expect(s.handler([server], null)).toBeNull();
    s.arm();
    expect(s.handler([server], null)).toBeNull();
  });

  test("once armed, only the first redial after the drop waits; later redials are the backoff's", () => {
    const told: number[] = [];
    const s = new FirstRedialSpread(
      5_000,
      () => 0.5,
      (d) => told.push(d),
    );
    expect(s.handler([server], info)).toBeNull();
    s.arm();
    expect(s.handler([server], info)).toEqual({ server, delay: 2_500 });
    expect(s.handler([server], info)).toBeNull();
    expect(s.handler([server], info)).toBeNull();
    expect(told).toEqual([2_500]);
    // Reconnected, then dropped again: spread again.
    s.arm();
    expect(s.handler([server], info)).toEqual({ server, delay: 2_500 });
  });

  test("redials after a spread first redial wait at least the spread, until the next connect", () => {
    const s = new FirstRedialSpread(5_000, () => 0.5);
    // Not in a spread outage (just connected, or a forced reconnect): the plain backoff step.
    expect(s.waitMs(500)).toBe(500);
    s.arm();
    expect(s.waitMs(500)).toBe(500);
    s.handler([server], info);
    expect(s.waitMs(500)).toBe(5_000);
    expect(s.waitMs(8_000)).toBe(8_000);
    s.arm();
    expect(s.waitMs(500)).toBe(500);
    s.handler([server], info);
    s.disarm();
    expect(s.waitMs(500)).toBe(500);
  });

  test("a reconnect the Rack forces (disarmed) goes at once", () => {
    const s = new FirstRedialSpread(5_000, () => 0.5);
    s.arm();
    s.disarm();
    expect(s.handler([server], info)).toBeNull();
  });

  test("a zero spread or a draw of 0 dials at once (nothing to wait for)", () => {
    const none = new FirstRedialSpread(0, () => 0.5);
    none.arm();
    expect(none.handler([server], info)).toBeNull();
    const zero = new FirstRedialSpread(5_000, () => 0);
    zero.arm();
    expect(zero.handler([server], info)).toBeNull();
  });
});
