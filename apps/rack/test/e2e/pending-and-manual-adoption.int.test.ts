// The real fluxrig-rack against the real fluxrig-mixer: a pending Rack only heartbeats; Path C (an operator adopts
// it over the REST API) stores a verifiable state.flux, starts OTLP export and, with a scenario, gears.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { readStateFlux, verifyPassport } from "@fluxrig/passport";
import { MixerHarness, waitFor } from "@fluxrig/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  activateScenario,
  clusterPublicKey,
  fastMixerEnv,
  type RackMetricsView,
  rackAction,
  spawnWatchedRack,
  tickerScenario,
  waitForRack,
} from "./support/real-fleet.js";

let h: MixerHarness;

beforeAll(async () => {
  h = await MixerHarness.create({ env: fastMixerEnv() });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});
describe("a pending Rack (real Rack, real Mixer)", () => {
  test("heartbeats move last_seen; no OTLP reaches the Mixer; the gear runtime is not started", async () => {
    const name = "rack-pending-01";
    await using watched = await spawnWatchedRack(h, { name });
    const { tap, rack } = watched;

    const notStarted = await rack.waitForJson({ msg: /^telemetry: not started/, state: "pending" });
    expect(notStarted.loaded_subsystems).toEqual([]);
    const first = await waitForRack(h, name, (r) => r.status === "pending" && r.last_seen !== null, {
      message: "pending with a last_seen",
    });
    const moved = await waitForRack(h, name, (r) => r.last_seen !== first.last_seen, {
      message: "last_seen moved by heartbeats",
    });
    expect(moved.status).toBe("pending");
    expect(Date.parse(moved.last_seen!)).toBeGreaterThan(Date.parse(first.last_seen!));
    expect(moved.stats).toMatchObject({ rack_status: "pending" });
    expect(moved.stats?.gears).toBeUndefined();

    // Several exports' worth of time (300 ms each) while pending: nothing reaches the receiver.
    await tap.more(4);
    expect(tap.beats.every((b) => b.status === "pending" && b.stats.gears === undefined)).toBe(true);
    const metrics = await h.api<{ error: { code: string } }>(`/api/v1/racks/${name}/metrics`);
    expect(metrics.status).toBe(404);
    expect(metrics.body.error.code).toBe("not_found");
    const all = await h.api<{ items: RackMetricsView[] }>("/api/v1/metrics");
    expect(all.body.items.filter((m) => m.rack_name === name)).toEqual([]);
    // Nothing in the Rack's own log says telemetry or gears ever started.
    const started = rack
      .json()
      .filter((e) => /^(telemetry: started|gears: runtime started)/.test(String(e.msg)));
    expect(started).toEqual([]);
    expect(
      rack.json().filter((e) => Array.isArray(e.loaded_subsystems) && e.loaded_subsystems.length > 0),
    ).toEqual([]);
  });
});

describe("Path C: manual adoption (real Rack, real Mixer)", () => {
  test("adopt over the API: state.flux 0600 verifies, OTLP exports carry the entity id, scenario gears count", async () => {
    const name = "rack-manual-01";
    await using watched = await spawnWatchedRack(h, { name });
    const { state, tap, rack } = watched;
    await rack.waitForJson({ msg: /^lifecycle: enrolling -> pending/ });
    const pending = await waitForRack(h, name, (r) => r.status === "pending", { message: "pending" });

    const adopted = await rackAction(h, name, "adopt");
    expect(adopted).toMatchObject({
      status: "active",
      entity_id: pending.entity_id,
      passport: { serial: 1 },
    });
    const stored = await rack.waitForJson({ msg: "passport: stored state.flux" });
    expect(stored).toMatchObject({ entity_id: pending.entity_id, serial: 1 });
    await rack.waitForJson({ msg: "lifecycle: pending -> active" });

    // state.flux: mode 0600, signed by the Cluster Key the API serves, for this Rack.
    const stateFlux = join(state.path, "state.flux");
    expect((await stat(stateFlux)).mode & 0o777).toBe(0o600);
    const cluster = await clusterPublicKey(h);
    const envelope = await readStateFlux(stateFlux);
    expect(envelope).not.toBeNull();
    const payload = verifyPassport(envelope!, { clusterPublicKey: cluster.key, name });
    expect(payload).toMatchObject({
      entity_id: pending.entity_id,
      machine_id: pending.machine_id,
      name,
      status: "active",
      serial: 1,
    });

    // OTLP export reaches the Mixer, under the Rack's entity id.
    const telemetry = await rack.waitForJson({ msg: "telemetry: started" });
    expect(telemetry.entity_id).toBe(pending.entity_id);
    const metrics = await waitFor(
      async () => {
        const res = await h.api<RackMetricsView>(`/api/v1/racks/${name}/metrics`);
        return res.status === 200 ? res.body : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, message: "metrics of the adopted Rack" },
    );
    expect(metrics).toMatchObject({
      entity_id: pending.entity_id,
      rack_name: name,
      machine_id: pending.machine_id,
    });
    expect(metrics.metrics.map((m) => m.name)).toContain("fluxrig.rack.heartbeats.sent");

    // A scenario deploying a ticker and a counter to this Rack: gears run, their counters move in heartbeats.
    await activateScenario(h, tickerScenario("manual-gears", [name]), "manual-gears");
    await rack.waitForJson({ msg: "gears: scenario applied", scenario: "manual-gears" });
    const counted = await waitForRack(
      h,
      name,
      (r) => r.stats?.gears?.running === 2 && (r.stats.messages?.in ?? 0) > 0,
      { message: "two gears running and messages counted in stats" },
    );
    const later = await waitForRack(
      h,
      name,
      (r) => (r.stats?.messages?.out ?? 0) > (counted.stats?.messages?.out ?? 0),
      { message: "message counters moving" },
    );
    expect(later).toMatchObject({ status: "active", stats: { rack_status: "active", gears: { failed: 0 } } });
    expect(tap.with("active").length).toBeGreaterThan(0);
    // The gear counters also reach the Mixer over OTLP.
    await waitFor(
      async () => {
        const res = await h.api<RackMetricsView>(`/api/v1/racks/${name}/metrics`);
        return res.body.metrics?.some((m) => m.name === "fluxrig.rack.gear.messages.out");
      },
      { timeoutMs: 15_000, intervalMs: 100, message: "gear message counters in OTLP metrics" },
    );
  });
});
