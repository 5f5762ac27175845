// Two Mixer processes on the 3-node JetStream cluster (R3, testkit startMixerCluster), Racks enrolling and heartbeating:
// kill -9 of the Mixer that leads the work done once. The survivor answers hellos at once and leads within the stated
// bound, every registration a Rack was told of is in its index, no Rack that kept heartbeating is marked offline, and
// the survivor marks a Rack that then goes silent (docs/cluster.md, "Work done once").
import {
  attachLogsOnFailure,
  type MixerCluster,
  ScriptedRack,
  startMixerCluster,
  waitFor,
} from "@fluxrig/testkit";
import { beforeEach, describe, expect, test } from "vitest";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

const TTL_MS = 2_000;
/** Lease.takeoverBoundMs for this ttl: ttl + 2 polls (ttl/5 each) + one write (2 s). */
const TAKEOVER_BOUND_MS = TTL_MS + 2 * (TTL_MS / 5) + 2_000;
const INTERVAL_MS = 500;
const MISSED = 4;
const WINDOW_MS = INTERVAL_MS * MISSED;

/** Whether Mixer `i` says it leads (API and gauge agree); null while it does not answer. */
async function leading(mc: MixerCluster, i: number): Promise<boolean | null> {
  if (!mc.running.includes(i)) return null;
  try {
    const info = await mc.api<{ leading?: boolean }>(i, "/api/v1/cluster");
    const metrics = await mc.api<string>(i, "/metrics");
    const gauge = metrics.body.split("\n").find((l) => l.startsWith("fluxrig_mixer_leading "));
    if (info.body.leading !== gauge?.endsWith(" 1"))
      throw new Error(`API says ${info.body.leading}, gauge ${gauge}`);
    return info.body.leading ?? null;
  } catch (error) {
    if (error instanceof TypeError) return null; // fetch failed: the process is gone
    throw error;
  }
}

describe("two Mixers on the 3-node cluster: kill -9 of the leader", { timeout: 180_000 }, () => {
  test("under enrollment and heartbeats: the survivor enrolls and leads within the bound, loses no registration, marks no live Rack offline", async ({
    annotate,
  }) => {
    await using mc = await startMixerCluster({
      mixers: 2,
      nats: { nodes: 3 },
      env: {
        FLUXRIG_CLUSTER_LEASE_TTL: `${TTL_MS}ms`,
        FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true",
        FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: `${INTERVAL_MS}ms`,
        FLUXRIG_PRESENCE_MISSED_HEARTBEATS: String(MISSED),
        FLUXRIG_PRESENCE_FLUSH_INTERVAL: "250ms",
      },
    });
    const states = await waitFor(
      async () => {
        const s = [await leading(mc, 0), await leading(mc, 1)];
        return s[0] !== s[1] && !s.includes(null) ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50, message: "exactly one Mixer leads" },
    );
    const leader = states[0] ? 0 : 1;
    const survivor = 1 - leader;

    const nc = await mc.connect({ name: "racks" });
    const racks: ScriptedRack[] = [];
    const silenced = new Set<string>();
    const beat = setInterval(() => {
      for (const r of racks) if (r.entityId !== undefined && !silenced.has(r.name)) r.heartbeat();
    }, INTERVAL_MS);
    const told = new Map<string, string>();
    /** Racks whose hello went unanswered (sent to the Mixer that was killed) and was sent again. */
    const retried = new Set<string>();
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
      for (let i = 0; i < 10; i++) await enroll(`rack-c${String(i).padStart(3, "0")}`);
      let n = 10;
      let enrolling = true;
      const load = (async () => {
        while (enrolling) await enroll(`rack-c${String(n++).padStart(3, "0")}`);
      })();
      await waitFor(() => told.size >= 15, { timeoutMs: 30_000, message: "enrollment under way" });
      const killedAt = performance.now();
      await mc.kill(leader, "SIGKILL");
      const enrolledAtKill = told.size;
      const probe = new ScriptedRack(nc, "rack-probe");
      expect((await probe.hello()).status).toBe("active");
      const helloAfterKillMs = performance.now() - killedAt;
      racks.push(probe);
      told.set(probe.name, probe.entityId!);
      const tookOverMs = await waitFor(
        async () => ((await leading(mc, survivor)) === true ? performance.now() - killedAt : undefined),
        { timeoutMs: TAKEOVER_BOUND_MS + 10_000, intervalMs: 20, message: "the survivor took over" },
      );
      expect(tookOverMs, `took over in ${Math.round(tookOverMs)} ms`).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
      expect(helloAfterKillMs, "a hello after the kill answered").toBeLessThan(TAKEOVER_BOUND_MS);
      await waitFor(() => told.size >= enrolledAtKill + 6, {
        timeoutMs: 30_000,
        message: "the survivor enrolls",
      });
      enrolling = false;
      await load;
      // Past the new leader's grace (a window after the Racks' returns) and two more windows.
      await waitFor(() => performance.now() - killedAt > tookOverMs + INTERVAL_MS + 3 * WINDOW_MS, {
        timeoutMs: 60_000,
        intervalMs: 100,
        message: "three windows after the takeover",
      });

      const rows = await waitFor(
        async () => {
          const res = await mc.api<{
            items: Array<{ name: string; entity_id: string; machine_id: number; status: string }>;
          }>(survivor, "/api/v1/racks?limit=1000");
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
      const events = await mc.api<{ items: Array<{ name: string | null; to_status: string | null }> }>(
        survivor,
        "/api/v1/events?limit=1000",
      );
      // A Rack whose hello went to the killed Mixer sent nothing while it waited for a reply: its silence was real.
      const offline = events.body.items.filter((e) => e.to_status === "offline").map((e) => e.name ?? "");
      expect(offline.filter((name) => !retried.has(name))).toEqual([]);

      const victim = racks[0]!;
      silenced.add(victim.name);
      await waitFor(
        async () =>
          (await mc.api<{ status: string }>(survivor, `/api/v1/racks/${victim.name}`)).body.status ===
          "offline",
        { timeoutMs: 3 * WINDOW_MS + 5_000, intervalMs: 100, message: "the silent Rack goes offline" },
      );
      await annotate(
        `3 nodes, R3: ${told.size} Racks enrolled (${enrolledAtKill} before the kill), ${retried.size} hellos sent again; a hello after the kill answered in ${Math.round(helloAfterKillMs)} ms; took over in ${Math.round(tookOverMs)} ms (bound ${TAKEOVER_BOUND_MS} ms)`,
      );
    } finally {
      clearInterval(beat);
      await nc.close().catch(() => undefined);
    }
  });
});
