// The built fluxrig-rack binary against a scripted Mixer: pending sends no telemetry, adoption does, kill -9 and
// restart recovers from state.flux, revocation stops export, gears and heartbeats, SIGTERM ends cleanly.
import { chmod, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readStateFlux, verifyPassport } from "@fluxrig/passport";
import {
  type NatsServer,
  runBinary,
  spawnBinary,
  startNatsServer,
  type TempDir,
  tempDir,
  waitFor,
} from "@fluxrig/testkit";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OtlpReceiver as Otlp, type OtlpReceiver, startOtlpReceiver } from "./support/otlp-receiver.js";
import { ScriptedMixer, tickerScenarioPush } from "./support/scripted-mixer.js";

const NAME = "rack-bin-01";
let nats: NatsServer;
let mixerNc: NatsConnection;
let otlp: OtlpReceiver;
let dir: TempDir;
let configPath: string;

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false });
  mixerNc = await nats.connect();
  otlp = await startOtlpReceiver();
  dir = tempDir("rack-bin");
  configPath = join(dir.path, "fluxrig-rack.toml");
  await writeFile(
    configPath,
    [
      "[rack]",
      `name = "${NAME}"`,
      `state_dir = "${join(dir.path, "state")}"`,
      "[nats]",
      `url = "${nats.url}"`,
      "[telemetry]",
      `otlp_endpoint = "${otlp.url}"`,
      'export_interval = "200ms"',
      'auth_token = "t0ken"',
    ].join("\n"),
  );
});
afterAll(async () => {
  await otlp.close();
  await nats.stop();
  await dir.remove();
});

const exportsFor = (entityId: string) =>
  otlp.requests.filter((r) => Otlp.resource(r)["service.instance.id"] === entityId);

describe("fluxrig-rack binary", () => {
  test("enroll, pending, adopt, crash, recover, revoke, stop", async () => {
    const mixer = await ScriptedMixer.start(mixerNc, { mode: "pending", heartbeatIntervalMs: 200 });
    const stateFlux = join(dir.path, "state", "state.flux");

    // First start: pending, heartbeat-only, OpenTelemetry never loaded, nothing exported.
    const first = spawnBinary("fluxrig-rack", { args: ["--config", configPath] });
    const notStarted = await first.waitForJson({ msg: /telemetry: not started/, state: "pending" });
    expect(notStarted.loaded_subsystems).toEqual([]);
    await waitFor(() => mixer.beats("pending").length >= 4, {
      message: "4 pending heartbeats",
      timeoutMs: 10_000,
    });
    expect(otlp.requests).toHaveLength(0);
    expect(mixer.badHellos).toEqual([]);

    // Adoption by push: state.flux 0600 that verifies, exports with the entity id and the token, gears run.
    await mixer.adopt(NAME);
    await first.waitForJson({ msg: "passport: stored state.flux" });
    expect((await stat(stateFlux)).mode & 0o777).toBe(0o600);
    verifyPassport((await readStateFlux(stateFlux))!, {
      clusterPublicKey: mixer.cluster.keys.publicKey,
      name: NAME,
    });
    await waitFor(() => exportsFor(mixer.entityId).length > 0, {
      message: "an OTLP export",
      timeoutMs: 10_000,
    });
    expect(otlp.requests[0]?.headers.authorization).toBe("Bearer t0ken");
    await mixer.pushScenario(NAME, tickerScenarioPush("bin", 10));
    await waitFor(
      () =>
        mixer.beats("active").some((h) => (h.stats.messages?.in ?? 0) > 0 && h.stats.gears?.running === 2),
      {
        message: "gears running in an active heartbeat",
        timeoutMs: 10_000,
      },
    );

    // `status` on the live state dir: a verified active passport, exit 0.
    const status = await runBinary("fluxrig-rack", ["status", "--config", configPath, "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      verdict: "active",
      passport: { verified: true, entity_id: mixer.entityId },
      scenario: { name: "bin" },
    });

    // kill -9, then restart: session recovery from state.flux, gears back from scenario.json, exports resume.
    first.kill9();
    await first.waitForExit();
    const hellosBefore = mixer.hellos.length;
    const second = spawnBinary("fluxrig-rack", { args: ["--config", configPath] });
    expect(await second.waitForJson({ event: "passport_restored" })).toMatchObject({
      from: "booting",
      to: "active",
    });
    await second.waitForJson({ msg: "gears: scenario applied", scenario: "bin" });
    await waitFor(() => mixer.hellos.length > hellosBefore, { message: "a recovery hello" });
    expect(mixer.hellos[hellosBefore]?.passport).toBeDefined();
    const exportsBefore = exportsFor(mixer.entityId).length;
    await waitFor(() => exportsFor(mixer.entityId).length > exportsBefore, {
      message: "exports after restart",
    });
    expect(new Set(mixer.heartbeats.map((h) => h.entity_id))).toEqual(new Set([mixer.entityId]));

    // Revocation: telemetry flushed and stopped, gears stopped, passive: no heartbeats at all.
    await mixer.revoke(NAME);
    await second.waitForJson({ to: "revoked", event: "revoked" });
    await second.waitForJson({ msg: "telemetry: stopped" });
    await second.waitForJson({ msg: "gears: runtime stopped" });
    const exportsAfter = otlp.requests.length;
    await expect(stat(stateFlux)).rejects.toMatchObject({ code: "ENOENT" });

    // SIGTERM: NATS drained, exit 0; a passive Rack sends no last heartbeat either.
    const exit = await second.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    await mixer.flush();
    expect(otlp.requests.length).toBe(exportsAfter);
    // None saying revoked or stopping: a passive Rack is silent.
    expect(mixer.heartbeats.filter((h) => h.status === "revoked" || h.status === "stopping")).toEqual([]);
    mixer.stop();
  });

  test("a config error names the file and the key and exits 2", async () => {
    const bad = join(dir.path, "bad.toml");
    await writeFile(bad, '[rack]\nname = "Not A Label"\n');
    const run = await runBinary("fluxrig-rack", ["--config", bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bad\.toml: rack\.name: expected a lowercase DNS label/);
    const env = await runBinary("fluxrig-rack", ["--config", configPath], {
      env: { FLUXRIG_HEARTBEAT_INTERVAL: "fast" },
    });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/heartbeat\.interval/);
  });

  test("a bootstrap .creds file others can read is refused at start with the chmod to run, exit 2", async () => {
    const creds = join(dir.path, "bootstrap.creds");
    await writeFile(creds, "not checked before the mode\n", { mode: 0o644 });
    await chmod(creds, 0o644);
    const run = await runBinary("fluxrig-rack", ["--config", configPath], {
      env: { FLUXRIG_NATS_CREDS: creds },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `mode 0644 lets group or others read a secret; refusing to use it (chmod 600 ${creds})`,
    );
  });
});
