// The start-up retry schedule: attempts go on until the configured deadline, and one is made at the deadline itself.
import { describe, expect, test } from "vitest";
import { nextConnectWait } from "./nats-connection.js";

/** The times (ms from the start) at which connectNats would attempt, if each attempt failed at once. */
function attemptTimes(timeoutMs: number): number[] {
  const times = [0];
  let now = 0;
  let backoff = 100;
  for (;;) {
    const wait = nextConnectWait({ waitedMs: now, backoffMs: backoff, timeoutMs });
    if (wait === undefined) return times;
    now += wait;
    times.push(now);
    backoff = Math.min(backoff * 2, 2000);
  }
}

describe("nextConnectWait", () => {
  test("a 3 s connect_timeout keeps trying until 3 s, not 1.6 s", () => {
    expect(attemptTimes(3_000)).toEqual([0, 100, 300, 700, 1_500, 3_000]);
  });

  test("backoff is capped at 2 s and the last attempt lands on the deadline", () => {
    const times = attemptTimes(10_000);
    expect(times.at(-1)).toBe(10_000);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(Math.max(...gaps)).toBe(2_000);
  });

  test("past the deadline there is no further attempt", () => {
    expect(nextConnectWait({ waitedMs: 3_000, backoffMs: 100, timeoutMs: 3_000 })).toBeUndefined();
    expect(nextConnectWait({ waitedMs: 3_400, backoffMs: 100, timeoutMs: 3_000 })).toBeUndefined();
  });
});
