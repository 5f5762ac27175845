// A real Mixer (JWT or open bus, single or cluster mode), a relay in front of its nats-server that cuts one Rack's
// link only, and a real Rack running a first scenario: for the tests of a Rack that misses pushes (issue 18).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type HarnessBusAuth, MixerHarness, type SpawnedProcess, tempDir } from "@fluxrig/testkit";
import { expect, onTestFinished } from "vitest";
import { LinkCutter } from "../../support/link-cutter.js";
import { activateScenario, fastMixerEnv, spawnRack, tickerScenario, waitForRack } from "./real-fleet.js";

/**
 * Cluster mode on one JetStream node (one replica), as a config file in `dir`; the Racks' MachineIDs start above the
 * Mixer's, as cluster mode requires.
 */
export async function clusterConfigEnv(dir: string): Promise<Record<string, string>> {
  const path = join(dir, "fluxrig-mixer.toml");
  await writeFile(
    path,
    '[cluster]\nenabled = true\nmember = "mixer-a"\nreplicas = 1\n\n[enrollment]\nmachine_id_min = 16\n',
  );
  return { FLUXRIG_CONFIG: path };
}

/** What {@link rackOnScenario} started; everything is stopped when the test finishes. */
export interface CutFleet {
  h: MixerHarness;
  cutter: LinkCutter;
  rack: SpawnedProcess;
}

/**
 * A Mixer (auto-adopt, fast presence; in cluster mode with `cluster: true`), a relay, and a real Rack behind the relay
 * running `scenario` (a ticker and a counter), seen in its heartbeats.
 */
export async function rackOnScenario(opts: {
  rack: string;
  scenario: string;
  auth: HarnessBusAuth;
  cluster: boolean;
}): Promise<CutFleet> {
  let env: Record<string, string> = {};
  if (opts.cluster) {
    const conf = tempDir(`${opts.rack}-conf`);
    onTestFinished(() => conf.remove());
    env = await clusterConfigEnv(conf.path);
  }
  const h = await MixerHarness.create({
    auth: opts.auth,
    env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true", ...env }),
  });
  onTestFinished(() => h[Symbol.asyncDispose]());
  const cutter = await LinkCutter.start(h.nats.port);
  onTestFinished(() => cutter[Symbol.asyncDispose]());
  await activateScenario(h, tickerScenario(opts.scenario, [opts.rack]), opts.scenario);
  const state = tempDir(opts.rack);
  onTestFinished(() => state.remove());
  const rack = spawnRack(h, {
    name: opts.rack,
    stateDir: state.path,
    env: { FLUXRIG_NATS_URL: cutter.url, FLUXRIG_NATS_RECONNECT_SPREAD: "0s" },
  });
  onTestFinished(async () => {
    await rack.stop();
  });
  await rack.waitForJson({ msg: "gears: scenario applied", scenario: opts.scenario }, { timeoutMs: 20_000 });
  await runs(h, opts.rack, opts.scenario);
  return { h, cutter, rack };
}

/** Waits until the Rack's heartbeats name `scenario` with its two gears running. */
export function runs(h: MixerHarness, rack: string, scenario: string) {
  return waitForRack(h, rack, (r) => r.stats?.scenario?.name === scenario && r.stats.gears?.running === 2, {
    message: `running ${scenario}`,
  });
}

/**
 * Cuts the Rack's link, activates `scenario` (its pushes go out unheard), and restores the link; answers the log
 * mark from before the cut.
 */
export async function missScenario(fleet: CutFleet, rackName: string, scenario: string): Promise<number> {
  const { h, cutter, rack } = fleet;
  const since = rack.mark();
  cutter.cut();
  await rack.waitForJson({ msg: "nats: disconnected, reconnecting" }, { since, timeoutMs: 15_000 });
  await activateScenario(h, tickerScenario(scenario, [rackName]), scenario);
  // Nothing reached the Rack while cut.
  expect(rack.lines({ since }).some((l) => l.includes(`"scenario":"${scenario}"`))).toBe(false);
  cutter.restore();
  await rack.waitForJson({ msg: "nats: reconnected" }, { since, timeoutMs: 15_000 });
  return since;
}
