// One sealed hello per new Rack on a JWT bus (issue 14), with the real Mixer and a real Rack process: the bootstrap
// hello's full reply comes sealed to it and the Rack connects as itself. An adopted Rack heartbeats without asking
// again; a pending one asks once more as itself (an adoption while it moved would have been pushed where it could not
// hear it yet); a Rack the active scenario names asks once more as itself, because its scenario push went out while it
// was on bootstrap, and runs its gears.
import { MixerHarness, tempDir, waitFor } from "@fluxrig/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  activateScenario,
  clusterCounter,
  fastMixerEnv,
  spawnRack,
  tickerScenario,
  waitForRack,
} from "./support/real-fleet.js";

let h: MixerHarness;

beforeAll(async () => {
  h = await MixerHarness.create({ auth: "jwt", env: fastMixerEnv() });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

/** The Rack's replies to hellos it said, as its debug log has them: why it asked, and on which connection. */
function helloReplies(
  rack: ReturnType<typeof spawnRack>,
): Array<{ why: string; bus: string; status: string }> {
  return rack
    .json<{ msg: string; why: string; bus: string; status: string }>()
    .filter((e) => e.msg === "hello: reply")
    .map(({ why, bus, status }) => ({ why, bus, status }));
}

test("a new pending Rack: one sealed hello on bootstrap, one hello as itself once subscribed, then heartbeats", async () => {
  const name = "rack-seal-01";
  await using state = tempDir(name);
  await using rack = spawnRack(h, { name, stateDir: state.path });
  const sealed0 = await clusterCounter(h, "hello.sealed");
  await rack.waitForJson({ msg: "bus: connected (as this Rack, with its own credential)" });
  await waitForRack(h, name, (r) => r.status === "pending" && r.last_seen !== null, {
    message: "the pending Rack heard as itself",
  });
  expect(await clusterCounter(h, "hello.sealed")).toBe(sealed0 + 1);
  // The pending answer is a snapshot: once subscribed as itself the Rack asks once, any later hello is the pending
  // pace's (5 s +-20%). adopted-while-switching.int.test.ts shows why.
  await waitFor(() => helloReplies(rack).some((r) => r.bus === "self"), { message: "the hello as itself" });
  expect(helloReplies(rack).filter((r) => r.why === "connected")).toEqual([
    { why: "connected", bus: "bootstrap", status: "pending" },
    { why: "connected", bus: "self", status: "pending" },
  ]);
});

test("a Rack the active scenario names: sealed hello, active, one hello as itself for its scenario, gears running", async () => {
  const name = "rack-seal-02";
  await activateScenario(h, tickerScenario("sealed", [name], "200ms"), "sealed");
  await using state = tempDir(name);
  await using rack = spawnRack(h, { name, stateDir: state.path });
  await rack.waitForJson({ msg: "gears: scenario applied" });
  await waitForRack(h, name, (r) => r.status === "active" && r.stats?.gears?.running === 2, {
    message: "the Rack active with its gears",
  });
  await waitFor(() => helloReplies(rack).length >= 2 || undefined, { message: "the hello for the scenario" });
  expect(helloReplies(rack).slice(0, 2)).toEqual([
    { why: "connected", bus: "bootstrap", status: "active" },
    { why: "scenario not held", bus: "self", status: "active" },
  ]);
});
