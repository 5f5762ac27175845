// Revocation and SIGTERM with the real agent and the real Mixer: a revoked Rack stops its gears, OTLP export and
// heartbeats (passive); a stopped Rack says `stopping` in its last heartbeat, exits 0, and the Mixer
// marks it offline at once with that cause.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { MixerHarness, tempDir, waitFor } from "@fluxrig/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  activateScenario,
  fastMixerEnv,
  HeartbeatTap,
  type RackMetricsView,
  rackAction,
  setAside,
  showRack,
  spawnRack,
  spawnWatchedRack,
  tickerScenario,
  waitForRack,
} from "./support/real-fleet.js";

const REVOKED = "rack-revoke-01";
const STOPPED = "rack-sigterm-01";
let h: MixerHarness;

beforeAll(async () => {
  h = await MixerHarness.create({ env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" }) });
  await activateScenario(h, tickerScenario("ends", [REVOKED, STOPPED]), "ends");
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});
async function receivedAt(name: string): Promise<string | undefined> {
  const res = await h.api<RackMetricsView>(`/api/v1/racks/${name}/metrics`);
  return res.status === 200 ? res.body.received_at : undefined;
}

describe("revocation and shutdown (real Rack, real Mixer)", () => {
  test("revoke: gears, OTLP export and heartbeats stop, state.flux is set aside", async () => {
    await using watched = await spawnWatchedRack(h, { name: REVOKED });
    const { state, tap, rack } = watched;
    await rack.waitForJson({ msg: "gears: scenario applied", scenario: "ends" });
    await waitForRack(h, REVOKED, (r) => r.stats?.gears?.running === 2 && (r.stats.messages?.in ?? 0) > 0, {
      message: "gears running and counting",
    });
    // Exports are flowing: received_at moves.
    const firstExport = await waitFor(() => receivedAt(REVOKED), {
      timeoutMs: 15_000,
      message: "a first export",
    });
    await waitFor(async () => (await receivedAt(REVOKED)) !== firstExport, {
      timeoutMs: 15_000,
      message: "a later export",
    });

    expect(await rackAction(h, REVOKED, "revoke")).toMatchObject({ status: "revoked" });
    expect(await rack.waitForJson({ msg: "lifecycle: active -> revoked" })).toMatchObject({
      event: "revoked",
    });
    await rack.waitForJson({ msg: "gears: runtime stopped" });
    await rack.waitForJson({ msg: "telemetry: stopped" });
    await rack.waitForJson({ msg: /^telemetry: not started/, state: "revoked" });
    const dropped = await rack.waitForJson({ msg: "passport: dropped" });
    await expect(stat(join(state.path, "state.flux"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await setAside(state.path, "revoked")).toEqual([dropped.moved_to]);

    // From here on the Rack is passive: no heartbeat at all (a revoked Rack's heartbeats must never touch its row,
    // issue 14) and no more exports (the final flush happened before "telemetry: stopped"). Stopping it and a round
    // trip to the server bound the wait: every heartbeat it ever sent has then reached the tap.
    const lastExport = await receivedAt(REVOKED);
    expect(await rack.stop({ graceMs: 15_000 })).toEqual({ code: 0, signal: null });
    await tap.flush();
    expect(tap.beats.filter((b) => b.status === "revoked" || b.status === "stopping")).toEqual([]);
    expect(await receivedAt(REVOKED)).toBe(lastExport);
    expect((await showRack(h, REVOKED)).status).toBe("revoked");
    const exportFailures = rack.json().filter((e) => e.msg === "telemetry: export failed");
    expect(exportFailures).toEqual([]);
  });

  test("SIGTERM: gears and telemetry stop, the last heartbeat says stopping, exit 0", async () => {
    await using state = tempDir(STOPPED);
    const tap = await HeartbeatTap.open(h, STOPPED);
    const rack = spawnRack(h, { name: STOPPED, stateDir: state.path });
    await rack.waitForJson({ msg: "gears: scenario applied", scenario: "ends" });
    await waitForRack(h, STOPPED, (r) => r.status === "active" && r.stats?.gears?.running === 2, {
      message: "active with gears",
    });

    expect(await rack.stop({ graceMs: 15_000 })).toEqual({ code: 0, signal: null });
    const last = await waitFor(() => tap.beats.find((b) => b.status === "stopping"), {
      message: "the stopping heartbeat",
    });
    expect(tap.beats.at(-1)).toBe(last);
    expect(tap.with("stopping")).toHaveLength(1);
    // In order: gears, then telemetry, then the last heartbeat, then a clean end.
    const order = rack
      .json()
      .map((e) => String(e.msg))
      .filter((m) =>
        /^(rack: stopping|gears: runtime stopped|telemetry: stopped|heartbeat: sent the last heartbeat|rack: stopped)/.test(
          m,
        ),
      );
    expect(order).toEqual([
      "rack: stopping",
      "gears: runtime stopped",
      "telemetry: stopped",
      "heartbeat: sent the last heartbeat (stopping)",
      "rack: stopped",
    ]);
    // The Mixer took it too: the stored stats end on the Rack's own word, and its passport is kept for next time.
    await waitForRack(h, STOPPED, (r) => r.stats?.rack_status === "stopping", {
      message: "last heartbeat stored",
    });
    // Offline at once on the Rack's own word (cause "stopped", actor the Rack), not by the sweep's missed window.
    await waitForRack(h, STOPPED, (r) => r.status === "offline", { message: "offline after a clean stop" });
    const events = await h.api<{ items: Array<{ to_status: string | null; cause: string; actor: string }> }>(
      `/api/v1/events?rack=${STOPPED}&limit=1000`,
    );
    const offline = events.body.items.filter((e) => e.to_status === "offline");
    expect(offline).toMatchObject([{ cause: "stopped", actor: "rack" }]);
    expect((await stat(join(state.path, "state.flux"))).mode & 0o777).toBe(0o600);
  });
});
