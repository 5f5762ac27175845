// The seed's promise, in-process on a real nats-server: pending is heartbeat-only, adoption starts the rest.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { readStateFlux, verifyPassport } from "@fluxrig/passport";
import { type NatsServer, startNatsServer, tempDir, waitFor } from "@fluxrig/testkit";
import { HeartbeatSchema } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadedSubsystems } from "../src/lazy-subsystems.js";
import { startRack, type TestRack } from "./support/in-process-rack.js";
import { OtlpReceiver, startOtlpReceiver } from "./support/otlp-receiver.js";
import { ScriptedMixer, tickerScenarioPush } from "./support/scripted-mixer.js";

// vitest resolves packages with the "module" condition, which picks OpenTelemetry's extensionless ESM builds that
// Node cannot load; the bundle (esbuild) is unaffected and rack-binary.int.test.ts covers OTLP end to end.
const otelLoads = await import("@opentelemetry/exporter-metrics-otlp-http").then(
  () => true,
  () => false,
);

let nats: NatsServer;
let nc: NatsConnection;
let mixerNc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false });
  [nc, mixerNc] = await Promise.all([nats.connect(), nats.connect()]);
});
afterAll(async () => {
  await nats.stop();
});

async function expectPendingOnly(t: TestRack, mixer: ScriptedMixer, name: string): Promise<void> {
  await t.waitForState("pending");
  await waitFor(() => mixer.beats("pending").length >= 4, { message: "4 pending heartbeats" });
  for (const hb of mixer.heartbeats) expect(HeartbeatSchema.safeParse(hb).success).toBe(true);
  expect(mixer.heartbeats[0]).toMatchObject({ entity_id: mixer.entityId, name, seq: 1 });
  expect(mixer.heartbeats.every((h) => h.stats.gears === undefined)).toBe(true);
  expect(t.rack.snapshot()).toMatchObject({ state: "pending", telemetry: "not started", gears: null });
}

describe("adoption", () => {
  // One story per test: each step depends on the one before.
  test("pending loads nothing; adoption stores state.flux 0600 and starts gears; revocation stops them", async () => {
    await using dir = tempDir("rack-adoption");
    const name = "rack-adopt";
    const mixer = await ScriptedMixer.start(mixerNc, { mode: "pending" });
    const t = await startRack({ name, stateDir: dir.path, nc });

    await expectPendingOnly(t, mixer, name);
    expect(loadedSubsystems()).toEqual([]);
    expect(await t.waitForLog({ msg: /telemetry: not started/, state: "pending" })).toMatchObject({
      loaded_subsystems: [],
    });
    expect(mixer.hellos[0]).toMatchObject({
      name,
      attributes: { hostname: expect.any(String), arch: process.arch },
    });
    expect(mixer.hellos[0]?.passport).toBeUndefined();
    expect((await stat(join(dir.path, "rack.key"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir.path, "rack.json"))).mode & 0o777).toBe(0o600);

    // A scenario that arrives early is cached, not run.
    await mixer.pushScenario(name, tickerScenarioPush("demo", 5));
    await waitFor(() => t.rack.snapshot().scenario?.name === "demo", { message: "scenario cached" });
    expect(t.rack.snapshot().gears).toBeNull();
    expect(loadedSubsystems()).toEqual([]);

    // Adoption: verified, stored 0600, then telemetry (disabled here: no endpoint), then gears with the cached scenario.
    await mixer.adopt(name);
    await t.waitForState("active");
    await t.waitForLog({ msg: "gears: scenario applied", scenario: "demo" });
    const stateFlux = join(dir.path, "state.flux");
    expect((await stat(stateFlux)).mode & 0o777).toBe(0o600);
    const payload = verifyPassport((await readStateFlux(stateFlux))!, {
      clusterPublicKey: mixer.cluster.keys.publicKey,
      name,
    });
    expect(payload).toMatchObject({ entity_id: mixer.entityId, status: "active", machine_id: 100 });
    const order = t.logs
      .map((e) => String(e.msg))
      .filter((m) => /^(passport: stored|telemetry: disabled|gears: runtime started)/.test(m));
    expect(order).toEqual([
      "passport: stored state.flux",
      "telemetry: disabled (no [telemetry] otlp_endpoint)",
      "gears: runtime started",
    ]);
    expect(loadedSubsystems()).toEqual(["gears"]);
    await waitFor(() => (t.rack.snapshot().gears?.find((g) => g.name === "count")?.in ?? 0) >= 3, {
      message: "gears run",
    });
    await waitFor(
      () =>
        mixer.beats("active").some((h) => h.stats.gears?.running === 2 && (h.stats.messages?.out ?? 0) > 0),
      {
        message: "an active heartbeat with gear counts",
      },
    );

    // Revocation: gears stop, state.flux is set aside, and the Rack is passive: hellos at the slow pace, no heartbeat.
    await mixer.revoke(name);
    await t.waitForState("revoked");
    await t.waitForLog({ msg: "gears: runtime stopped" });
    expect(t.rack.snapshot()).toMatchObject({ gears: null, passport: null, scenario: null });
    await expect(stat(stateFlux)).rejects.toMatchObject({ code: "ENOENT" });
    const beats = mixer.heartbeats.length;
    const hellos = mixer.hellos.length;
    await waitFor(() => mixer.hellos.length >= hellos + 2, { message: "2 more hellos while revoked" });
    expect(mixer.heartbeats.slice(beats)).toEqual([]);

    await t.rack.stop("test done");
    mixer.stop();
  });

  test.skipIf(!otelLoads)(
    "no OTLP export while pending; exports carry the entity id once active; none after revocation",
    async () => {
      await using dir = tempDir("rack-otlp");
      await using otlp = await startOtlpReceiver();
      const name = "rack-otlp";
      const mixer = await ScriptedMixer.start(mixerNc, { mode: "pending", machineId: 101 });
      const t = await startRack({ name, stateDir: dir.path, nc, otlpUrl: otlp.url });

      await expectPendingOnly(t, mixer, name);
      // Exports run every 200 ms once started; four heartbeats at 200 ms leave room for several.
      expect(otlp.requests).toHaveLength(0);

      await mixer.adopt(name);
      await t.waitForState("active");
      await mixer.pushScenario(name, tickerScenarioPush("demo", 5));
      await waitFor(
        () =>
          otlp.requests.some((r) => OtlpReceiver.metricNames(r).includes("fluxrig.rack.gear.messages.out")),
        {
          message: "gear message metrics exported",
        },
      );
      expect(OtlpReceiver.resource(otlp.requests[0]!)).toMatchObject({
        "service.name": "fluxrig-rack",
        "service.instance.id": mixer.entityId,
        "fluxrig.rack.name": name,
        "fluxrig.machine_id": 101,
      });
      expect(otlp.requests[0]?.headers["content-type"]).toMatch(/application\/json/);
      expect(otlp.requests.flatMap((r) => OtlpReceiver.metricNames(r))).toEqual(
        expect.arrayContaining(["fluxrig.rack.heartbeats.sent", "fluxrig.rack.process.memory"]),
      );

      await mixer.revoke(name);
      await t.waitForState("revoked");
      await t.waitForLog({ msg: "telemetry: stopped" });
      expect(t.rack.snapshot().telemetry).toBe("not started");
      const exportsAfterStop = otlp.requests.length;
      const hellos = mixer.hellos.length;
      // Exports ran every 200 ms; three passive hellos (0.3 s and up apart) leave room for several.
      await waitFor(() => mixer.hellos.length >= hellos + 3, { message: "3 more hellos while revoked" });
      expect(otlp.requests.length).toBe(exportsAfterStop);
      expect(mixer.beats("revoked")).toEqual([]);

      await t.rack.stop("test done");
      mixer.stop();
    },
  );
});
