// Switching scenarios with a real Rack: the Rack a new scenario drops stops its gears at once, and every Rack tells
// the Mixer in its heartbeats which scenario version it runs, so the registry can say it per Rack. A new version
// restarts only the gears it changes, exactly those the plan names, and a rollback restarts only those again.
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

const DROPPED = "rack-switch-01";
const KEEPER = "rack-switch-02";

/** v1: a fast ticker wired to a counter, and a slow ticker alone; v2 changes the slow one and adds another. */
const keepScenario = (version: 1 | 2) => `meta: { name: keep, version: ${version} }
racks: [{ name: ${KEEPER} }]
gears:
  - { name: tick, type: ticker, deploy: ${KEEPER}, config: { interval: 50ms } }
  - { name: count, type: counter, deploy: ${KEEPER}, config: { every: 1000 } }
  - { name: slow, type: ticker, deploy: ${KEEPER}, config: { interval: ${version === 1 ? "1s" : "2s"} } }
${version === 2 ? `  - { name: extra, type: ticker, deploy: ${KEEPER}, config: { interval: 1s } }\n` : ""}wires:
  - { name: feed, from: tick.out, to: count.in }
`;

/** The gears `GET /racks/{ref}` shows. */
function gearsOf(rack: object): GearHealthView[] {
  return (rack as { gears?: GearHealthView[] | null }).gears ?? [];
}
const countIn = (rack: object) => gearsOf(rack).find((g) => g.name === "count")?.in ?? 0;
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

  test("a new version restarts only the gears it changes: the counter the plan keeps keeps counting", async () => {
    await activateScenario(h, keepScenario(1), "keep");
    await using watched = await spawnWatchedRack(h, { name: KEEPER });
    const { rack } = watched;
    // Long enough that a restarted counter (back to 0) could not have caught up by the next heartbeat.
    const before = await waitForRack(
      h,
      KEEPER,
      (r) => r.stats?.scenario?.version === "1" && countIn(r) >= 40,
      {
        message: "the counter of version 1 to have counted 40 ticks",
      },
    );

    const v2 = keepScenario(2);
    const plan = await h.api("/api/v1/scenarios/plan", {
      method: "POST",
      body: v2,
      headers: { "content-type": "application/yaml" },
    });
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({
      racks: [
        {
          name: KEEPER,
          action: "push",
          gears: { start: ["extra"], stop: [], restart: ["slow"], unchanged: ["count", "tick"] },
        },
      ],
    });

    await activateScenario(h, v2, "keep");
    const applied = await rack.waitForJson<{ started: string[]; stopped: string[]; kept: string[] }>({
      msg: "gears: scenario applied",
      version: "2",
    });
    // The Rack did what the plan said.
    expect([...applied.started].sort()).toEqual(["extra", "slow"]);
    expect(applied.stopped).toEqual(["slow"]);
    expect([...applied.kept].sort()).toEqual(["count", "tick"]);
    const after = await waitForRack(h, KEEPER, (r) => r.stats?.scenario?.version === "2", {
      message: "heartbeats naming version 2",
    });
    // Not reset: the kept counter goes on from where it was.
    expect(countIn(after)).toBeGreaterThanOrEqual(countIn(before));
    expect(gearsOf(after).map((g) => g.name)).toEqual(["tick", "count", "slow", "extra"]);

    // Rolling back to version 1 restarts the slow ticker again, stops the extra one, and keeps the counter.
    const rolled = await h.api("/api/v1/scenarios/rollback", { method: "POST" });
    expect(rolled.status).toBe(200);
    const back = await rack.waitForJson<{ started: string[]; stopped: string[]; kept: string[] }>({
      msg: "gears: scenario applied",
      version: "1",
      started: ["slow"],
    });
    expect([...back.stopped].sort()).toEqual(["extra", "slow"]);
    expect([...back.kept].sort()).toEqual(["count", "tick"]);
    const countedAt2 = countIn(after);
    const rolledBack = await waitForRack(h, KEEPER, (r) => r.stats?.scenario?.version === "1", {
      message: "heartbeats naming version 1 again",
    });
    expect(countIn(rolledBack)).toBeGreaterThanOrEqual(countedAt2);
  });
});
