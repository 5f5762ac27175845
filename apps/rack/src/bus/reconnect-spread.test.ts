// The first redial after a drop: spread uniformly over [nats] reconnect_spread, once per drop, never on the initial
// connect nor on a reconnect the Rack forced itself.
import type { Server, ServerInfo } from "@nats-io/transport-node";
import { describe, expect, test } from "vitest";
import { arrivalRate, FirstRedialSpread, firstRedialDelayMs } from "./reconnect-spread.js";

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
