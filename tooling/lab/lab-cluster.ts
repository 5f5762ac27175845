// Starts the lab in order (nats-server, Mixer, demo scenario, Racks), restarts nats-server or the Mixer when one dies,
// and stops it in reverse, each step bounded.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { applyScenario } from "../../examples/lab/apply-scenario.mjs";
import { listRacks } from "./lab-api.js";
import type { BannerInfo } from "./lab-banner.js";
import {
  extraRackNames,
  LAB_FILES,
  LAB_RACKS,
  type LabRuntime,
  MANUAL_RACK,
  mixerEnv,
  natsEnv,
  natsUrlPort,
  REPO_ROOT,
  rackEnv,
} from "./lab-config.js";
import { writeLabEnv } from "./lab-env-file.js";
import {
  type LabLayout,
  labLayout,
  logFile,
  prepareLayout,
  rackStateDir,
  rotateLogs,
  wipeLab,
} from "./lab-layout.js";
import { LabLock } from "./lab-lock.js";
import { findNatsServer, natsConfigText } from "./lab-nats.js";
import type { LabOptions } from "./lab-options.js";
import { describeExit, type LabExit, LabProcess, LabWaitError } from "./lab-process.js";
import { prepareRuntime } from "./lab-runtime.js";
import { LAB_RESTART_POLICY, RestartPolicy } from "./restart-policy.js";
import { StatusMonitor } from "./status-monitor.js";
import type { ProcessState } from "./status-table.js";

/** The lab cannot start; the message says why and what to do. */
export class LabStartError extends Error {
  override readonly name = "LabStartError";
}

const NATS_READY_MS = 30_000;
const MIXER_READY_MS = 90_000;
const GRACE_MS = { rack: 10_000, mixer: 20_000, nats: 10_000 } as const;

/**
 * jwt bus: runs `fluxrig-mixer nats-config` on the lab's data dir at every start (it keeps the keys, and preloads the
 * fleet JWT the Mixer last pushed), writing the block nats-server includes (`out`, with its full resolver in
 * `resolverDir`: one per nats-server) and the Racks' bootstrap creds.
 */
export async function runLabNatsConfig(opts: {
  run: LabRuntime;
  layout: LabLayout;
  resolverDir: string;
  out: string;
  /** The data dir holding the bus keys (default the lab's Mixer's; `--cluster`: the first Mixer's). */
  dataDir?: string;
}): Promise<void> {
  const { run, layout } = opts;
  const args = [
    LAB_FILES.mixerBundle,
    "nats-config",
    "--config",
    LAB_FILES.mixerConfig,
    "--resolver-dir",
    opts.resolverDir,
    "--out",
    opts.out,
    "--bootstrap-creds",
    layout.bootstrapCreds,
  ];
  try {
    await promisify(execFile)(process.execPath, args, {
      env: mixerEnv(run, opts.dataDir ?? layout.mixerDir),
      timeout: 30_000,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new LabStartError(`fluxrig-mixer nats-config failed: ${stderr || (error as Error).message}`);
  }
}

/** How the lab starts a child: what `#spawn` takes, kept for nats-server and the Mixer to start them again. */
interface SpawnSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  stopGraceMs: number;
  /** Start order, for stopping orphans in reverse: nats-server 0, Mixer 1, Racks 2. */
  tier: number;
}

/** nats-server or the Mixer: how to start it and the log line that says it is ready. */
interface CoreSpec {
  spawn: SpawnSpec;
  ready: (line: string) => string | boolean | undefined;
  readyWhat: string;
  readyMs: number;
}

type CoreName = "nats-server" | "mixer";

export class LabCluster {
  readonly #options: LabOptions;
  readonly #say: (text: string) => void;
  readonly #layout: LabLayout;
  /** Aborted once the lab is asked to stop: ends a start in progress and any pending restart. */
  readonly #halt = new AbortController();
  readonly #racks = new Map<string, LabProcess>();
  readonly #stopRequested: Promise<string>;
  #requestStop: (reason: string) => void = () => {};
  #lock: LabLock | undefined;
  #nats: LabProcess | undefined;
  #mixer: LabProcess | undefined;
  #monitor: StatusMonitor | undefined;
  #stopping: Promise<void> | undefined;
  readonly #core = new Map<CoreName, CoreSpec>();
  readonly #restarts = new RestartPolicy(LAB_RESTART_POLICY);
  /** Set once everything runs: from then on nats-server and the Mixer are restarted when they die. */
  #supervising = false;
  /** Set when nats-server or the Mixer died while starting, or in a crash loop: the lab then exits 1. */
  failure: string | undefined;

  constructor(opts: { options: LabOptions; say: (text: string) => void }) {
    this.#options = opts.options;
    this.#say = opts.say;
    this.#layout = labLayout(opts.options.labDir);
    this.#stopRequested = new Promise((resolve) => {
      this.#requestStop = resolve;
    });
  }

  /** Resolves with the reason once a signal or a failure asks the lab to stop. */
  untilStopRequested(): Promise<string> {
    return this.#stopRequested;
  }

  /** Asks the lab to stop; aborts a start in progress. */
  requestStop(reason: string): void {
    this.#halt.abort();
    this.#requestStop(reason);
  }

  /** Starts everything and returns what the banner shows. Throws LabStartError (or a wait aborted by a signal). */
  async start(): Promise<BannerInfo> {
    const options = this.#options;
    const layout = this.#layout;
    for (const bundle of [LAB_FILES.mixerBundle, LAB_FILES.rackBundle]) {
      if (!existsSync(bundle))
        throw new LabStartError(`${bundle} is missing: run the lab without --no-build`);
    }
    const natsBin = findNatsServer();
    if (natsBin === undefined) {
      throw new LabStartError(
        "nats-server is not installed: run without --no-setup, run `bash tooling/nats-server.sh`, or set NATS_SERVER_BIN to a nats-server 2.10+",
      );
    }
    await mkdir(layout.dir, { recursive: true, mode: 0o700 });
    this.#lock = await LabLock.acquire({ file: layout.lockFile, labDir: layout.dir, note: this.#say });
    if (options.reset) {
      await wipeLab(layout);
      this.#say(`reset: wiped ${layout.dir}`);
    }
    await prepareLayout(layout);
    await rotateLogs(layout);
    const run = await prepareRuntime({ options, layout, say: this.#say });
    await writeLabEnv({
      labDir: layout.dir,
      envFile: layout.envFile,
      binDir: layout.binDir,
      apiUrl: run.apiUrl,
      token: run.token,
      cliBundle: LAB_FILES.cliBundle,
    });
    this.#checkpoint();

    if (run.auth === "jwt") await this.#writeBusAuth(run);
    else this.#say("bus auth: none (an open bus: any client may do anything, see docs/lab.md)");
    await writeFile(
      layout.natsConfig,
      natsConfigText({
        port: natsUrlPort(run.natsUrl),
        storeDir: layout.natsDir,
        ...(run.auth === "jwt" ? { include: basename(layout.natsAuthConfig) } : {}),
      }),
    );
    this.#say(`starting nats-server on ${run.natsUrl}`);
    this.#nats = await this.#startCore({
      spawn: {
        name: "nats-server",
        command: natsBin,
        args: ["-c", layout.natsConfig],
        env: natsEnv(run),
        stopGraceMs: GRACE_MS.nats,
        tier: 0,
      },
      ready: (l) => (l.includes("Server is ready") ? true : undefined),
      readyWhat: '"Server is ready"',
      readyMs: NATS_READY_MS,
    });

    this.#checkpoint();
    this.#say(`starting the Mixer (API ${run.apiUrl})`);
    this.#mixer = await this.#startCore({
      spawn: {
        name: "mixer",
        command: process.execPath,
        args: ["--enable-source-maps", LAB_FILES.mixerBundle, "--config", LAB_FILES.mixerConfig],
        env: mixerEnv(run, layout.mixerDir),
        stopGraceMs: GRACE_MS.mixer,
        tier: 1,
      },
      ready: mixerReady,
      readyWhat: '"mixer ready"',
      readyMs: MIXER_READY_MS,
    });

    let scenario: BannerInfo["scenario"];
    try {
      scenario = await applyScenario({ apiUrl: run.apiUrl, token: run.token, file: LAB_FILES.scenario });
    } catch (error) {
      scenario = { error: (error as Error).message };
      this.#say(`the demo scenario was not applied: ${scenario.error}`);
    }

    const known = await this.#knownRacks(run);
    this.#checkpoint();
    const names = [...LAB_RACKS, ...extraRackNames(options.extraRacks)];
    this.#say(`starting ${names.length} Racks: ${names.join(", ")}`);
    for (const name of names) {
      const stateDir = rackStateDir(layout, name);
      const proc = await this.#spawn({
        name,
        command: process.execPath,
        args: ["--enable-source-maps", LAB_FILES.rackBundle, "--config", LAB_FILES.rackConfig],
        env: rackEnv(run, name, stateDir),
        stopGraceMs: GRACE_MS.rack,
        tier: 2,
      });
      this.#racks.set(name, proc);
    }
    this.#monitor = new StatusMonitor({
      apiUrl: run.apiUrl,
      token: run.token,
      out: process.stdout,
      processes: () => this.#processStates(),
    });
    this.#supervising = true;
    return {
      labDir: layout.dir,
      apiUrl: run.apiUrl,
      token: run.token,
      tokenFile: layout.tokenFile,
      envFile: layout.envFile,
      natsUrl: run.natsUrl,
      logsDir: layout.logsDir,
      scenario,
      scenarioFile: LAB_FILES.scenario,
      autoAdopt: options.autoAdopt,
      manualRack: MANUAL_RACK,
      cliBuilt: existsSync(LAB_FILES.cliBundle),
      racks: names,
      extraRacks: options.extraRacks,
      known,
    };
  }

  async #writeBusAuth(run: LabRuntime): Promise<void> {
    const layout = this.#layout;
    await runLabNatsConfig({ run, layout, resolverDir: layout.natsResolverDir, out: layout.natsAuthConfig });
    this.#say(
      `bus auth: jwt (nats-server config ${layout.natsAuthConfig}, Racks start with ${layout.bootstrapCreds})`,
    );
  }

  /** The registry's status by Rack name before this run's Racks start, so the banner says what will happen. */
  async #knownRacks(run: { apiUrl: string; token: string }): Promise<Map<string, string>> {
    try {
      const racks = await listRacks({
        apiUrl: run.apiUrl,
        token: run.token,
        signal: AbortSignal.any([this.#halt.signal, AbortSignal.timeout(5_000)]),
      });
      return new Map(racks.map((r) => [r.name, r.status]));
    } catch (error) {
      if (!this.#halt.signal.aborted)
        this.#say(`could not list the known Racks (the banner assumes none): ${(error as Error).message}`);
      return new Map();
    }
  }

  /** Starts the status table (after the banner is printed). */
  startMonitor(): void {
    this.#monitor?.start();
  }

  /** Racks, then the Mixer, then nats-server: SIGTERM each, SIGKILL what outlives its grace. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#halt.abort();
      await this.#monitor?.stop();
      const started = [...this.#racks.values(), this.#mixer, this.#nats].filter((p) => p !== undefined);
      if (started.length > 0) this.#say("stopping the lab: Racks, then the Mixer, then nats-server");
      await Promise.all([...this.#racks.values()].map((p) => this.#stopOne(p)));
      if (this.#mixer) await this.#stopOne(this.#mixer);
      if (this.#nats) await this.#stopOne(this.#nats);
      await this.#lock?.release();
      if (started.length > 0)
        this.#say(`stopped. Run the lab again to resume (data in ${this.#layout.dir}).`);
    })();
    return this.#stopping;
  }

  /** Ends a start that a signal interrupted between two steps. */
  #checkpoint(): void {
    if (this.#halt.signal.aborted) throw new LabWaitError("stopped while starting", "aborted");
  }

  /** A second Ctrl-C: SIGKILL whatever still runs; `stop()` then finishes at once. */
  killAll(): void {
    for (const p of [...this.#racks.values(), this.#mixer, this.#nats]) p?.kill();
  }

  async #stopOne(proc: LabProcess): Promise<void> {
    const exit = await proc.stop();
    // nats-server shuts down cleanly on SIGTERM, then exits with 1 (with 0 only on SIGINT).
    const normal = proc === this.#nats && exit.code === 1 ? ", its normal exit after SIGTERM" : "";
    const killed = exit.killed ? ", killed after its grace period" : "";
    this.#say(`  ${proc.name} stopped (${describeExit(exit)}${normal}${killed})`);
  }

  /** Starts nats-server or the Mixer and waits until it is ready; remembers how, to restart it. */
  async #startCore(core: CoreSpec): Promise<LabProcess> {
    this.#core.set(core.spawn.name as CoreName, core);
    const proc = await this.#spawn(core.spawn);
    await proc.waitForLine(core.ready, {
      timeoutMs: core.readyMs,
      what: core.readyWhat,
      signal: this.#halt.signal,
    });
    return proc;
  }

  async #spawn(spec: SpawnSpec): Promise<LabProcess> {
    const proc = this.#launch(spec);
    await this.#record(proc, spec);
    return proc;
  }

  /** Starts the process now (synchronously, so a stop that follows sees it) and watches for its exit. */
  #launch(spec: SpawnSpec): LabProcess {
    const proc = new LabProcess({ ...spec, cwd: REPO_ROOT, logFile: logFile(this.#layout, spec.name) });
    void proc.exited().then((exit) => this.#exited(proc, exit));
    return proc;
  }

  async #record(proc: LabProcess, spec: SpawnSpec): Promise<void> {
    if (proc.pid !== undefined)
      await this.#lock?.recordChild({ name: spec.name, pid: proc.pid, tier: spec.tier });
  }

  #exited(proc: LabProcess, exit: LabExit): void {
    if (this.#stopping !== undefined) return;
    const how = describeExit(exit);
    const tail = proc.tail(8).map((l) => `    ${l}`);
    this.#note([`${proc.name} exited on its own (${how}); its log: ${proc.logFile}`, ...tail].join("\n"));
    if (proc !== this.#nats && proc !== this.#mixer) return;
    if (!this.#supervising) {
      this.failure = `${proc.name} exited (${how})`;
      this.requestStop(this.failure);
      return;
    }
    const verdict = this.#restarts.onExit(proc.name, Date.now());
    if (!verdict.restart) {
      const window = LAB_RESTART_POLICY.windowMs / 1000;
      this.failure = `${proc.name} exited ${verdict.exits} times within ${window} s (last: ${how})`;
      this.#note(`${this.failure}: a crash loop, stopping the lab`);
      this.requestStop(this.failure);
      return;
    }
    this.#note(`restarting ${proc.name} in ${verdict.delayMs / 1000} s; the Racks keep running`);
    void this.#restart(proc.name as CoreName, verdict.delayMs);
  }

  /** Starts nats-server or the Mixer again with the same command and environment, unless the lab stops first. */
  async #restart(name: CoreName, delayMs: number): Promise<void> {
    const core = this.#core.get(name);
    if (core === undefined) return;
    try {
      await delay(delayMs, undefined, { signal: this.#halt.signal });
    } catch {
      return; // The lab is stopping.
    }
    if (this.#stopping !== undefined) return;
    const proc = this.#launch(core.spawn);
    if (name === "mixer") this.#mixer = proc;
    else this.#nats = proc;
    this.#note(`${name} restarted (pid ${proc.pid ?? "?"})`);
    try {
      await this.#record(proc, core.spawn);
      await proc.waitForLine(core.ready, {
        timeoutMs: core.readyMs,
        what: core.readyWhat,
        signal: this.#halt.signal,
      });
      this.#note(`${name} is ready again`);
    } catch (error) {
      // An exit is handled by #exited and a stop needs no word; a timeout or a lock write error is worth one.
      if (error instanceof LabWaitError && error.reason !== "timeout") return;
      this.#note(`${name}: ${(error as Error).message}; its log: ${proc.logFile}`);
    }
  }

  /** A line for the operator: above the status table once it runs. */
  #note(text: string): void {
    if (this.#monitor) this.#monitor.note(text);
    else this.#say(text);
  }

  #processStates(): Map<string, ProcessState> {
    const states = new Map<string, ProcessState>();
    for (const [name, proc] of this.#racks) {
      const exit = proc.exitStatus;
      states.set(
        name,
        exit === undefined ? { pid: proc.pid ?? 0 } : { exited: `exited ${describeExit(exit)}` },
      );
    }
    return states;
  }
}

/** The `api` of the Mixer's `{"msg":"mixer ready","api":"http://..."}` log line. */
export function mixerReady(line: string): string | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: unknown; api?: unknown };
    return entry.msg === "mixer ready" ? String(entry.api ?? "") : undefined;
  } catch {
    return undefined;
  }
}
