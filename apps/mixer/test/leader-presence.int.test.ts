// A real Mixer in cluster mode whose lease another member holds: it takes a Rack's hello and heartbeats (presence
// warm) but marks nobody offline; once the lease is released it leads, and the silent Rack is marked offline only a
// full presence window after the takeover (the grace), never for silence it did not judge.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { attachLogsOnFailure, MixerHarness, ScriptedRack, tempDir, waitFor } from "@fluxrig/testkit";
import { beforeEach, describe, expect, test } from "vitest";
import { LeaseGate } from "../src/kv/lease-gate.js";
import { openRegistryBuckets } from "../src/kv/registry-buckets.js";
import { LEADER_LEASE } from "../src/mixer.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

const TTL_MS = 2_000;
const INTERVAL_MS = 200;
const MISSED = 3;
/** The offline window, and the grace a new leader gives. */
const WINDOW_MS = INTERVAL_MS * MISSED;

describe("presence under the lease in a real Mixer", { timeout: 90_000 }, () => {
  test("not leading: heartbeats taken, no verdict; leading: the silent Rack goes offline a full window after the takeover", async () => {
    await using configs = tempDir("leader-presence");
    const file = join(configs.path, "mixer-a.toml");
    writeFileSync(
      file,
      `[cluster]\nenabled = true\nmember = "mixer-a"\nreplicas = 1\nlease_ttl = "${TTL_MS}ms"\n\n[presence]\nheartbeat_interval = "${INTERVAL_MS}ms"\nmissed_heartbeats = ${MISSED}\nflush_interval = "200ms"\n\n[enrollment]\nauto_adopt = true\nmachine_id_min = 16\n`,
    );
    await using h = await MixerHarness.create({ start: false, env: { FLUXRIG_CONFIG: file } });
    const nc = await h.client();
    // Another member of the cluster holds the lease before this Mixer starts.
    const kv = await openRegistryBuckets(nc, { replicas: 1, writerId: "mixer-b" });
    const other = new LeaseGate({ bucket: kv.leases, name: LEADER_LEASE, holder: "mixer-b", ttlMs: TTL_MS });
    other.start();
    try {
      await waitFor(() => other.leading, { timeoutMs: 10_000, message: "mixer-b leads" });
      await h.start();
      const info = async () =>
        (await h.api<{ leading?: boolean; counters: Record<string, number> }>("/api/v1/cluster")).body;
      expect((await info()).leading).toBe(false);

      const rack = new ScriptedRack(nc, "rack-lp-01");
      expect((await rack.hello()).status).toBe("active");
      for (let seq = 1; seq <= 3; seq++) rack.heartbeat({ seq });
      await waitFor(async () => ((await info()).counters["heartbeat.accepted"] ?? 0) >= 3, {
        timeoutMs: 10_000,
        message: "the Mixer took the heartbeats",
      });
      // Then silence, for three renewals of mixer-b's lease (about 2 s: more than three offline windows).
      const from = (await kv.leases.get("leader"))!.revision;
      await waitFor(async () => ((await kv.leases.get("leader"))?.revision ?? 0) >= from + 3, {
        timeoutMs: 15_000,
        message: "three renewals by mixer-b",
      });
      const status = async () => (await h.api<{ status: string }>("/api/v1/racks/rack-lp-01")).body.status;
      expect(await status()).toBe("active");
      expect((await info()).counters["presence.offline"]).toBeUndefined();
      expect(h.mixer!.output()).not.toContain('"msg":"rack offline"');

      // mixer-b stops cleanly: this Mixer leads, gives the grace, then marks the silent Rack offline.
      await other.stop();
      const led = await h.mixer!.waitForJson<{ time: string }>(
        { msg: "leading: this Mixer does the work done once" },
        { timeoutMs: 10_000 },
      );
      const offline = await h.mixer!.waitForJson<{ time: string }>(
        { msg: "rack offline", rack: "rack-lp-01" },
        { timeoutMs: 10_000 },
      );
      const afterTakeoverMs = Date.parse(offline.time) - Date.parse(led.time);
      // Silent for seconds already, but not this leader's to judge before it led: a full window first.
      expect(afterTakeoverMs, `offline ${afterTakeoverMs} ms after the takeover`).toBeGreaterThan(WINDOW_MS);
      expect(afterTakeoverMs).toBeLessThan(WINDOW_MS + 2_000);
      await waitFor(async () => (await status()) === "offline", { timeoutMs: 5_000, message: "offline" });
      expect((await info()).leading).toBe(true);
    } finally {
      await other.stop();
    }
  });
});
