// The reconnect pacing: the NATS client asks for its delay on every pass of its dial loop, not once per dial.
import {
  AuthorizationError,
  type ReconnectToServerHandler,
  type Server,
  type ServerInfo,
  UserAuthenticationExpiredError,
} from "@nats-io/transport-node";
import { describe, expect, test } from "vitest";
import { FirstRedialSpread } from "./bus/reconnect-spread.js";
import { Backoff } from "./lifecycle/backoff.js";
import { DialPacer, isAuthError } from "./nats-link.js";

const STEPS = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0 };

/**
 * A model of @nats-io/nats-core 3.4's `dodialLoop` for one server that refuses every dial: each pass asks for the
 * delay; once `lastConnect + delay` has passed it calls `reconnectToServer` (which may add a delay) and dials, else it
 * sleeps out the rest of the delay. A refused dial takes `dialMs`; every sleep ends `lateMs()` after it was due, as
 * timers do on a loaded machine. The link dropped at 0 and had been up since `lastConnect`.
 */
function refusedDials(
  pacer: DialPacer,
  handler: ReconnectToServerHandler,
  opts: { untilMs: number; lateMs?: () => number; dialMs?: number; lastConnect?: number },
): number[] {
  const late = opts.lateMs ?? (() => 0);
  let now = 0;
  let lastConnect = opts.lastConnect ?? -1_000_000;
  const dials: number[] = [];
  while (now < opts.untilMs) {
    const wait = pacer.waitMs();
    if (lastConnect + wait <= now) {
      const picked = handler([server], info);
      if (picked !== null && "delay" in picked) now += picked.delay + late();
      dials.push(now);
      lastConnect = now;
      now += opts.dialMs ?? 3;
    } else {
      now += lastConnect + wait - now + late();
    }
  }
  return dials;
}

const server = { hostname: "127.0.0.1", port: 4222, listen: "127.0.0.1:4222" } as Server;
const info = { server_id: "N1" } as ServerInfo;

function gaps(dials: number[]): number[] {
  return dials.slice(1).map((t, k) => t - (dials[k] as number));
}

describe("DialPacer", () => {
  test("the wait changes only at a dial, however often the client asks for it", () => {
    const pacer = new DialPacer(new Backoff(STEPS));
    // Before any dial of this outage: the first step (a link that lived less is not redialled at once).
    expect([pacer.waitMs(), pacer.waitMs(), pacer.waitMs()]).toEqual([500, 500, 500]);
    pacer.dialed();
    expect([pacer.waitMs(), pacer.waitMs()]).toEqual([500, 500]);
    pacer.dialed();
    expect([pacer.waitMs(), pacer.waitMs()]).toEqual([1_000, 1_000]);
    pacer.dialed();
    expect(pacer.waitMs()).toBe(2_000);
    pacer.reset();
    expect(pacer.waitMs()).toBe(500);
    pacer.dialed();
    expect(pacer.waitMs()).toBe(500);
  });

  test("a server that is down is redialled one step after each dial (0.5 s, 1 s, 2 s, ...), also with late timers", () => {
    for (const late of [() => 0, () => 7, () => Math.floor(Math.random() * 120)]) {
      const pacer = new DialPacer(new Backoff(STEPS));
      const dials = refusedDials(
        pacer,
        () => {
          pacer.dialed();
          return null;
        },
        { untilMs: 20_000, lateMs: late },
      );
      expect(dials[0]).toBe(0);
      // Each gap is its step plus the timer's lateness, never the step after it (the wall-clock pacer's double step).
      for (const [k, gap] of gaps(dials).slice(0, 4).entries()) {
        expect(gap).toBeGreaterThanOrEqual(500 * 2 ** k);
        expect(gap).toBeLessThan(500 * 2 ** k + 120);
      }
    }
  });

  test("after a spread first redial, each later one comes one wait later: the spread or the step, whichever is longer", () => {
    // The configuration of nats-restart.faults.test.ts: a 2 s spread, the Rack's 0.5 s doubling backoff.
    for (const late of [() => 0, () => 5, () => Math.floor(Math.random() * 120)]) {
      const spread = new FirstRedialSpread(2_000, () => 0.7);
      const pacer = new DialPacer(new Backoff(STEPS), (stepMs) => spread.waitMs(stepMs));
      spread.arm();
      const dials = refusedDials(
        pacer,
        (pool, i) => {
          const picked = spread.handler(pool, i);
          pacer.dialed();
          return picked;
        },
        { untilMs: 20_000, lateMs: late, lastConnect: -60_000 },
      );
      expect(dials[0]).toBeGreaterThanOrEqual(1_400);
      expect(dials[0]).toBeLessThan(1_400 + 120);
      // Steps 0.5 s, 1 s, 2 s, 4 s, 8 s, each at least the spread: 2, 2, 2, 4, 8 s (plus lateness), not 4 s after 2 s.
      const want = [2_000, 2_000, 2_000, 4_000, 8_000];
      for (const [k, gap] of gaps(dials).slice(0, 5).entries()) {
        expect(gap).toBeGreaterThanOrEqual(want[k] as number);
        expect(gap).toBeLessThan((want[k] as number) + 120);
      }
    }
  });
});

describe("isAuthError", () => {
  test("knows the server's refusals of a credential, also wrapped, and nothing else", () => {
    expect(isAuthError(new AuthorizationError("'Authorization Violation'"))).toBe(true);
    expect(isAuthError(new UserAuthenticationExpiredError("user authentication expired"))).toBe(true);
    expect(isAuthError(new Error("connect failed", { cause: new Error("Authorization Violation") }))).toBe(
      true,
    );
    expect(isAuthError(new Error("ECONNREFUSED"))).toBe(false);
    expect(isAuthError(undefined)).toBe(false);
  });
});
