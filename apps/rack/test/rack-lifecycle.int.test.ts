// The agent's lifecycle in-process: session recovery, NATS down at boot, refused state.flux, foreign clusters,
// rejection, renewal and a clean stop.
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decodePassportPayload, readStateFlux, stateFluxText } from "@fluxrig/passport";
import { type NatsServer, startNatsServer, type TempDir, tempDir, waitFor } from "@fluxrig/testkit";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { makePin, writePinFile } from "../src/identity/cluster-pin.js";
import { startRack, type TestRack } from "./support/in-process-rack.js";
import { ScriptedMixer, tickerScenarioPush } from "./support/scripted-mixer.js";
import { TestCluster, tamper } from "./support/test-cluster.js";

let nats: NatsServer;
let nc: NatsConnection;
let mixerNc: NatsConnection;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false });
  [nc, mixerNc] = await Promise.all([nats.connect(), nats.connect()]);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await nats.stop();
});

async function mixerFor(opts: Parameters<typeof ScriptedMixer.start>[1]): Promise<ScriptedMixer> {
  const mixer = await ScriptedMixer.start(mixerNc, opts);
  cleanups.push(() => mixer.stop());
  return mixer;
}

async function rackFor(opts: Parameters<typeof startRack>[0]): Promise<TestRack> {
  const t = await startRack(opts);
  cleanups.push(() => t.rack.stop("test done"));
  return t;
}

function dirFor(prefix: string): TempDir {
  const dir = tempDir(prefix);
  cleanups.push(() => dir.remove());
  return dir;
}

/**
 * The state dir of a Rack that reached `state` and stopped cleanly: with an `active` mixer it holds a passport,
 * with a `pending` one a key and a pin.
 */
async function provisionedStateDir(name: string, state: "active" | "pending" = "active"): Promise<TempDir> {
  const dir = dirFor(name);
  const first = await startRack({ name, stateDir: dir.path, nc });
  await first.waitForState(state);
  await first.rack.stop("provisioned");
  return dir;
}

/** A Rack started in a fresh state dir (both cleaned up after the test), once it has reached `state`. */
async function rackIn(
  state: TestRack["rack"]["state"],
  name: string,
): Promise<{ t: TestRack; dir: TempDir }> {
  const dir = dirFor(name);
  const t = await rackFor({ name, stateDir: dir.path, nc });
  await t.waitForState(state);
  return { t, dir };
}

describe("rack lifecycle", () => {
  test("a restart with a valid state.flux recovers the session without a new MachineID", async () => {
    const name = "rack-recover";
    const mixer = await mixerFor({ mode: "active", machineId: 42 });
    const dir = await provisionedStateDir(name);
    const firstEnv = await readStateFlux(join(dir.path, "state.flux"));
    const hellosBefore = mixer.hellos.length;

    const t = await rackFor({ name, stateDir: dir.path, nc });
    const restored = await t.waitForLog({ event: "passport_restored" });
    expect(restored).toMatchObject({ from: "booting", to: "active" });
    await waitFor(() => mixer.hellos.length > hellosBefore, { message: "a recovery hello" });
    expect(mixer.hellos[hellosBefore]?.passport).toEqual(firstEnv);
    await waitFor(() => mixer.beats("active").length > 0, { message: "active heartbeats" });
    expect(new Set(mixer.heartbeats.map((h) => h.entity_id))).toEqual(new Set([TestCluster.entityId(42)]));
    expect(t.logs.some((e) => e.event === "enrollment_pending" || e.event === "no_passport")).toBe(false);
  });

  test("with NATS unreachable at boot an adopted Rack runs active from its passport, then catches up", async () => {
    const name = "rack-offline";
    const mixer = await mixerFor({ mode: "active" });
    const dir = await provisionedStateDir(name);
    const hellosBefore = mixer.hellos.length;
    let connect: (nc: NatsConnection) => void = () => undefined;
    const later = new Promise<NatsConnection>((resolve) => {
      connect = resolve;
    });

    const t = await rackFor({ name, stateDir: dir.path, nc: later });
    await t.waitForState("active");
    await t.waitForLog({ msg: "gears: waiting for NATS before starting" });
    expect(mixer.hellos.length).toBe(hellosBefore);

    connect(nc);
    await waitFor(() => mixer.hellos.length > hellosBefore, { message: "a hello once NATS is up" });
    await t.waitForLog({ msg: "gears: runtime started" });
    expect(t.rack.state).toBe("active");
  });

  test("a tampered state.flux is moved aside with its reason and the Rack enrolls again", async () => {
    const name = "rack-tampered";
    const mixer = await mixerFor({ mode: "pending" });
    // Provision a key and a pin, then a passport for that key with one payload byte changed.
    const dir = await provisionedStateDir(name, "pending");
    const { loadOrCreateKeyPair } = await import("@fluxrig/passport");
    const { keys } = await loadOrCreateKeyPair(join(dir.path, "rack.key"));
    await writeFile(
      join(dir.path, "state.flux"),
      stateFluxText(tamper(mixer.cluster.issue({ rackPublicKey: keys.publicKey, name }))),
    );

    const t = await rackFor({ name, stateDir: dir.path, nc });
    const refused = await t.waitForLog({ msg: /state\.flux refused \(tampered\)/ });
    expect(refused).toMatchObject({ verdict: "tampered", code: "PASSPORT_SIGNATURE_INVALID", level: 50 });
    expect(await t.waitForLog({ event: "no_passport" })).toMatchObject({ to: "enrolling" });
    await t.waitForState("pending");
    const files = await readdir(dir.path);
    expect(files).not.toContain("state.flux");
    expect(files.filter((f) => f.startsWith("state.flux.rejected-"))).toHaveLength(1);
  });

  test("a hello reply from another cluster key is refused loudly and changes nothing", async () => {
    const name = "rack-foreign";
    const pinned = new TestCluster("ours");
    const mixer = await mixerFor({ mode: "active", cluster: new TestCluster("theirs") });
    const t = await rackFor({ name, stateDir: dirFor(name).path, nc, clusterKey: pinned.publicKeyB64 });
    const refusal = await t.waitForLog({ msg: "cluster: FOREIGN CLUSTER KEY REFUSED" });
    expect(refusal.level).toBe(50);
    expect(t.rack.state).toBe("enrolling");
    await waitFor(() => mixer.hellos.length >= 2, { message: "hellos keep coming, paced" });
    expect(t.rack.state).toBe("enrolling");
    expect(mixer.heartbeats).toHaveLength(0);
  });

  test("a pushed passport that does not verify is refused; the Rack stays pending", async () => {
    const name = "rack-forged";
    const mixer = await mixerFor({ mode: "pending" });
    const { t, dir } = await rackIn("pending", name);
    const forger = new TestCluster("forger");
    const { loadOrCreateKeyPair } = await import("@fluxrig/passport");
    const { keys } = await loadOrCreateKeyPair(join(dir.path, "rack.key"));
    await mixer.push(name, {
      v: 1,
      kind: "issued",
      status: "active",
      passport: forger.issue({ rackPublicKey: keys.publicKey, name }),
      ts: new Date().toISOString(),
    });
    expect(await t.waitForLog({ msg: "passport: refused (foreign)" })).toMatchObject({
      code: "PASSPORT_KEY_ID_MISMATCH",
    });
    expect(t.rack.state).toBe("pending");
    expect(await readdir(dir.path)).not.toContain("state.flux");
  });

  test("a rejected Rack is passive: no heartbeats, only hellos at the slow pace", async () => {
    const name = "rack-rejected";
    const mixer = await mixerFor({ mode: "rejected" });
    const t = await rackFor({ name, stateDir: dirFor(name).path, nc });
    await t.waitForState("rejected");
    // Three more hellos at the rejected pace (0.3 s and up) span several 200 ms heartbeat intervals.
    const hellos = mixer.hellos.length;
    await waitFor(() => mixer.hellos.length >= hellos + 3, { message: "3 more hellos while rejected" });
    expect(mixer.heartbeats.filter((h) => h.name === name)).toEqual([]);
    expect(t.rack.snapshot()).toMatchObject({ telemetry: "not started", gears: null });
  });

  test("an active Rack renews its passport past 2/3 of its life, unattended", async () => {
    const name = "rack-renew";
    const mixer = await mixerFor({ mode: "active", ttlMs: 1_500 });
    const { t, dir } = await rackIn("active", name);
    const first = decodePassportPayload((await readStateFlux(join(dir.path, "state.flux")))!);
    const renewed = await t.waitForLog({ msg: "passport: renewed" });
    expect(renewed.serial).toBeGreaterThan(first.serial);
    const stored = decodePassportPayload((await readStateFlux(join(dir.path, "state.flux")))!);
    expect(stored.serial).toBe(renewed.serial);
    expect(stored.entity_id).toBe(first.entity_id);
    // The renewal was asked for with a hello presenting the old passport, as a Rack that proves its key.
    expect(
      mixer.hellos.some(
        (h) => h.passport !== undefined && decodePassportPayload(h.passport).serial === first.serial,
      ),
    ).toBe(true);
    expect(t.rack.state).toBe("active");
  });

  test("stop: gears stopped, then a last heartbeat with status stopping", async () => {
    const name = "rack-stop";
    const mixer = await mixerFor({ mode: "active" });
    const { t, dir } = await rackIn("active", name);
    await t.waitForLog({ msg: "gears: no scenario deployed to this Rack yet" });
    await t.rack.stop("SIGTERM");
    await nc.flush();
    await waitFor(() => mixer.beats("stopping").length === 1, { message: "a stopping heartbeat" });
    expect(t.rack.state).toBe("stopping");
    const msgs = t.logs.map((e) => String(e.msg));
    expect(msgs.indexOf("gears: runtime stopped")).toBeLessThan(
      msgs.indexOf("heartbeat: sent the last heartbeat (stopping)"),
    );
    // The passport stays: a stopped Rack recovers its session on the next start.
    expect(await readdir(dir.path)).toContain("state.flux");
  });

  test("the pin written on first enrollment is used by the next start", async () => {
    const name = "rack-pinned";
    const mixer = await mixerFor({ mode: "pending" });
    const dir = dirFor(name);
    await writePinFile(
      join(dir.path, "rack.json"),
      makePin({ publicKeyB64: mixer.cluster.publicKeyB64, source: "enrollment", now: new Date() }),
    );
    const t = await rackFor({ name, stateDir: dir.path, nc });
    await t.waitForState("pending");
    expect(t.logs.some((e) => e.msg === "cluster: key pinned" && e.source === "enrollment")).toBe(true);
    expect(t.logs.some((e) => /pinned the Mixer's key on first enrollment/.test(String(e.msg)))).toBe(false);
  });

  test("signed control messages: an unsigned or forged hello reply is dropped, nothing pinned or changed", async () => {
    const name = "rack-unsigned";
    const fake = await mixerFor({ mode: "active", unsigned: true });
    const t = await rackFor({ name, stateDir: dirFor(name).path, nc });
    await t.waitForLog({
      msg: "hello reply: dropped (not signed by the pinned Cluster Key)",
      reason: "missing",
    });
    // It keeps asking, and drops every answer.
    await waitFor(() => t.rack.snapshot().bus.refusedControl["hello reply"] >= 3, {
      message: "3 replies dropped",
    });
    expect(fake.hellos.length).toBeGreaterThanOrEqual(3);
    expect(t.rack.state).toBe("enrolling");
    expect(t.rack.snapshot()).toMatchObject({ clusterKeyId: null, passport: null });
  });

  test("signed control messages: pushes not signed by the pinned key are dropped; the Mixer's are obeyed", async () => {
    const name = "rack-forged-push";
    const mixer = await mixerFor({ mode: "active" });
    const { t } = await rackIn("active", name);
    // A forger on the bus: its own cluster key, the right subjects, well-formed messages.
    const forger = await mixerFor({ mode: "silent", cluster: new TestCluster("forger") });
    await forger.pushScenario(name, tickerScenarioPush("forged", 2));
    await t.waitForLog({
      msg: "scenario push: dropped (not signed by the pinned Cluster Key)",
      reason: "wrong_key",
    });
    await forger.push(name, {
      v: 1,
      kind: "revoked",
      status: "revoked",
      reason: "forged",
      ts: new Date().toISOString(),
    });
    await t.waitForLog({
      msg: "passport push: dropped (not signed by the pinned Cluster Key)",
      reason: "wrong_key",
    });
    expect(t.rack.state).toBe("active");
    expect(t.rack.snapshot().scenario).toBeNull();
    expect(t.rack.snapshot().bus.refusedControl).toMatchObject({ "scenario push": 1, "passport push": 1 });

    // The real Mixer's signed scenario push still counts.
    await mixer.pushScenario(name, tickerScenarioPush("real", 2));
    await waitFor(() => t.rack.snapshot().scenario?.name === "real", {
      message: "the signed scenario applied",
    });
  });
});
