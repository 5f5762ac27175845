// HeartbeatSends: a verdict is excused only when the test itself left the Rack silent for about a whole window.
import { describe, expect, test } from "vitest";
import { HeartbeatSends } from "./heartbeat-sends.js";

const WINDOW = { windowMs: 5_000, intervalMs: 500 };

/** Sends every `every` ms from `from` to `to` inclusive. */
function steady(sends: HeartbeatSends, name: string, from: number, to: number, every = 500): void {
  for (let t = from; t <= to; t += every) sends.record(name, t);
}

describe("HeartbeatSends", () => {
  test("largestGap spans the sends around [from, to], including the open ends", () => {
    const sends = new HeartbeatSends();
    for (const t of [0, 1_000, 4_000, 4_500, 9_000]) sends.record("a", t);
    expect(sends.largestGap("a", 500, 5_000)).toBe(4_500);
    expect(sends.largestGap("a", 1_500, 4_200)).toBe(3_000);
    expect(sends.largestGap("a", 9_500, 10_000)).toBe(1_000);
    expect(sends.largestGap("never", 0, 2_000)).toBe(2_000);
    expect(sends.names()).toEqual(["a"]);
  });

  test("a Rack the test kept sending for is a false offline", () => {
    const sends = new HeartbeatSends();
    steady(sends, "a", 0, 20_000);
    expect(sends.judgeOffline("a", { at: 12_000, ...WINDOW })).toEqual({
      name: "a",
      gapMs: 500,
      excused: false,
    });
  });

  test("a Rack the test left silent for a window is excused, even if the test resumed just before the verdict", () => {
    const sends = new HeartbeatSends();
    steady(sends, "a", 0, 6_000);
    steady(sends, "a", 11_000, 20_000);
    expect(sends.judgeOffline("a", { at: 11_200, ...WINDOW })).toEqual({
      name: "a",
      gapMs: 5_000,
      excused: true,
    });
    // A stall shorter than the window does not excuse a verdict.
    const short = new HeartbeatSends();
    steady(short, "b", 0, 6_000);
    steady(short, "b", 9_000, 20_000);
    expect(short.judgeOffline("b", { at: 9_500, ...WINDOW })).toMatchObject({ gapMs: 3_000, excused: false });
  });
});
