// The Rack's side of "Racks watch their own state" (docs/cluster.md), in-process against a real nats-server and a
// scripted Mixer that signs with its Cluster Key: what the watch of its own key applies and what it refuses (another
// Rack's name, a version already held or older, a scenario older than the one a push brought, a delete marker), and
// that a bus with no state bucket (single mode) costs one read, logged at debug only.
import { type NatsServer, startNatsServer, tempDir, waitFor } from "@fluxrig/testkit";
import { encodeMessage, type RackState, rackStateSubject, type ScenarioPush } from "@fluxrig/wire";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startRack, type TestRack } from "./support/in-process-rack.js";
import { ScriptedMixer, tickerScenarioPush } from "./support/scripted-mixer.js";

const NAME = "rack-state-1";
let nats: NatsServer;
let rackNc: NatsConnection;
let mixerNc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  [rackNc, mixerNc] = await Promise.all([nats.connect(), nats.connect()]);
});
afterAll(async () => {
  await nats?.stop();
});

/** Publishes a state on the Rack's key subject, as a write of the key reaches its watch. */
async function write(m: ScriptedMixer, state: Omit<RackState, "v" | "ts">, opts: { sign?: boolean } = {}) {
  const bytes = encodeMessage({ v: 1, ts: new Date().toISOString(), ...state });
  const signature = opts.sign === false ? "" : (m.signed(bytes)?.get("Fluxrig-Sig") ?? "");
  const value = { w: "mixer-a", n: "n", v: { data: Buffer.from(bytes).toString("base64url"), signature } };
  mixerNc.publish(rackStateSubject(NAME), encodeMessage(value));
  await mixerNc.flush();
}

const scenario = (name: string, ageMs = 0): ScenarioPush => ({
  ...tickerScenarioPush(name, 1000),
  ts: new Date(Date.now() - ageMs).toISOString(),
});

describe("the watch of a Rack's own state key", () => {
  let m: ScriptedMixer;
  let t: TestRack;

  beforeAll(async () => {
    m = await ScriptedMixer.start(mixerNc, { mode: "active", heartbeatIntervalMs: 200 });
    const dir = tempDir(NAME);
    t = await startRack({ name: NAME, stateDir: dir.path, nc: rackNc });
    await t.waitForState("active");
    afterAll(async () => {
      await t.rack.stop("test done");
      m.stop();
      await dir.remove();
    });
  });

  test("no bucket on the bus (single mode): one read on adoption, answered at once, nothing above debug", async () => {
    await t.waitForLog({
      msg: "rack state: no state bucket on this bus (single mode)",
      source: "read at activation",
    });
    const loud = t.logs.filter((e) => String(e.msg).startsWith("rack state") && Number(e.level) > 20);
    expect(loud).toEqual([]);
  });

  test("a newer signed state is applied through the scenario push's path; the same version again is not", async () => {
    await write(m, { name: NAME, version: 2, scenario: scenario("first") });
    await t.waitForLog({ msg: "rack state: applying", version: 2, scenario: "first", apply_scenario: true });
    await t.waitForLog({ msg: "rack state scenario: applying", scenario: "first", gears: 2 });
    expect(t.rack.snapshot().scenario).toEqual({ name: "first", version: "1" });

    await write(m, { name: NAME, version: 2, scenario: scenario("other") });
    await t.waitForLog({ msg: "rack state: already held", version: 2, held: 2 });
    await write(m, { name: NAME, version: 1, scenario: scenario("other") });
    await t.waitForLog({ msg: "rack state: older than the one held; ignored", version: 1, held: 2 });
    expect(t.rack.snapshot().scenario).toEqual({ name: "first", version: "1" });
  });

  test("another Rack's state, an unsigned one and a delete marker change nothing", async () => {
    await write(m, { name: "rack-other", version: 50, scenario: scenario("other") });
    await t.waitForLog({ msg: "rack state: dropped (it names another Rack)", named: "rack-other" });
    await write(m, { name: NAME, version: 51, scenario: scenario("other") }, { sign: false });
    await t.waitForLog({
      msg: "rack state: dropped (not signed by the pinned Cluster Key)",
      reason: "missing",
    });
    const h = headers();
    h.set("KV-Operation", "DEL");
    mixerNc.publish(rackStateSubject(NAME), new Uint8Array(), { headers: h });
    await mixerNc.flush();
    await write(m, { name: NAME, version: 3 });
    await t.waitForLog({ msg: "rack state: applying", version: 3 });
    expect(t.rack.snapshot().scenario).toEqual({ name: "first", version: "1" });
  });

  test("a scenario older than the one a push brought is kept out, a newer one goes in", async () => {
    await m.pushScenario(NAME, scenario("pushed"));
    await waitFor(() => t.rack.snapshot().scenario?.name === "pushed", { message: "the push applied" });
    await write(m, { name: NAME, version: 4, scenario: scenario("stale", 60_000) });
    await t.waitForLog({ msg: "rack state: applying", version: 4, scenario: "stale", apply_scenario: false });
    expect(t.rack.snapshot().scenario?.name).toBe("pushed");
    await write(m, { name: NAME, version: 5, scenario: scenario("fresh") });
    await waitFor(() => t.rack.snapshot().scenario?.name === "fresh", {
      message: "the newer scenario applied",
    });
  });
});
