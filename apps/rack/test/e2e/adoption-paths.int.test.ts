// Paths A (auto_adopt) and B (a scenario naming the Rack) end to end with the real agent and the real Mixer.
// Path C (an operator adopts) is in pending-and-manual-adoption.int.test.ts.
import { join } from "node:path";
import { readStateFlux, verifyPassport } from "@fluxrig/passport";
import { MixerHarness, tempDir } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import {
  activateScenario,
  clusterPublicKey,
  fastMixerEnv,
  listRacks,
  spawnRack,
  tickerScenario,
  waitForRack,
} from "./support/real-fleet.js";

describe("Path A: auto_adopt", () => {
  test("a new Rack is active from its first hello, with gears once a scenario names it", async () => {
    await using h = await MixerHarness.create({
      env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" }),
    });
    const name = "rack-auto-01";
    await using state = tempDir(name);
    await using rack = spawnRack(h, { name, stateDir: state.path });

    const activated = await rack.waitForJson({ msg: /^lifecycle: enrolling -> active/ });
    expect(activated).toMatchObject({ event: "passport_accepted" });
    // Never pending: the first hello reply already carried the passport.
    expect(rack.json().some((e) => e.to === "pending")).toBe(false);
    const stored = await rack.waitForJson({ msg: "passport: stored state.flux", source: "hello reply" });
    const row = await waitForRack(
      h,
      name,
      (r) => r.status === "active" && r.stats?.rack_status === "active",
      {
        message: "active with active heartbeats",
      },
    );
    expect(row.entity_id).toBe(stored.entity_id);
    const cluster = await clusterPublicKey(h);
    verifyPassport((await readStateFlux(join(state.path, "state.flux")))!, {
      clusterPublicKey: cluster.key,
      name,
    });
    await rack.waitForJson({ msg: "telemetry: started" });
    await rack.waitForJson({ msg: "gears: no scenario deployed to this Rack yet" });

    await activateScenario(h, tickerScenario("auto-gears", [name]), "auto-gears");
    await waitForRack(h, name, (r) => r.stats?.gears?.running === 2 && (r.stats.messages?.in ?? 0) > 0, {
      message: "gears running and counting",
    });
    const events = await h.api<{ items: Array<{ to_status: string | null; cause: string }> }>(
      `/api/v1/events?rack=${name}`,
    );
    expect(events.body.items).toContainEqual(
      expect.objectContaining({ to_status: "active", cause: "auto_adopt" }),
    );
  });
});

describe("Path B: adoption by scenario", () => {
  test("activating a scenario adopts the pending Rack it names and its gears start; a bystander stays pending", async () => {
    await using h = await MixerHarness.create({ env: fastMixerEnv() });
    const name = "rack-scn-01";
    const bystanderName = "rack-scn-other";
    await using state = tempDir(name);
    await using bystanderState = tempDir(bystanderName);
    await using rack = spawnRack(h, { name, stateDir: state.path });
    await using bystander = spawnRack(h, { name: bystanderName, stateDir: bystanderState.path });
    await rack.waitForJson({ msg: /^lifecycle: enrolling -> pending/ });
    await bystander.waitForJson({ msg: /^lifecycle: enrolling -> pending/ });
    const pending = await waitForRack(h, name, (r) => r.status === "pending", { message: "pending" });

    const activation = await activateScenario(h, tickerScenario("edge-b", [name]), "edge-b");
    expect(activation).toMatchObject({ activation: { adopted: [name], pushed: [name] } });
    // The Rack learns of both at once (pushes), without waiting for its next hello (5 s away while pending).
    await rack.waitForJson({ msg: "passport: stored state.flux", entity_id: pending.entity_id });
    const transition = await rack.waitForJson({ msg: "lifecycle: pending -> active" });
    expect(transition.reason).toMatch(/push/);
    await rack.waitForJson({ msg: "gears: scenario applied", scenario: "edge-b" });
    const row = await waitForRack(
      h,
      name,
      (r) => r.status === "active" && r.stats?.gears?.running === 2 && (r.stats.messages?.in ?? 0) > 0,
      { message: "adopted, gears running and counting" },
    );
    expect(row.entity_id).toBe(pending.entity_id);

    const events = await h.api<{ items: Array<{ to_status: string | null; cause: string }> }>(
      `/api/v1/events?rack=${name}`,
    );
    expect(events.body.items).toContainEqual(
      expect.objectContaining({ to_status: "active", cause: expect.stringMatching(/^scenario/) }),
    );
    const other = (await listRacks(h)).find((r) => r.name === bystanderName);
    expect(other?.status).toBe("pending");
    expect(bystander.json().some((e) => e.msg === "passport: stored state.flux")).toBe(false);
  });
});
