// Per-gear health with a real Rack process: the gears of its scenario reach `GET /racks/{ref}` as the Rack reports
// them in its heartbeats, running, with message counts that grow. (A gear failing is tested at the unit level,
// apps/rack/src/gears/gear-runtime.test.ts: the Mixer refuses at import every config a built-in gear would fail on.)
import { MixerHarness } from "@fluxrig/testkit";
import type { GearHealthView } from "@fluxrig/wire";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  activateScenario,
  fastMixerEnv,
  spawnWatchedRack,
  tickerScenario,
  waitForRack,
} from "./support/real-fleet.js";

const RACK = "rack-gears-01";
let h: MixerHarness;

beforeAll(async () => {
  h = await MixerHarness.create({ env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" }) });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

/** The gears `GET /racks/{ref}` shows (the e2e view type leaves them out). */
function gearsOf(rack: object): GearHealthView[] | null | undefined {
  return (rack as { gears?: GearHealthView[] | null }).gears;
}

describe("per-gear health (real Rack, real Mixer)", () => {
  test("racks show lists each gear of the Rack's scenario, running, its counts growing", async () => {
    await activateScenario(h, tickerScenario("health", [RACK]), "health");
    await using _watched = await spawnWatchedRack(h, { name: RACK });
    const first = await waitForRack(
      h,
      RACK,
      (r) => (gearsOf(r)?.find((g) => g.name === "count-0")?.in ?? 0) > 0,
      { message: "its counter to have received ticks" },
    );
    expect(gearsOf(first)).toEqual([
      { name: "tick-0", type: "ticker", state: "running", restarts: 0, in: 0, out: expect.any(Number) },
      { name: "count-0", type: "counter", state: "running", restarts: 0, in: expect.any(Number), out: 0 },
    ]);
    expect(first.stats?.gears).toEqual({ running: 2, failed: 0, restarts: 0 });
    const tickedBefore = gearsOf(first)![0]!.out;
    const countedBefore = gearsOf(first)![1]!.in;

    const later = await waitForRack(
      h,
      RACK,
      (r) => (gearsOf(r)?.[1]?.in ?? 0) > countedBefore && (gearsOf(r)?.[0]?.out ?? 0) > tickedBefore,
      { message: "its counts to grow with the next heartbeats" },
    );
    expect(gearsOf(later)?.map((g) => g.state)).toEqual(["running", "running"]);
  });
});
