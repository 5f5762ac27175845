// The keep-running rule shared by the Rack (what it restarts) and the Mixer's scenario plan (what it says it restarts).
import { describe, expect, test } from "vitest";
import type { ScenarioPush } from "./push-schemas.js";
import { scenarioGearChanges, scenarioGearKey } from "./scenario-gear-diff.js";

type Push = Pick<ScenarioPush, "gears" | "wires">;
const wire = (scenario: string, name: string, from: string, to: string) => ({
  name,
  from,
  to,
  subject: `fluxrig.msg.${scenario}.${name}`,
});
const base: Push = {
  gears: [
    { name: "tick", type: "ticker", config: { interval: "1s", jitter: { max: 2, min: 1 } } },
    { name: "count", type: "counter", config: {} },
    { name: "alone", type: "ticker", config: {} },
  ],
  wires: [wire("lab", "feed", "tick.out", "count.in")],
};

describe("scenarioGearKey", () => {
  test("ignores the order of config keys and of wires, and wires that do not touch the gear", () => {
    const tick = base.gears[0]!;
    const reordered = { ...tick, config: { jitter: { min: 1, max: 2 }, interval: "1s" } };
    const other = wire("lab", "other", "alone.out", "count.in");
    expect(scenarioGearKey(reordered, [other, ...base.wires])).toBe(scenarioGearKey(tick, base.wires));
  });

  test("differs when the type, a config value or a touching wire differs", () => {
    const tick = base.gears[0]!;
    const key = scenarioGearKey(tick, base.wires);
    expect(scenarioGearKey({ ...tick, type: "transform" }, base.wires)).not.toBe(key);
    expect(scenarioGearKey({ ...tick, config: { ...tick.config, interval: "2s" } }, base.wires)).not.toBe(
      key,
    );
    expect(scenarioGearKey(tick, [wire("lab2", "feed", "tick.out", "count.in")])).not.toBe(key);
    expect(scenarioGearKey(tick, [])).not.toBe(key);
  });
});

describe("scenarioGearChanges", () => {
  test("nothing before: every gear starts", () => {
    expect(scenarioGearChanges(undefined, base)).toEqual({
      start: ["alone", "count", "tick"],
      stop: [],
      restart: [],
      unchanged: [],
    });
  });

  test("the same push: every gear unchanged", () => {
    expect(scenarioGearChanges(base, structuredClone(base))).toEqual({
      start: [],
      stop: [],
      restart: [],
      unchanged: ["alone", "count", "tick"],
    });
  });

  test("a changed wire restarts both its ends; a new gear starts, a removed one stops, the rest stay", () => {
    const next: Push = {
      gears: [base.gears[0]!, base.gears[1]!, { name: "extra", type: "ticker", config: {} }],
      wires: [wire("lab", "feed2", "tick.out", "count.in")],
    };
    expect(scenarioGearChanges(base, next)).toEqual({
      start: ["extra"],
      stop: ["alone"],
      restart: ["count", "tick"],
      unchanged: [],
    });
  });

  test("to nothing: every gear stops", () => {
    expect(scenarioGearChanges(base, { gears: [], wires: [] })).toEqual({
      start: [],
      stop: ["alone", "count", "tick"],
      restart: [],
      unchanged: [],
    });
  });
});
