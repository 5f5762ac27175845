// Switching scenarios with a real Rack: the Rack a new scenario drops stops its gears at once, and every Rack tells
// the Mixer in its heartbeats which scenario version it runs, so the registry can say it per Rack.
import { MixerHarness } from "@fluxrig/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  activateScenario,
  fastMixerEnv,
  spawnWatchedRack,
  tickerScenario,
  waitForRack,
} from "./support/real-fleet.js";

const DROPPED = "rack-switch-01";
let h: MixerHarness;

beforeAll(async () => {
  h = await MixerHarness.create({ env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" }) });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

describe("scenario switch (real Rack, real Mixer)", () => {
  test("a Rack the new scenario drops stops its gears; its heartbeats name the version it runs", async () => {
    await activateScenario(h, tickerScenario("first", [DROPPED]), "first");
    await using watched = await spawnWatchedRack(h, { name: DROPPED });
    const { rack } = watched;
    const running = await waitForRack(
      h,
      DROPPED,
      (r) => r.status === "active" && r.stats?.gears?.running === 2 && r.stats.scenario?.name === "first",
      { message: "running scenario first with its two gears" },
    );
    expect(running.stats?.scenario).toEqual({ name: "first", version: "1" });

    // The next scenario names another Rack only: this one is told at once and stops its gears.
    await activateScenario(h, tickerScenario("second", ["rack-elsewhere"]), "second");
    await rack.waitForJson({ msg: "gears: scenario applied", scenario: "second" });
    const switched = await waitForRack(
      h,
      DROPPED,
      (r) => r.stats?.scenario?.name === "second" && r.stats.gears?.running === 0,
      { message: "running scenario second with no gears" },
    );
    expect(switched.status).toBe("active");
    expect(switched.stats?.scenario).toEqual({ name: "second", version: "1" });
  });
});
