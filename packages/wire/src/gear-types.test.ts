// The built-in gear config schemas: defaults, durations, and every problem reported at its key.
import { describe, expect, test } from "vitest";
import { checkGearConfig, GEAR_CONFIG_SCHEMAS, GEAR_TYPE_NAMES, isGearTypeName } from "./gear-types.js";

const { ticker, transform, counter } = GEAR_CONFIG_SCHEMAS;

describe("gear config schemas", () => {
  test("the built-in types, in order; nothing inherited counts as a type", () => {
    expect(GEAR_TYPE_NAMES).toEqual(["ticker", "transform", "counter"]);
    expect(isGearTypeName("ticker")).toBe(true);
    expect(isGearTypeName("toString")).toBe(false);
    expect(isGearTypeName("__proto__")).toBe(false);
  });

  test("an empty config reads as the documented defaults", () => {
    expect(ticker.parse({})).toEqual({ interval: 1_000 });
    expect(transform.parse({})).toEqual({ rename: {}, set: {}, drop: [] });
    expect(counter.parse({})).toEqual({ every: 10 });
  });

  test.each([
    ["250ms", 250],
    ["1s", 1_000],
    ["1.5s", 1_500],
    ["5m", 300_000],
    [1500, 1_500],
    [10, 10],
  ])("ticker interval %j reads as %i ms", (interval, ms) => {
    expect(ticker.parse({ interval }).interval).toBe(ms);
  });

  test.each([["lots"], ["5"], [5], ["1w"], [true], [null], [-1], ["25d"], [Number.NaN]])(
    "ticker interval %j is refused at its key",
    (interval) => {
      const result = checkGearConfig(ticker, { interval }, "ticker");
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.issues.map((i) => i.path)).toEqual([["interval"]]);
    },
  );

  test("every unknown key is an issue of its own that names the keys the type takes", () => {
    const result = checkGearConfig(ticker, { interval_ms: 1000, bogus: 1 }, "ticker");
    expect(result).toEqual({
      ok: false,
      issues: [
        { path: ["interval_ms"], message: 'unknown key "interval_ms" (a ticker gear takes: interval)' },
        { path: ["bogus"], message: 'unknown key "bogus" (a ticker gear takes: interval)' },
      ],
    });
  });

  test("bad values are reported together, each at its path", () => {
    const result = checkGearConfig(
      transform,
      { pick: "a", rename: { a: 1 }, set: [1], drop: [2] },
      "transform",
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path)).toEqual([["pick"], ["rename", "a"], ["set"], ["drop", 0]]);
    expect(checkGearConfig(counter, { every: "lots" }, "counter")).toMatchObject({
      ok: false,
      issues: [{ path: ["every"], message: expect.stringMatching(/whole number/) }],
    });
    for (const every of [0, 1.5, -3]) expect(checkGearConfig(counter, { every }, "counter").ok).toBe(false);
  });

  test("a config that is not a mapping is one issue at the config itself", () => {
    expect(checkGearConfig(counter, [1], "counter")).toEqual({
      ok: false,
      issues: [{ path: [], message: "expected a mapping of config keys" }],
    });
    expect(checkGearConfig(counter, undefined, "counter")).toEqual({ ok: true, config: { every: 10 } });
  });
});
