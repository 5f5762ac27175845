// Two Mixer processes in cluster mode on one nats-server with JetStream (R1): exactly one leads the work done once
// (GET /api/v1/cluster `leading`, the gauge fluxrig_mixer_leading); kill -9 of the leader hands the lease to the other
// within the stated bound; a clean stop hands it over without waiting the ttl. Under enrollment and heartbeats, with
// the registry shared through KV: the survivor answers hellos and leads within the bound, every registration a Rack
// was told of is in its index, and no Rack that kept heartbeating is ever marked offline.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  attachLogsOnFailure,
  MixerHarness,
  ScriptedRack,
  type TempDir,
  tempDir,
  waitFor,
} from "@fluxrig/testkit";
import { beforeEach, describe, expect, test } from "vitest";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

const TTL_MS = 2_000;
/** Lease.takeoverBoundMs for this ttl: ttl + 2 polls (ttl/5 each) + one write (2 s). */
const TAKEOVER_BOUND_MS = TTL_MS + 2 * (TTL_MS / 5) + 2_000;

/** A config file with this Mixer's `[cluster]` section, its own MachineID below the Racks' range. */
function clusterEnv(dir: TempDir, member: string, machineId: number, extra = ""): Record<string, string> {
  const file = join(dir.path, `${member}.toml`);
  writeFileSync(
    file,
    `[mixer]\nmachine_id = ${machineId}\n\n[enrollment]\nmachine_id_min = 16\n${extra}\n[cluster]\nenabled = true\nmember = "${member}"\nreplicas = 1\nlease_ttl = "${TTL_MS}ms"\n`,
  );
  return { FLUXRIG_CONFIG: file };
}

/** Whether a Mixer says it leads, by its API and its gauge (they must agree); null when it does not answer. */
async function leading(h: MixerHarness): Promise<boolean | null> {
  if (h.mixer === undefined) return null;
  try {
    const info = await h.api<{ leading?: boolean }>("/api/v1/cluster");
    const metrics = await h.api<string>("/metrics");
    const gauge = metrics.body.split("\n").find((l) => l.startsWith("fluxrig_mixer_leading "));
    const byGauge = gauge === undefined ? undefined : gauge.endsWith(" 1");
    if (info.body.leading !== byGauge) throw new Error(`API says ${info.body.leading}, gauge ${gauge}`);
    return info.body.leading ?? null;
  } catch (error) {
    if (error instanceof TypeError) return null; // fetch failed: the process is gone
    throw error;
  }
}

describe("two Mixers in cluster mode: the work done once", { timeout: 120_000 }, () => {
  test("exactly one leads; kill -9 of the leader: the other leads within the bound; a clean stop hands over at once", async ({
    annotate,
  }) => {
    await using configs = tempDir("leader-failover");
    await using a = await MixerHarness.create({ env: clusterEnv(configs, "mixer-a", 1) });
    await using b = await MixerHarness.create({ start: false, env: clusterEnv(configs, "mixer-b", 2) });
    // b on a's nats-server: one JetStream, one lease bucket.
    await b.start({ FLUXRIG_NATS_URL: a.nats.url });
    const byName = { "mixer-a": a, "mixer-b": b } as const;

    const states = async () => ({ a: await leading(a), b: await leading(b) });
    const first = await waitFor(
      async () => {
        const s = await states();
        return s.a !== s.b && s.a !== null && s.b !== null ? s : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, message: "exactly one Mixer leads" },
    );
    const leader = first.a ? a : b;
    const other = leader === a ? b : a;
    const otherName = leader === a ? "mixer-b" : "mixer-a";
    expect(byName[otherName]).toBe(other);
    // The leader logged it; the other did not.
    await leader.mixer!.waitForJson(
      { msg: "leading: this Mixer does the work done once" },
      { timeoutMs: 5_000 },
    );
    expect(other.mixer!.output()).not.toContain("leading: this Mixer does the work done once");

    const killedAt = performance.now();
    await leader.kill9();
    const tookOverMs = await waitFor(
      async () => ((await leading(other)) === true ? performance.now() - killedAt : undefined),
      { timeoutMs: TAKEOVER_BOUND_MS + 10_000, intervalMs: 20, message: `${otherName} took over` },
    );
    expect(tookOverMs, `took over in ${Math.round(tookOverMs)} ms`).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
    await annotate(
      `kill -9 of the leader: the other led after ${Math.round(tookOverMs)} ms (bound ${TAKEOVER_BOUND_MS} ms)`,
    );

    // The killed Mixer comes back: the lease is held, so it does not lead; its survivor's clean stop hands over.
    await leader.start();
    expect(await leading(leader)).toBe(false);
    const stoppedAt = performance.now();
    const exit = await other.stop();
    expect(exit.code).toBe(0);
    const handedOverMs = await waitFor(
      async () => ((await leading(leader)) === true ? performance.now() - stoppedAt : undefined),
      { timeoutMs: TAKEOVER_BOUND_MS + 10_000, intervalMs: 20, message: "the restarted Mixer took over" },
    );
    // Released on the way out: well inside one ttl from the end of the stop (which includes the release).
    expect(handedOverMs, `handed over in ${Math.round(handedOverMs)} ms`).toBeLessThan(TTL_MS);
    await annotate(
      `clean stop of the leader: the other led ${Math.round(handedOverMs)} ms after the stop returned`,
    );
    expect(other.mixer).toBeUndefined();
  });

  test("a single Mixer (cluster mode off) always leads and creates no lease", async () => {
    await using h = await MixerHarness.create();
    expect(await leading(h)).toBe(true);
    await h.mixer!.waitForJson({ msg: "mixer ready" }, { timeoutMs: 5_000 });
    // Nothing of cluster mode was touched: no KV bucket on the server.
    const nc = await h.client();
    const streams = await nc.request("$JS.API.STREAM.NAMES", "{}", { timeout: 5_000 });
    expect(streams.json<{ streams: string[] | null }>().streams ?? []).not.toContain("KV_fluxrig_leases");
    expect(h.mixer!.output()).not.toContain("leading: this Mixer does the work done once");
  });

  test("on the JWT bus the Mixer's fleet user holds the lease (its permissions and the account's JetStream suffice)", async () => {
    await using configs = tempDir("leader-jwt");
    await using h = await MixerHarness.create({ auth: "jwt", env: clusterEnv(configs, "mixer-a", 1) });
    await waitFor(async () => (await leading(h)) === true, {
      timeoutMs: 20_000,
      intervalMs: 50,
      message: "the Mixer leads on the JWT bus",
    });
    expect(h.mixer!.output()).not.toContain("leader lease lost");
  });

  test("kill -9 of the leader under enrollment and heartbeats: the survivor enrolls and leads within the bound, loses no registration, marks no live Rack offline", async ({
    annotate,
  }) => {
    const INTERVAL_MS = 500;
    const MISSED = 4;
    const presence = `auto_adopt = true\n\n[presence]\nheartbeat_interval = "${INTERVAL_MS}ms"\nmissed_heartbeats = ${MISSED}\nflush_interval = "250ms"\n`;
    await using configs = tempDir("leader-failover-load");
    await using a = await MixerHarness.create({ env: clusterEnv(configs, "mixer-a", 1, presence) });
    await using b = await MixerHarness.create({
      start: false,
      env: clusterEnv(configs, "mixer-b", 2, presence),
    });
    await b.start({ FLUXRIG_NATS_URL: a.nats.url });
    const first = await waitFor(
      async () => {
        const s = { a: await leading(a), b: await leading(b) };
        return s.a !== s.b && s.a !== null && s.b !== null ? s : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, message: "exactly one Mixer leads" },
    );
    const leader = first.a ? a : b;
    const survivor = leader === a ? b : a;

    // The Racks: every enrolled one heartbeats each interval, as a Rack does, until the end of the test.
    const nc = await a.client();
    const racks: ScriptedRack[] = [];
    const silenced = new Set<string>();
    const beat = setInterval(() => {
      for (const r of racks) if (r.entityId !== undefined && !silenced.has(r.name)) r.heartbeat();
    }, INTERVAL_MS);
    /** What each Rack was told: its entity id and MachineID-bearing passport came in an `active` reply. */
    const told = new Map<string, string>();
    /** Racks whose hello went unanswered (sent to the Mixer that was killed) and was sent again. */
    const retried = new Set<string>();
    /** Enrolls one Rack, retrying its hello (same key) after a timeout, as a Rack does: the queue group re-routes it. */
    const enroll = async (name: string) => {
      const rack = new ScriptedRack(nc, name);
      for (;;) {
        try {
          const reply = await rack.hello();
          if (reply.status === "active" && reply.entity_id !== undefined) break;
        } catch (error) {
          if (!/timeout|TIMEOUT|503|no responders/i.test(String(error))) throw error;
          retried.add(name);
        }
      }
      racks.push(rack);
      told.set(name, rack.entityId!);
    };
    try {
      for (let i = 0; i < 10; i++) await enroll(`rack-f${String(i).padStart(3, "0")}`);
      // Enrollment keeps going while the leader dies.
      let n = 10;
      let enrolling = true;
      const load = (async () => {
        while (enrolling) await enroll(`rack-f${String(n++).padStart(3, "0")}`);
      })();
      await waitFor(() => told.size >= 15, { timeoutMs: 20_000, message: "enrollment under way" });
      const killedAt = performance.now();
      await leader.kill9();
      // A hello sent now is answered by the survivor (the queue group has only it left): how long after the kill.
      const probe = new ScriptedRack(nc, "rack-probe");
      expect((await probe.hello()).status).toBe("active");
      const helloAfterKillMs = performance.now() - killedAt;
      racks.push(probe);
      told.set(probe.name, probe.entityId!);
      const tookOverMs = await waitFor(
        async () => ((await leading(survivor)) === true ? performance.now() - killedAt : undefined),
        { timeoutMs: TAKEOVER_BOUND_MS + 10_000, intervalMs: 20, message: "the survivor took over" },
      );
      expect(tookOverMs, `took over in ${Math.round(tookOverMs)} ms`).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
      expect(helloAfterKillMs, "a hello after the kill answered").toBeLessThan(TAKEOVER_BOUND_MS);
      const enrolledAtKill = told.size;
      await waitFor(() => told.size >= enrolledAtKill + 5, {
        timeoutMs: 30_000,
        message: "the survivor enrolls",
      });
      const firstAfterKillMs = performance.now() - killedAt;
      enrolling = false;
      await load;
      // Past the new leader's grace (a window after the Racks' returns) and two more windows: nobody went offline.
      const window = INTERVAL_MS * MISSED;
      await waitFor(() => performance.now() - killedAt > tookOverMs + INTERVAL_MS + 3 * window, {
        timeoutMs: 60_000,
        intervalMs: 100,
        message: "three windows after the takeover",
      });

      // No registration lost, none twice: every Rack told it was enrolled is in the survivor's index with the entity
      // id it was told, active, and the MachineIDs are distinct.
      const rows = await waitFor(
        async () => {
          const res = await survivor.api<{
            items: Array<{ name: string; entity_id: string; machine_id: number; status: string }>;
          }>("/api/v1/racks?limit=1000");
          const byName = new Map(res.body.items.map((r) => [r.name, r]));
          return [...told.keys()].every((name) => byName.has(name)) ? byName : undefined;
        },
        { timeoutMs: 10_000, message: "every enrolled Rack in the survivor's index" },
      );
      for (const [name, entityId] of told) {
        expect(rows.get(name)?.entity_id, name).toBe(entityId);
        expect(rows.get(name)?.status, name).toBe("active");
      }
      const machineIds = [...rows.values()].map((r) => r.machine_id);
      expect(new Set(machineIds).size).toBe(machineIds.length);
      const events = await survivor.api<{ items: Array<{ name: string | null; to_status: string | null }> }>(
        "/api/v1/events?limit=1000",
      );
      // A Rack whose hello went to the killed Mixer waited for a reply (10 s here) sending nothing: if the dead Mixer
      // had enrolled it, that silence was real. Every other Rack heartbeated throughout and must never be offline.
      const offline = events.body.items.filter((e) => e.to_status === "offline").map((e) => e.name ?? "");
      expect(offline.filter((name) => !retried.has(name))).toEqual([]);

      // The leader work runs on the survivor: a Rack that really goes silent is marked offline.
      const victim = racks[0]!;
      silenced.add(victim.name);
      await waitFor(
        async () =>
          (await survivor.api<{ status: string }>(`/api/v1/racks/${victim.name}`)).body.status === "offline",
        { timeoutMs: 3 * window + 5_000, intervalMs: 100, message: "the silent Rack goes offline" },
      );
      await annotate(
        `kill -9 under load: ${told.size} Racks enrolled (${enrolledAtKill} before the kill), ${retried.size} hellos unanswered and sent again (${offline.length} of them offline meanwhile); a hello sent after the kill answered ${Math.round(helloAfterKillMs)} ms after it; took over in ${Math.round(tookOverMs)} ms; 5 more enrolled by ${Math.round(firstAfterKillMs)} ms`,
      );
    } finally {
      clearInterval(beat);
    }
  });
});
