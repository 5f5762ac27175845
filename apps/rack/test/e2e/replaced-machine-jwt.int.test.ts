// The story issue 14 opens with, on a JWT bus, with the real Mixer and real Rack processes: after `racks replace`, the
// old machine, still running with its old key, used to keep running its gears, and its heartbeats kept the new row
// looking alive while the real new machine was down. Now nats-server cuts the old key off within 1 s, the old Rack
// stops its gears and telemetry, none of its heartbeats reach the new row, and the new row goes offline as it should.
import { encodePublicNkey } from "@fluxrig/passport";
import { MixerHarness, tempDir, waitFor } from "@fluxrig/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  activateScenario,
  fastMixerEnv,
  type RackView,
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

interface Connz {
  connections: Array<{ name?: string; authorized_user?: string }>;
}

/** The user nkeys connected to nats-server right now (its monitoring endpoint, not the Rack's word). */
async function connectedUsers(): Promise<string[]> {
  const connz = await h.nats.monitor<Connz>("connz?auth=true&limit=1000");
  return connz.connections.map((c) => c.authorized_user ?? "");
}

function userNkey(publicKeyB64: string): string {
  return encodePublicNkey("user", Buffer.from(publicKeyB64, "base64url"));
}

test("racks replace on a JWT bus: the old machine is cut off within 1 s, goes passive, and never feeds the new row", async () => {
  const name = "rack-story-01";
  await activateScenario(h, tickerScenario("story", [name], "200ms"), "story");

  // The old machine: adopted by the scenario, running its gears as itself on the bus.
  await using oldState = tempDir(`${name}-old`);
  await using old = spawnRack(h, { name, stateDir: oldState.path, label: `${name}-old` });
  await old.waitForJson({ msg: "gears: scenario applied" });
  const adopted = await waitForRack(h, name, (r) => r.status === "active" && r.stats?.gears?.running === 2, {
    message: "the old machine active with its gears",
  });
  const oldKey = (adopted as RackView & { attributes: { public_key: string } }).attributes.public_key;
  const oldUser = userNkey(oldKey);
  await waitFor(async () => (await connectedUsers()).includes(oldUser), {
    message: "the old machine on the bus as its own user",
  });

  // The rebuilt machine claims the name with a new key, is refused, and then goes down.
  await using newState = tempDir(`${name}-new`);
  const rebuilt = spawnRack(h, { name, stateDir: newState.path, label: `${name}-new` });
  await rebuilt.waitForJson({ msg: /^hello refused: name_taken/ });
  await waitFor(
    async () =>
      (await h.api<{ items: unknown[] }>(`/api/v1/conflicts?name=${name}`)).body.items.length > 0 ||
      undefined,
    { message: "the claim is recorded" },
  );
  expect((await rebuilt.stop()).code).toBe(0);

  // The operator hands the name over while the old machine is still running.
  const started = Date.now();
  const replaced = await h.api<{ new: RackView }>(`/api/v1/racks/${name}/replace`, {
    method: "POST",
    json: {},
  });
  expect(replaced.status).toBe(200);
  const newEntity = replaced.body.new.entity_id;

  // Cut off: nats-server itself no longer has the old key connected, within 1 s of the operator's request.
  await waitFor(async () => !(await connectedUsers()).includes(oldUser), {
    message: "nats-server dropping the old key's connection",
    timeoutMs: 5_000,
  });
  const cutMs = Date.now() - started;
  expect(cutMs).toBeLessThan(1_000);

  // Passive: its gears and telemetry stop; it keeps running, asking now and then, on the bootstrap credential only.
  await old.waitForJson({ msg: "gears: stopped" });
  await old.waitForJson({ msg: "telemetry: stopped" });
  expect(old.exitStatus).toBeUndefined();
  // The server ended its connection with a verdict on this Rack, not an outage: its redial is not spread over
  // [nats] reconnect_spread as a fleet's is after a restart (up to 5 s more of a cut-off Rack running its gears).
  expect(
    old
      .json()
      .filter((l) => l.msg === "nats: link dropped; first redial spread over [nats] reconnect_spread"),
  ).toEqual([]);
  // And it never gets back on the bus as itself: the server refuses that key from now on.
  expect(await connectedUsers()).not.toContain(oldUser);

  // Its heartbeats never reach the new row: with the real new machine down, the Mixer marks the row offline after
  // its missed heartbeats, and the row holds no stats and no heartbeat time but the replace's own.
  const row = await waitForRack(h, name, (r) => r.status === "offline", {
    message: "the new row offline (nothing heartbeats for it)",
    timeoutMs: 20_000,
  });
  expect(row.entity_id).toBe(newEntity);
  expect(row.stats).toBeNull();
  expect(row.last_seen).toBe(replaced.body.new.last_seen);
  expect(await connectedUsers()).not.toContain(oldUser);
});
