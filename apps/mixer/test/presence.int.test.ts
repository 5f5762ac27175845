// Presence with ~200 scripted Racks against the real Mixer: offline within the bound, recovery to the right status,
// no offline storm after a restart, bogus heartbeats dropped, last_seen durable across kill -9.
import { MixerHarness, ScriptedRack, waitFor } from "@fluxrig/testkit";
import { describe, expect, onTestFinished, test } from "vitest";
import { readRegistry } from "./support/registry-file.js";

const INTERVAL_MS = 200;
const MISSED = 3;
const ENV = {
  FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: `${INTERVAL_MS}ms`,
  FLUXRIG_PRESENCE_MISSED_HEARTBEATS: String(MISSED),
  FLUXRIG_PRESENCE_FLUSH_INTERVAL: "200ms",
};

interface RackRow {
  name: string;
  status: string;
  last_seen: string | null;
  stats: Record<string, unknown> | null;
}
interface AuditRow {
  seq: number;
  at: string;
  name: string | null;
  kind: string;
  to_status: string | null;
  cause: string;
  details: Record<string, unknown> | null;
}

/** When each Rack last sent a heartbeat (ms), as the sender saw it. */
const lastSent = new Map<string, number>();

/**
 * Heartbeats every INTERVAL_MS, until `stop()` or the end of the test, for the Racks in `live` (all of them at
 * first); the test changes the set to silence some.
 */
function heartbeating(racks: ScriptedRack[]): { live: Set<string>; stop: () => void } {
  const live = new Set(racks.map((r) => r.name));
  const timer = setInterval(() => {
    for (const r of racks) {
      // Like a real Rack: heartbeats start once the hello reply gave it an entity id.
      if (!live.has(r.name) || r.entityId === undefined) continue;
      try {
        r.heartbeat({ status: r.lastReply?.status === "active" ? "active" : "pending" });
        lastSent.set(r.name, Date.now());
      } catch {
        // The connection closed under us (the test is ending); nothing to send on.
      }
    }
  }, INTERVAL_MS);
  const stop = () => clearInterval(timer);
  onTestFinished(stop);
  return { live, stop };
}

async function allRacks(h: MixerHarness): Promise<Map<string, RackRow>> {
  const res = await h.api<{ items: RackRow[] }>("/api/v1/racks?limit=1000");
  return new Map(res.body.items.map((r) => [r.name, r]));
}

async function events(h: MixerHarness, kind?: string): Promise<AuditRow[]> {
  const out: AuditRow[] = [];
  let after = "";
  for (;;) {
    const res = await h.api<{ items: AuditRow[]; next: string | null }>(`/api/v1/events?limit=1000${after}`);
    out.push(...res.body.items);
    if (!res.body.next) break;
    after = `&after=${res.body.next}`;
  }
  return kind ? out.filter((e) => e.to_status === kind) : out;
}

describe("presence at small scale", () => {
  test("200 Racks: silent adopted ones go offline within the bound and come back; pending ones stay pending", async () => {
    await using h = await MixerHarness.create({ env: { ...ENV, FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false" } });
    const nc = await h.client();
    const racks = Array.from(
      { length: 200 },
      (_, i) => new ScriptedRack(nc, `rack-${String(i).padStart(3, "0")}`),
    );
    const { live, stop } = heartbeating(racks);
    for (let i = 0; i < racks.length; i += 50)
      await Promise.all(racks.slice(i, i + 50).map((r) => r.hello()));
    // Adopt all but the last 10, which stay pending.
    const adopt = await h.api<{ adopted: unknown[] }>("/api/v1/racks/adopt", {
      method: "POST",
      json: { refs: racks.slice(0, 190).map((r) => r.name) },
    });
    expect(adopt.body.adopted).toHaveLength(190);
    await Promise.all(racks.map((r) => r.hello()));
    try {
      await waitFor(async () => [...(await allRacks(h)).values()].every((r) => r.last_seen !== null), {
        timeoutMs: 20_000,
        message: "every Rack seen",
      });
      // Silence 20 adopted Racks and 5 pending ones.
      const silenced = [...racks.slice(0, 20), ...racks.slice(195)];
      for (const r of silenced) live.delete(r.name);
      await waitFor(
        async () => {
          const rows = await allRacks(h);
          return racks.slice(0, 20).every((r) => rows.get(r.name)?.status === "offline");
        },
        { timeoutMs: 20_000, intervalMs: 100, message: "20 silent Racks offline" },
      );
      const rows = await allRacks(h);
      expect([...rows.values()].filter((r) => r.status === "offline")).toHaveLength(20);
      for (const r of racks.slice(195)) expect(rows.get(r.name)?.status).toBe("pending");

      const offline = await events(h, "offline");
      expect(offline).toHaveLength(20);
      const windowMs = INTERVAL_MS * MISSED;
      for (const e of offline) {
        expect(e.cause).toBe("presence");
        const lastSeen = Date.parse(String(e.details?.last_seen));
        const silentFor = Date.parse(e.at) - lastSeen;
        // Never early; and late by at most one sweep tick plus scheduling slack on a busy 2-core machine.
        expect(silentFor).toBeGreaterThan(windowMs);
        expect(silentFor).toBeLessThan(windowMs + INTERVAL_MS + 1500);
        expect(Number(e.details?.missed_intervals)).toBeGreaterThanOrEqual(MISSED);
      }

      // They come back: adopted ones active at once, pending ones pending.
      for (const r of silenced) live.add(r.name);
      await waitFor(
        async () => {
          const now = await allRacks(h);
          return racks.slice(0, 20).every((r) => now.get(r.name)?.status === "active");
        },
        { timeoutMs: 20_000, message: "back online" },
      );
      const back = await allRacks(h);
      for (const r of racks.slice(195)) expect(back.get(r.name)?.status).toBe("pending");
      // Flapping is visible in the row's stats.
      await waitFor(
        async () => {
          const row = (await allRacks(h)).get(racks[0]!.name);
          return (row?.stats?.presence as { flaps?: number } | undefined)?.flaps === 1;
        },
        { timeoutMs: 10_000, message: "flap counted" },
      );
    } finally {
      stop();
    }
  });

  test("after a Mixer restart nobody is marked offline, and last_seen survives kill -9 within one flush interval", async () => {
    await using h = await MixerHarness.create({ env: { ...ENV, FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" } });
    const nc = await h.client();
    const racks = Array.from({ length: 50 }, (_, i) => new ScriptedRack(nc, `r-${i}`));
    const { stop } = heartbeating(racks);
    try {
      await Promise.all(racks.map((r) => r.hello()));
      await waitFor(async () => [...(await allRacks(h)).values()].every((r) => r.last_seen !== null), {
        timeoutMs: 20_000,
        message: "all seen",
      });
      // Let a few more heartbeats land, then kill -9 with heartbeats still flowing.
      const mark = Date.now();
      await waitFor(() => racks.every((r) => (lastSent.get(r.name) ?? 0) > mark + 2 * INTERVAL_MS), {
        timeoutMs: 10_000,
        message: "two more heartbeat rounds",
      });
      await h.kill9();
      const sentBeforeKill = new Map(lastSent);
      const killedAt = Date.now();
      // The file itself: once the Mixer is back, the API shows the heartbeats it receives at once, not the file.
      const stored = await readRegistry(h.dataDir, async (q) => {
        const rows = await q(
          "SELECT name, epoch_ms(last_seen)::DOUBLE AS ms FROM registry WHERE type_id = 3",
        );
        return new Map(rows.map((row) => [String(row.name), Number(row.ms)]));
      });
      for (const r of racks) {
        const seen = stored.get(r.name) ?? 0;
        // What reached the DuckDB file is at most one flush interval (200 ms) older than the last heartbeat sent,
        // plus delivery and scheduling slack on a busy 2-core machine.
        expect(seen, r.name).toBeGreaterThan((sentBeforeKill.get(r.name) ?? 0) - 200 - 1000);
        expect(seen, r.name).toBeLessThanOrEqual(killedAt + 50);
      }
      await h.start();
      const rows = await allRacks(h);
      // Restarted, the API starts from the file and only moves forward.
      for (const r of racks) {
        expect(Date.parse(String(rows.get(r.name)?.last_seen)), r.name).toBeGreaterThanOrEqual(
          stored.get(r.name)!,
        );
      }
      // Heartbeats continue; wait past several windows: no offline storm.
      const seqBefore = Math.max(0, ...(await events(h)).map((e) => e.seq));
      await waitFor(
        async () =>
          (await h.api<{ counters: Record<string, number> }>("/api/v1/cluster")).body.counters[
            "heartbeat.accepted"
          ]! >
          50 * 8,
        { timeoutMs: 20_000, message: "eight heartbeat rounds after the restart" },
      );
      const offline = (await events(h, "offline")).filter((e) => e.seq > seqBefore);
      expect(offline).toEqual([]);
    } finally {
      stop();
    }
  });

  test("a bus outage longer than the window marks nobody offline: the Mixer judges no one it could not see", async () => {
    // A wider window than the other tests (6 misses): this test sends from a process that also restarts
    // nats-server, and a loaded 2-core machine can stall that sender for several 200 ms intervals.
    const missed = 6;
    await using h = await MixerHarness.create({
      env: {
        ...ENV,
        FLUXRIG_PRESENCE_MISSED_HEARTBEATS: String(missed),
        FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true",
      },
    });
    const nc = await h.client();
    const racks = Array.from({ length: 50 }, (_, i) => new ScriptedRack(nc, `bus-${i}`));
    const { stop } = heartbeating(racks);
    try {
      await Promise.all(racks.map((r) => r.hello()));
      await waitFor(async () => [...(await allRacks(h)).values()].every((r) => r.status === "active"), {
        timeoutMs: 20_000,
        message: "all active",
      });
      const mixer = h.mixer!;
      await h.nats.stopForNow();
      await mixer.waitForJson({ msg: "bus link lost: offline detection paused" }, { timeoutMs: 10_000 });
      // The outage itself: two windows of silence that the Mixer cannot observe.
      const outageEnds = Date.now() + 2 * INTERVAL_MS * missed;
      await waitFor(() => Date.now() >= outageEnds, { timeoutMs: 10_000, message: "outage length" });
      await h.nats.start();
      await mixer.waitForJson(
        { msg: "bus link back: every Rack gets a full presence window" },
        { timeoutMs: 20_000 },
      );
      const cluster = async () => (await h.api<{ counters: Record<string, number> }>("/api/v1/cluster")).body;
      const acceptedAtReconnect = (await cluster()).counters["heartbeat.accepted"] ?? 0;
      // Several windows of heartbeats after the reconnect, then: not one offline event, everyone active.
      await waitFor(
        async () => ((await cluster()).counters["heartbeat.accepted"] ?? 0) > acceptedAtReconnect + 50 * 8,
        {
          timeoutMs: 20_000,
          message: "eight heartbeat rounds after the reconnect",
        },
      );
      expect(await events(h, "offline")).toEqual([]);
      expect([...(await allRacks(h)).values()].filter((r) => r.status !== "active")).toEqual([]);
      expect((await cluster()).counters["presence.bus_regained"]).toBeGreaterThanOrEqual(1);
    } finally {
      stop();
    }
  });

  test("heartbeats for unknown names or with another entity id are dropped and counted; a revoked Rack's are kept", async () => {
    await using h = await MixerHarness.create({ env: { ...ENV, FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" } });
    const nc = await h.client();
    const a = new ScriptedRack(nc, "rack-a");
    const b = new ScriptedRack(nc, "rack-b");
    await a.hello();
    await b.hello();
    const ghost = new ScriptedRack(nc, "rack-ghost");
    ghost.heartbeat({ entity_id: a.entityId! });
    a.heartbeat({ entity_id: b.entityId! });
    await h.api("/api/v1/racks/rack-b/revoke", { method: "POST" });
    b.heartbeat();
    nc.publish(
      "fluxrig.event.heartbeat.rack-a",
      new TextEncoder().encode(JSON.stringify({ v: 1, junk: true })),
    );
    await nc.flush();
    const counters = await waitFor(
      async () => {
        const c = (await h.api<{ counters: Record<string, number> }>("/api/v1/cluster")).body.counters;
        return (c["heartbeat.dropped.unknown_rack"] ?? 0) >= 1 &&
          (c["heartbeat.dropped.entity_mismatch"] ?? 0) >= 1 &&
          (c["heartbeat.accepted"] ?? 0) >= 1 &&
          (c["heartbeat.dropped.schema"] ?? 0) >= 1
          ? c
          : undefined;
      },
      { timeoutMs: 10_000, message: "drop counters" },
    );
    // The one accepted heartbeat is the revoked Rack's: heartbeat-only, its last seen moves, its status does not.
    expect(counters["heartbeat.accepted"]).toBe(1);
    expect(counters["heartbeat.dropped.revoked"]).toBeUndefined();
    const rows = await waitFor(
      async () => {
        const r = await allRacks(h);
        return r.get("rack-b")?.stats?.rack_status !== undefined ? r : undefined;
      },
      { timeoutMs: 10_000, message: "the revoked Rack's heartbeat flushed" },
    );
    expect([...rows.keys()].sort()).toEqual(["rack-a", "rack-b"]);
    expect(rows.get("rack-b")?.status).toBe("revoked");
  });
});
