// The chart's path maths.
import { describe, expect, test } from "vitest";
import { linePath, niceMax, trimSamples } from "./chart.js";

describe("chart", () => {
  test("niceMax rounds up to 1, 2 or 5 times a power of ten", () => {
    expect([0, 0.4, 1, 1.2, 3, 7, 42, 120, 980, 55_000_000].map((v) => niceMax([v]))).toEqual([
      1, 1, 1, 2, 5, 10, 50, 200, 1000, 100_000_000,
    ]);
    expect(niceMax([])).toBe(1);
    expect(niceMax([Number.NaN, 3])).toBe(5);
  });

  test("linePath maps time to x and value to y, top is the max", () => {
    const box = { width: 120, height: 40, spanMs: 60_000, now: 60_000 };
    expect(
      linePath(
        [
          { t: 0, v: 0 },
          { t: 30_000, v: 0.5 },
          { t: 60_000, v: 1 },
        ],
        box,
        1,
      ),
    ).toBe("M0,40L60,20L120,0");
  });

  test("samples outside the span are cut, values clamped, nothing gives an empty path", () => {
    const box = { width: 100, height: 10, spanMs: 1000, now: 2000 };
    expect(
      linePath(
        [
          { t: 0, v: 5 },
          { t: 1500, v: 99 },
          { t: 2000, v: -3 },
        ],
        box,
        10,
      ),
    ).toBe("M50,0L100,10");
    expect(linePath([], box, 10)).toBe("");
  });

  test("trimSamples keeps the span and one sample before it", () => {
    const samples = [1, 2, 3, 4, 5].map((t) => ({ t: t * 1000, v: t }));
    expect(trimSamples(samples, 2000, 5000).map((s) => s.t)).toEqual([2000, 3000, 4000, 5000]);
    expect(trimSamples(samples, 100, 50_000).map((s) => s.t)).toEqual([5000]);
  });
});
