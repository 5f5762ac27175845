// A Rack that missed a push (issue 18): its link to nats-server is cut while its scenario changes, then comes back.
// Real nats-server on the product's JWT bus, real Mixer, real fluxrig-rack process; only the Rack's own TCP link is
// cut (a relay), so the Mixer stays connected and its pushes really go out while the Rack cannot hear them.
//
// Single mode (the default) is what it has always been: an adopted Rack says no hello when its link comes back, so it
// runs the scenario it last heard until its next hello (its passport renewal, 2/3 of `[passport] ttl`). Cluster mode:
// the Rack reads its own key of `fluxrig_rack_state` after the reconnect and runs the scenario the Mixer wrote there.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MixerHarness, type SpawnedProcess, tempDir } from "@fluxrig/testkit";
import { afterEach, describe, expect, test } from "vitest";
import { LinkCutter } from "../support/link-cutter.js";
import {
  activateScenario,
  fastMixerEnv,
  type RackView,
  showRack,
  spawnRack,
  tickerScenario,
  waitForRack,
} from "./support/real-fleet.js";

/**
 * Cluster mode on one JetStream node (one replica), as a config file: `FLUXRIG_CLUSTER_REPLICAS` is refused from the
 * environment today (the loader passes a union of numbers through as text), so the test writes the TOML.
 */
export async function clusterEnv(dir: string): Promise<Record<string, string>> {
  const path = join(dir, "fluxrig-mixer.toml");
  await writeFile(path, '[cluster]\nenabled = true\nmember = "mixer-a"\nreplicas = 1\n');
  return { FLUXRIG_CONFIG: path };
}

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose().catch(() => undefined);
});

/** A JWT-bus Mixer (cluster mode or not), a relay in front of its nats-server, and a real Rack running `alpha`. */
async function rackOnAlpha(
  rackName: string,
  env: Record<string, string>,
): Promise<{ h: MixerHarness; cutter: LinkCutter; rack: SpawnedProcess }> {
  const h = await MixerHarness.create({
    auth: "jwt",
    env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true", ...env }),
  });
  disposers.push(() => h[Symbol.asyncDispose]());
  const cutter = await LinkCutter.start(h.nats.port);
  disposers.push(() => cutter[Symbol.asyncDispose]());
  await activateScenario(h, tickerScenario("alpha", [rackName]), "alpha");
  const state = tempDir(rackName);
  disposers.push(() => state.remove());
  const rack = spawnRack(h, {
    name: rackName,
    stateDir: state.path,
    env: { FLUXRIG_NATS_URL: cutter.url, FLUXRIG_NATS_RECONNECT_SPREAD: "0s" },
  });
  disposers.push(() => rack.stop().then(() => undefined));
  await rack.waitForJson({ msg: "gears: scenario applied", scenario: "alpha" }, { timeoutMs: 20_000 });
  await waitForRack(h, rackName, (r) => r.stats?.scenario?.name === "alpha" && r.stats.gears?.running === 2, {
    message: "running alpha",
  });
  return { h, cutter, rack };
}

/** Cuts the Rack's link, activates `beta` (its pushes go out unheard), and restores the link. */
async function missBeta(h: MixerHarness, cutter: LinkCutter, rack: SpawnedProcess, rackName: string) {
  const since = rack.mark();
  cutter.cut();
  await rack.waitForJson({ msg: "nats: disconnected, reconnecting" }, { since, timeoutMs: 15_000 });
  await activateScenario(h, tickerScenario("beta", [rackName]), "beta");
  // Nothing reached the Rack: no scenario push for beta while cut.
  expect(rack.lines({ since }).some((l) => l.includes('"scenario":"beta"'))).toBe(false);
  cutter.restore();
  await rack.waitForJson({ msg: "nats: reconnected" }, { since, timeoutMs: 15_000 });
  return since;
}

const seqOf = (r: RackView) => r.stats?.presence?.seq ?? -1;

describe("a Rack that missed a push (JWT bus, real Mixer, real Rack)", () => {
  test("single mode: it runs the scenario it last heard until its next hello, as it always has", async () => {
    const name = "rack-missed-single";
    const { h, cutter, rack } = await rackOnAlpha(name, {});
    const since = await missBeta(h, cutter, rack, name);
    // Heartbeats after the reconnect (five of them) still name alpha: no hello, no read, nothing told it.
    const back = await showRack(h, name);
    const later = await waitForRack(h, name, (r) => seqOf(r) >= seqOf(back) + 5, {
      message: "five heartbeats after the reconnect",
    });
    expect(later.stats?.scenario?.name).toBe("alpha");
    expect(rack.lines({ since }).some((l) => l.includes("rack state"))).toBe(false);
  });

  test("cluster mode: it reads its own state after the reconnect and runs the scenario activated meanwhile", async () => {
    const name = "rack-missed-cluster";
    const conf = tempDir("missed-cluster-conf");
    disposers.push(() => conf.remove());
    const { h, cutter, rack } = await rackOnAlpha(name, await clusterEnv(conf.path));
    const since = await missBeta(h, cutter, rack, name);
    await rack.waitForJson(
      { msg: "rack state: applying", scenario: "beta", source: "read after reconnect" },
      { since, timeoutMs: 15_000 },
    );
    const running = await waitForRack(
      h,
      name,
      (r) => r.stats?.scenario?.name === "beta" && r.stats.gears?.running === 2,
      { message: "running beta's two gears after the link came back" },
    );
    expect(running.status).toBe("active");
  });
});
