// Session recovery with the real agent and the real Mixer: kill -9 and restart keeps the identity and the row;
// a Rack that boots while the Mixer is down runs from its passport, and both reconcile once the Mixer is back.
import { MixerHarness, tempDir, waitFor } from "@fluxrig/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  activateScenario,
  clusterCounter,
  fastMixerEnv,
  HEARTBEAT_MS,
  HeartbeatTap,
  listRacks,
  provisionRack,
  showRack,
  spawnRack,
  tickerScenario,
  waitForRack,
} from "./support/real-fleet.js";

const RESTARTED = "rack-restart-01";
const OUTAGE = "rack-outage-01";
let h: MixerHarness;

beforeAll(async () => {
  h = await MixerHarness.create({ env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" }) });
  await activateScenario(h, tickerScenario("restarts", [RESTARTED, OUTAGE]), "restarts");
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});
describe("restart (real Rack, real Mixer)", () => {
  test("kill -9 and restart: same entity id and MachineID, no new row, active again from state.flux", async () => {
    await using state = tempDir(RESTARTED);
    const tap = await HeartbeatTap.open(h, RESTARTED);
    await using first = spawnRack(h, { name: RESTARTED, stateDir: state.path, label: `${RESTARTED}-first` });
    await first.waitForJson({ msg: "passport: stored state.flux" });
    const before = await waitForRack(
      h,
      RESTARTED,
      (r) => r.status === "active" && r.stats?.gears?.running === 2,
      {
        message: "active with gears",
      },
    );
    const rowsBefore = (await listRacks(h)).length;
    const firstSession = before.stats?.presence?.session;
    expect(firstSession).toBeDefined();

    first.kill9();
    expect(await first.waitForExit()).toMatchObject({ signal: "SIGKILL" });
    const beatsAtKill = tap.beats.length;
    await using second = spawnRack(h, {
      name: RESTARTED,
      stateDir: state.path,
      label: `${RESTARTED}-second`,
    });
    const restored = await second.waitForJson({ event: "passport_restored" });
    expect(restored).toMatchObject({ from: "booting", to: "active" });
    // No enrollment at all: the passport is the session.
    expect(second.json().some((e) => e.event === "no_passport" || e.event === "enrollment_pending")).toBe(
      false,
    );

    // Active in the Mixer again with the new process's heartbeats (a new session), same identity.
    const after = await waitForRack(
      h,
      RESTARTED,
      (r) =>
        r.status === "active" &&
        r.stats?.presence?.session !== firstSession &&
        r.stats?.rack_status === "active",
      { message: "active with the new session's heartbeats" },
    );
    expect(after.entity_id).toBe(before.entity_id);
    expect(after.machine_id).toBe(before.machine_id);
    expect(after.passport?.serial).toBe(before.passport?.serial);
    expect((await listRacks(h)).length).toBe(rowsBefore);
    expect((await listRacks(h)).filter((r) => r.name === RESTARTED)).toHaveLength(1);
    const newBeats = tap.beats.slice(beatsAtKill);
    expect(new Set(newBeats.map((b) => b.entity_id))).toEqual(new Set([before.entity_id]));
    // Gears come back from scenario.json, and count again.
    await second.waitForJson({ msg: "gears: scenario applied", scenario: "restarts" });
    await waitForRack(
      h,
      RESTARTED,
      (r) => r.stats?.presence?.session !== firstSession && (r.stats?.messages?.in ?? 0) > 0,
      {
        message: "gears counting in the new session",
      },
    );
  });

  test("Mixer down at boot: the Rack runs active from its passport; once the Mixer is back they reconcile", async () => {
    await using state = tempDir(OUTAGE);
    const provisioned = await provisionRack(h, { name: OUTAGE, stateDir: state.path, gears: true });
    const tap = await HeartbeatTap.open(h, OUTAGE);

    await h.stop();
    // The Rack's own config says 3 s between heartbeats: it uses that until the Mixer answers with its 500 ms,
    // and 3 s of silence is what this Mixer calls offline.
    await using rack = spawnRack(h, {
      name: OUTAGE,
      stateDir: state.path,
      env: { FLUXRIG_HEARTBEAT_INTERVAL: "3s" },
    });
    const restored = await rack.waitForJson({ event: "passport_restored" });
    expect(restored).toMatchObject({ from: "booting", to: "active" });
    expect(await rack.waitForJson({ msg: "hello: failed" })).toMatchObject({ code: "transport" });
    await rack.waitForJson({ msg: "gears: scenario applied", scenario: "restarts" });
    await rack.waitForJson({ msg: "telemetry: started" });
    // Running: active heartbeats with gears counting, though nobody answers.
    await waitFor(() => tap.with("active").some((b) => (b.stats.messages?.in ?? 0) > 0), {
      timeoutMs: 15_000,
      message: "an active heartbeat with gear counts while the Mixer is down",
    });
    expect(rack.json().some((e) => e.event === "no_passport" || e.to === "pending")).toBe(false);

    await h.start();
    const accepted = await clusterCounter(h, "heartbeat.accepted");
    // Reconciled: the Rack's hello gets through (session recovered with its passport, no re-enrollment), it takes
    // the Mixer's heartbeat interval, the row is active and this process's heartbeats are accepted.
    await rack.waitForJson({ msg: "hello: the Mixer answers again" }, { timeoutMs: 40_000 });
    expect(await rack.waitForJson({ msg: "heartbeat: interval set by the Mixer" })).toMatchObject({
      interval_ms: HEARTBEAT_MS,
    });
    const row = await waitForRack(
      h,
      OUTAGE,
      (r) => r.status === "active" && r.stats?.presence?.session === tap.beats.at(-1)?.session,
      { message: "active with this process's heartbeats" },
    );
    expect(row).toMatchObject({
      entity_id: provisioned.entity_id,
      machine_id: provisioned.machine_id,
      passport: { serial: provisioned.passport?.serial },
    });
    await waitFor(async () => (await clusterCounter(h, "heartbeat.accepted")) > accepted, {
      message: "heartbeats accepted by the restarted Mixer",
    });
    expect(
      rack.json().some((e) => e.msg === "passport: stored state.flux" || e.event === "no_passport"),
    ).toBe(false);
    // From now on presence keeps it active: no offline transition while several heartbeats go by.
    const offline = async () =>
      (
        await h.api<{ items: Array<{ to_status: string | null }> }>(
          `/api/v1/events?rack=${OUTAGE}&limit=1000`,
        )
      ).body.items.filter((e) => e.to_status === "offline").length;
    const offlineBefore = await offline();
    await tap.more(8);
    expect(tap.beats.slice(-8).every((b) => b.status === "active")).toBe(true);
    expect(await offline()).toBe(offlineBefore);
    expect((await showRack(h, OUTAGE)).status).toBe("active");
  });
});
