// Two Mixer processes in cluster mode on one nats-server with JetStream (R1): exactly one leads the work done once
// (GET /api/v1/cluster `leading`, the gauge fluxrig_mixer_leading); kill -9 of the leader hands the lease to the other
// within the stated bound; a clean stop hands it over without waiting the ttl. The same under enrollment and
// heartbeats on the 3-node cluster: leader-cluster.int.test.ts.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { attachLogsOnFailure, MixerHarness, type TempDir, tempDir, waitFor } from "@fluxrig/testkit";
import { beforeEach, describe, expect, test } from "vitest";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

const TTL_MS = 2_000;
/** Lease.takeoverBoundMs for this ttl: ttl + 2 polls (ttl/5 each) + one write (2 s). */
const TAKEOVER_BOUND_MS = TTL_MS + 2 * (TTL_MS / 5) + 2_000;

/** A config file with this Mixer's `[cluster]` section, its own MachineID below the Racks' range. */
function clusterEnv(dir: TempDir, member: string, machineId: number): Record<string, string> {
  const file = join(dir.path, `${member}.toml`);
  writeFileSync(
    file,
    `[mixer]\nmachine_id = ${machineId}\n\n[enrollment]\nmachine_id_min = 16\n\n[cluster]\nenabled = true\nmember = "${member}"\nreplicas = 1\nlease_ttl = "${TTL_MS}ms"\n`,
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
});
