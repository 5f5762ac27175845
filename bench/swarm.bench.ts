// Swarm: N simulated Racks on the real wire protocol against a real nats-server and fluxrig-mixer (issue #5).
//
// Run: pnpm exec tsx --conditions=@fluxrig/source bench/swarm.bench.ts [--auth none|jwt] [--racks 10000] [--duration 10s]
//      [--rates 10000,20000,...] [--connections 16] [--interval 1s] [--flush-interval 1s] [--kill 0.01]
//      [--skip-steps] [--skip-offline] [--skip-herd] [--skip-baseline] [--no-flat-out] [--mixer-node-args="--cpu-prof ..."]
//      [--mixer-env FLUXRIG_NAME=value,...]
// Needs the built Mixer (`pnpm build`, or `pnpm bench`, which builds first). About 3 minutes at the defaults.
// Every Rack has its own Ed25519 key and name, enrolls with a signed hello (auto_adopt), and heartbeats with the
// real Heartbeat message; Racks share --connections NATS connections. Phases: enrollment, steady state (Mixer RSS
// and CPU at N), offered heartbeat rate stepped up with a no-op subscriber beside the Mixer, offline detection,
// thundering herd after a nats-server restart, and the one-write-per-heartbeat baseline. Progress on stderr;
// figures printed and written to bench-results/swarm.json (--out). See bench/swarm/README.md.
import { bootstrapConnectOptions, killAllStarted } from "@fluxrig/testkit";
import { FigureBook, printTable, round } from "./swarm/figures.js";
import { HeartbeatPump } from "./swarm/heartbeat-pump.js";
import { MixerUnderTest, type NatsConnection } from "./swarm/mixer-under-test.js";
import { type HeartbeatProbe, NO_PROBE, NoopProbe } from "./swarm/noop-probe.js";
import { baselineFigures } from "./swarm/phase-baseline.js";
import { enrollNetFigures, enrollPhase } from "./swarm/phase-enroll.js";
import { herdPhase } from "./swarm/phase-herd.js";
import { offlinePhase } from "./swarm/phase-offline.js";
import { rateStepsPhase, stepsSummary } from "./swarm/phase-rate-steps.js";
import { steadyPhase } from "./swarm/phase-steady.js";
import { RssWatch } from "./swarm/proc-stats.js";
import { bar, ProgressLine } from "./swarm/progress-line.js";
import { SimulatedFleet } from "./swarm/simulated-fleet.js";
import type { SwarmContext } from "./swarm/swarm-context.js";
import { durationText, parseSwarmOptions } from "./swarm/swarm-options.js";
import { sleep, within } from "./swarm/waits.js";

const MB = 1024 * 1024;
const opts = parseSwarmOptions(process.argv.slice(2));
const command = [
  "pnpm exec tsx --conditions=@fluxrig/source bench/swarm.bench.ts",
  ...process.argv.slice(2),
].join(" ");
const book = new FigureBook();
const progress = new ProgressLine();
/** Whether a failure was already reported (before the clean-up, which may take a while). */
let saidFailure = false;
/** The sustained heartbeat rate, for the baseline ratio once the system under test is stopped. */
let sustained = Number.NaN;

async function runSwarm(): Promise<void> {
  progress.phase(
    `starting nats-server and fluxrig-mixer (bus auth ${opts.auth}, auto_adopt, heartbeat_interval ${durationText(opts.intervalMs)}, ` +
      `missed ${opts.missed}, flush_interval ${durationText(opts.flushIntervalMs)})`,
  );
  const mut = await MixerUnderTest.start({
    auth: opts.auth,
    env: {
      FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true",
      FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: durationText(opts.intervalMs),
      FLUXRIG_PRESENCE_MISSED_HEARTBEATS: String(opts.missed),
      FLUXRIG_PRESENCE_FLUSH_INTERVAL: durationText(opts.flushIntervalMs),
      ...opts.mixerEnv,
    },
    nodeArgs: opts.mixerNodeArgs,
  });
  let noop: HeartbeatProbe | undefined;
  let fleet: SimulatedFleet | undefined;
  let pump: HeartbeatPump | undefined;
  const mixerRss = new RssWatch(
    () => mut.mixerPid,
    () => mut.memoryText(),
  ).start();
  try {
    noop = opts.auth === "none" ? await NoopProbe.start(mut.nats.port) : NO_PROBE;
    // jwt: the shared connections hold the bootstrap creds and may only say hello (the Racks' first one).
    const bootstrap = mut.jwtBus === undefined ? {} : bootstrapConnectOptions(mut.jwtBus.bootstrapCreds);
    await sleep(1_500);
    book.add({
      name: "mixer.rss_start",
      value: round((mixerRss.sample() ?? Number.NaN) / MB, 1),
      unit: "MB",
      note: `fluxrig-mixer VmRSS once ready, with no Rack yet; ${mut.memoryText()}`,
    });
    const conns: NatsConnection[] = [];
    for (let c = 0; c < opts.connections; c++) {
      // Reconnect pacing close to a Rack's (apps/rack: 0.5 s with jitter), so the herd arrives as a real one would.
      conns.push(
        await mut.nats.connect({
          name: `swarm-${c}`,
          reconnectTimeWait: 500,
          reconnectJitter: 200,
          maxReconnectAttempts: -1,
          ...bootstrap,
        }),
      );
    }
    fleet = new SimulatedFleet(conns, opts.racks, opts.auth, { host: mut.nats.host, port: mut.nats.port });
    progress.phase(`generating ${opts.racks} Ed25519 keys`);
    fleet.generate((done) => progress.update(`${bar(done, opts.racks)} ${done} keys`));
    pump = new HeartbeatPump(fleet, opts.intervalMs);
    pump.start();
    const ctx: SwarmContext = { opts, command, mut, fleet, pump, noop, progress, book, mixerRss };

    const enrolled = await enrollPhase(ctx);
    const steady = await steadyPhase(ctx, opts.steadyMs);
    book.add(...enrollNetFigures(ctx, enrolled, steady));
    if (!opts.skipSteps) {
      const steps = await rateStepsPhase(ctx);
      sustained = steps.sustained;
      book.add(...stepsSummary(ctx, steps));
    }
    if (!opts.skipOffline) await offlinePhase(ctx);
    if (!opts.skipHerd) await herdPhase(ctx);
  } catch (err) {
    // Said at once: the clean-up below may take a while.
    progress.note(`FAILED: ${String((err as Error).stack ?? err)}`);
    saidFailure = true;
    throw err;
  } finally {
    await within(pump?.stop() ?? Promise.resolve(), 5_000, undefined);
    await within(fleet?.closeOwn() ?? Promise.resolve(), 10_000, undefined);
    mixerRss.sample();
    mixerRss.stop();
    book.add({
      name: "mixer.rss_peak",
      value: round(mixerRss.peak / MB, 1),
      unit: "MB",
      note: `highest fluxrig-mixer VmRSS sampled every 0.5 s over the whole run (including overload steps and the herd); at the peak: ${mixerRss.peakDetail}; ${command}`,
    });
    progress.phase("stopping");
    await noop?.stop().catch((err: unknown) => progress.note(`no-op subscriber stop failed: ${String(err)}`));
    const code = await mut.stopMixer().catch(() => null);
    if (code !== 0) progress.note(`fluxrig-mixer exited with code ${code} on SIGTERM`);
    await within(mut[Symbol.asyncDispose](), 30_000, undefined);
  }
}

let failure: string | undefined;
try {
  await runSwarm();
} catch (err) {
  failure = String((err as Error).message ?? err).split("\n")[0];
  if (!saidFailure) progress.note(`FAILED: ${String((err as Error).stack ?? err)}`);
  process.exitCode = 1;
}
if (!opts.skipBaseline && !opts.skipSteps) {
  progress.phase("baseline: one DuckDB write per heartbeat");
  try {
    book.add(...(await baselineFigures(sustained, opts.flushIntervalMs)));
  } catch (err) {
    progress.note(`baseline failed: ${String((err as Error).message ?? err).split("\n")[0]}`);
  }
}
book.write(opts.out, failure ? { error: failure } : {});
console.log(`\nswarm figures (${opts.out}):`);
printTable(book.figures);
// Whatever a failure left running is stopped here; the testkit's exit hooks back this up.
await killAllStarted().catch((err: unknown) => console.error("cleanup failed:", err));
