// `[presence] stats_flush_interval` against the real Mixer and its DuckDB file: last_seen is written every flush,
// stats only as often as the setting says, and a clean stop writes the stats still owed.
import { MixerHarness, ScriptedRack, waitFor } from "@fluxrig/testkit";
import { expect, onTestFinished, test } from "vitest";
import { readRegistry } from "./support/registry-file.js";

const INTERVAL_MS = 200;

interface Stored {
  lastSeenMs: number;
  seq: number | undefined;
}

async function stored(dataDir: string): Promise<Map<string, Stored>> {
  return readRegistry(dataDir, async (q) => {
    const rows = await q(
      "SELECT name, epoch_ms(last_seen)::DOUBLE AS ms, stats::VARCHAR AS stats FROM registry WHERE type_id = 3",
    );
    return new Map(
      rows.map((row) => {
        const stats =
          row.stats === null ? null : (JSON.parse(String(row.stats)) as { presence?: { seq?: number } });
        return [String(row.name), { lastSeenMs: Number(row.ms), seq: stats?.presence?.seq }];
      }),
    );
  });
}

test("stats_flush_interval: stats are written once per interval, last_seen every flush; a clean stop writes them", async () => {
  await using h = await MixerHarness.create({
    env: {
      FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true",
      FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: `${INTERVAL_MS}ms`,
      FLUXRIG_PRESENCE_FLUSH_INTERVAL: "200ms",
      FLUXRIG_PRESENCE_STATS_FLUSH_INTERVAL: "1h",
    },
  });
  const nc = await h.client();
  const racks = Array.from({ length: 5 }, (_, i) => new ScriptedRack(nc, `sf-${i}`));
  await Promise.all(racks.map((r) => r.hello()));
  // Each Rack's seq is the count of heartbeats it sent (ScriptedRack starts at 1 and adds one per heartbeat).
  const sent = new Map<string, number>();
  const timer = setInterval(() => {
    for (const r of racks) {
      try {
        r.heartbeat();
        sent.set(r.name, (sent.get(r.name) ?? 0) + 1);
      } catch {
        // The connection closed under us (the test is ending).
      }
    }
  }, INTERVAL_MS);
  onTestFinished(() => clearInterval(timer));
  const accepted = async () =>
    (await h.api<{ counters: Record<string, number> }>("/api/v1/cluster")).body.counters[
      "heartbeat.accepted"
    ] ?? 0;
  // Well past the first flush that wrote stats: ten more heartbeats each, so ten more flushes.
  await waitFor(async () => (await accepted()) >= 5 * 12, {
    timeoutMs: 20_000,
    message: "12 heartbeat rounds",
  });
  const mark = Date.now();
  await h.kill9();
  const killed = await stored(h.dataDir);
  for (const r of racks) {
    const row = killed.get(r.name);
    // last_seen went with every flush: recent. The stats are those of the one flush that wrote them, in the first
    // second, so far behind the heartbeats sent since (none written yet is possible too: then no presence.seq).
    expect(row?.lastSeenMs, r.name).toBeGreaterThan(mark - 2000);
    expect(row?.seq ?? 0, r.name).toBeLessThan((sent.get(r.name) ?? 0) - 5);
  }
  // Back, heartbeats continue; a clean stop writes every stat still owed, whatever the interval.
  await h.start();
  const before = await accepted();
  await waitFor(async () => (await accepted()) >= before + 5 * 6, { timeoutMs: 20_000, message: "6 rounds" });
  clearInterval(timer);
  const lastSent = new Map(sent);
  await h.stop();
  const clean = await stored(h.dataDir);
  for (const r of racks) {
    // The last heartbeat the Mixer took before it stopped: at most the last sent, at most a round or two before it.
    expect(clean.get(r.name)?.seq, r.name).toBeGreaterThan((lastSent.get(r.name) ?? 0) - 3);
    expect(clean.get(r.name)?.seq, r.name).toBeLessThanOrEqual(lastSent.get(r.name) ?? 0);
  }
});
