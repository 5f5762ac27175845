// Scenario operations over a real registry: a scenario name that is not found is answered with the closest ones.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LifecycleHarness, openLifecycleHarness } from "../../test/support/lifecycle-test-harness.js";
import { ScenarioService } from "./scenario-service.js";

const alice = { actor: "api:alice" };
let h: LifecycleHarness;
let scenarios: ScenarioService;

beforeEach(async () => {
  h = await openLifecycleHarness();
  scenarios = new ScenarioService({
    racks: h.directory,
    writer: h.writer,
    catalog: h.catalog,
    clock: h.t.clock.now,
  });
  scenarios.attach(h.lifecycle);
});

afterEach(async () => {
  await h.close();
});

const yaml = (name: string) =>
  `meta:\n  name: ${name}\n  version: 1\nracks:\n  - name: rack-a\ngears: []\nwires: []\n`;

describe("activating a scenario that is not there", () => {
  it("suggests the closest stored names, only when close", async () => {
    for (const name of ["lab-demo", "lab-demo-2", "factory"]) {
      await scenarios.import(yaml(name), { ...alice, dryRun: false, activate: false });
    }
    await expect(scenarios.activate("lab-dmeo", alice)).rejects.toMatchObject({
      code: "not_found",
      message: "no scenario named lab-dmeo; did you mean lab-demo?",
      details: { suggestions: ["lab-demo"] },
    });
    const far = await scenarios.activate("warehouse", alice).catch((err: unknown) => err);
    expect(far).toMatchObject({ code: "not_found", message: "no scenario named warehouse" });
    expect((far as { details?: unknown }).details).toBeUndefined();
  });
});
