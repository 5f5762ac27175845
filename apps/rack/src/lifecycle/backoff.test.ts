// Jitter stays within its bounds; backoff grows, is capped, and resets.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { HEARTBEAT_JITTER } from "../heartbeat/heartbeat-loop.js";
import { Backoff, jitter } from "./backoff.js";

describe("jitter", () => {
  test("heartbeat jitter stays within ±10 % of the interval", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 3_600_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (base, r) => {
          const delay = jitter(base, HEARTBEAT_JITTER, () => r);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.9));
          expect(delay).toBeLessThanOrEqual(Math.ceil(base * 1.1));
        },
      ),
    );
  });

  test("the extremes of the random source reach both bounds", () => {
    expect(jitter(10_000, 0.1, () => 0)).toBe(9_000);
    expect(jitter(10_000, 0.1, () => 0.999_999_9)).toBe(11_000);
  });

  test("never below 1 ms", () => {
    expect(jitter(0, 0.5, () => 0)).toBe(1);
  });
});

describe("Backoff", () => {
  test("grows by its factor up to the cap, then resets", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(b.attempts).toBe(6);
    b.reset();
    expect(b.next()).toBe(100);
  });

  test("jittered delays stay within the cap plus its jitter", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 40,
        }),
        (rs) => {
          let i = 0;
          const b = new Backoff(
            { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 },
            () => rs[i++ % rs.length]!,
          );
          for (let n = 0; n < rs.length; n++) {
            const d = b.next();
            expect(d).toBeGreaterThanOrEqual(400);
            expect(d).toBeLessThanOrEqual(36_000);
          }
        },
      ),
    );
  });
});
