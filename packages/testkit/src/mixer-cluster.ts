// Several real fluxrig-mixer processes in cluster mode on one NATS JetStream cluster, for integration tests and
// benchmarks: each Mixer with its own data dir, member name and machine_id, all sharing the cluster's name, its Cluster
// Key and (JWT bus) its bus keys, as docs/cluster.md tells an operator to set them up.
import { cp, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { NatsConnection, NodeConnectionOptions } from "@nats-io/transport-node";
import type { SpawnedProcess } from "./child-process.js";
import { TestkitError } from "./errors.js";
import { freePort } from "./free-port.js";
import { formatLogs } from "./logs-on-failure.js";
import {
  bootstrapConnectOptions,
  type HarnessBusAuth,
  type JwtBusFiles,
  mixerApi,
  runNatsConfig,
  spawnMixer,
  TEST_TOKEN,
  waitForMixerReady,
} from "./mixer-harness.js";
import { NatsCluster, type NatsClusterOptions } from "./nats-cluster.js";
import { tempDir } from "./temp-files.js";

/** What the first Mixer creates and an operator copies into every other Mixer's data dir (docs/cluster.md). */
const SHARED_KEY_MATERIAL = ["cluster.key", "cluster.pub"] as const;
/** The bus key store (`fluxrig-mixer nats-config` creates it): shared on the JWT bus. */
const BUS_KEY_DIR = "bus";

/** The first MachineID handed to Racks: Mixers take 1 to 15 (docs/configuration.md, `[cluster] member`). */
const FIRST_RACK_MACHINE_ID = 16;

/** Options for {@link startMixerCluster}. */
export interface MixerClusterOptions {
  /** How many Mixers (default 2). */
  mixers?: number;
  /**
   * The NATS cluster: options for a new one (started and stopped with the Mixers; default 3 nodes), or a running
   * {@link NatsCluster} the caller owns and stops. On the JWT bus it must be options: its nodes run the block
   * `fluxrig-mixer nats-config` prints from the first Mixer's keys, which exist only once this starts.
   */
  nats?: NatsCluster | NatsClusterOptions;
  /** `none` (default): an open bus. `jwt`: the product's bus auth, every node with its own resolver dir. */
  auth?: HarnessBusAuth;
  /** The cluster's name, `[mixer] name` of every Mixer (default `fluxrig-test`). */
  clusterName?: string;
  /** `FLUXRIG_*` overrides for every Mixer (over what the harness sets). */
  env?: Record<string, string>;
  /** `FLUXRIG_*` overrides for Mixer `i` (over `env`). */
  envOf?: (i: number) => Record<string, string>;
  /** Extra Node flags for every Mixer process. */
  nodeArgs?: string[];
  /** Bound on each Mixer's start (default 30 000 ms). */
  readyTimeoutMs?: number;
}

/** Mixer `i`'s member name: `mixer-a`, `mixer-b`, ... */
export function memberName(i: number): string {
  return `mixer-${String.fromCharCode(97 + i)}`;
}

/**
 * Real Mixers in cluster mode on a real NATS cluster. Mixers are numbered from 0; Mixer 0 is started first (it creates
 * the Cluster Key), the others after its key material is copied into their data dirs. `await using` it, or `stop()`
 * it in a `finally`: every Mixer, the NATS cluster it started and the temp dir go, even after a failed start. Its
 * processes and nodes are each in the testkit's list of started things, so `attachLogsOnFailure` prints their logs.
 *
 * @example
 * await using mc = await startMixerCluster({ mixers: 2, nats: { nodes: 3 }, auth: "jwt" });
 * await mc.kill(0, "SIGKILL");
 * const info = await mc.api(1, "/api/v1/cluster");
 */
export class MixerCluster implements AsyncDisposable {
  readonly token = TEST_TOKEN;
  readonly dataDirs: readonly string[];
  readonly apiPorts: readonly number[];
  readonly #procs: (SpawnedProcess | undefined)[];
  /** Every Mixer process this cluster started, stopped ones too: their logs explain a failure found afterwards. */
  readonly #started: SpawnedProcess[] = [];
  readonly #env: readonly Record<string, string>[];
  readonly #nodeArgs: readonly string[];
  readonly #readyTimeoutMs: number;
  readonly #ownsNats: boolean;
  readonly #dispose: () => Promise<void>;
  #stopped: Promise<void> | undefined;

  private constructor(
    readonly nats: NatsCluster,
    readonly clusterName: string,
    readonly jwtBus: JwtBusFiles | undefined,
    parts: {
      dataDirs: string[];
      apiPorts: number[];
      env: Record<string, string>[];
      nodeArgs: string[];
      readyTimeoutMs: number;
      ownsNats: boolean;
      dispose: () => Promise<void>;
    },
  ) {
    this.dataDirs = parts.dataDirs;
    this.apiPorts = parts.apiPorts;
    this.#procs = parts.dataDirs.map(() => undefined);
    this.#env = parts.env;
    this.#nodeArgs = parts.nodeArgs;
    this.#readyTimeoutMs = parts.readyTimeoutMs;
    this.#ownsNats = parts.ownsNats;
    this.#dispose = parts.dispose;
  }

  /** Same as {@link startMixerCluster}. */
  static async launch(opts: MixerClusterOptions = {}): Promise<MixerCluster> {
    const count = opts.mixers ?? 2;
    if (!Number.isInteger(count) || count < 1 || count >= FIRST_RACK_MACHINE_ID) {
      throw new TestkitError(
        `startMixerCluster: mixers must be a whole number from 1 to ${FIRST_RACK_MACHINE_ID - 1}, got ${count}`,
      );
    }
    const auth = opts.auth ?? "none";
    const given = opts.nats instanceof NatsCluster ? opts.nats : undefined;
    if (given !== undefined && auth === "jwt") {
      throw new TestkitError(
        "startMixerCluster: on the JWT bus pass NATS cluster options, not a running cluster: its nodes must run the block fluxrig-mixer nats-config prints from the first Mixer's keys",
      );
    }
    const dir = tempDir("fluxrig-mixer-cluster");
    let nats: NatsCluster | undefined = given;
    let mc: MixerCluster | undefined;
    try {
      const dataDirs = Array.from({ length: count }, (_, i) => join(dir.path, memberName(i)));
      let jwtBus: JwtBusFiles | undefined;
      if (nats === undefined) {
        const natsOpts = (opts.nats ?? {}) as NatsClusterOptions;
        if (auth === "jwt") {
          // One `nats-config` run per node: the same keys (Mixer 0's data dir), each node its own resolver dir.
          const blocks: string[] = [];
          for (let node = 0; node < (natsOpts.nodes ?? 3); node++) {
            jwtBus = await runNatsConfig(dir.path, dataDirs[0]!, {
              resolverDir: join(dir.path, `nats-jwt-${node}`),
            });
            blocks.push(jwtBus.config);
          }
          nats = await NatsCluster.launch({
            ...natsOpts,
            extraConfig: (node) =>
              [
                blocks[node]!,
                typeof natsOpts.extraConfig === "function"
                  ? natsOpts.extraConfig(node)
                  : (natsOpts.extraConfig ?? ""),
              ].join("\n"),
          });
        } else {
          nats = await NatsCluster.launch(natsOpts);
        }
      }
      const apiPorts: number[] = [];
      while (apiPorts.length < count) {
        const port = await freePort();
        if (!apiPorts.includes(port)) apiPorts.push(port);
      }
      const clusterName = opts.clusterName ?? "fluxrig-test";
      const env = dataDirs.map((_, i) => ({
        FLUXRIG_NATS_AUTH: auth,
        FLUXRIG_MIXER_NAME: clusterName,
        FLUXRIG_MIXER_MACHINE_ID: String(i + 1),
        FLUXRIG_CLUSTER_ENABLED: "true",
        FLUXRIG_CLUSTER_MEMBER: memberName(i),
        // The Mixers' machine_ids (1..count) stay below the Racks' range, as cluster mode requires.
        FLUXRIG_ENROLLMENT_MACHINE_ID_MIN: String(FIRST_RACK_MACHINE_ID),
        ...opts.env,
        ...opts.envOf?.(i),
      }));
      mc = new MixerCluster(nats, clusterName, jwtBus, {
        dataDirs,
        apiPorts,
        env,
        nodeArgs: opts.nodeArgs ?? [],
        readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
        ownsNats: given === undefined,
        dispose: () => dir.remove(),
      });
      // Mixer 0 creates the Cluster Key (and, on an open bus, nothing else to share); then the others get copies.
      await mc.start(0);
      for (let i = 1; i < count; i++) await mc.#copyKeyMaterial(i);
      await Promise.all(dataDirs.slice(1).map((_, j) => mc!.start(j + 1)));
      return mc;
    } catch (error) {
      const logs = mc === undefined ? (nats?.output(40) ?? "") : mc.output(40);
      if (mc !== undefined) await mc.stop();
      else {
        if (given === undefined) await nats?.stop();
        await dir.remove();
      }
      throw new TestkitError(`startMixerCluster: ${(error as Error).message}\n${logs}`, { cause: error });
    }
  }

  get label(): string {
    return `mixer-cluster:${this.clusterName}`;
  }

  /** How many Mixers. */
  get size(): number {
    return this.dataDirs.length;
  }

  /** The bus mode the Mixers and the nodes run. */
  get auth(): HarnessBusAuth {
    return this.jwtBus === undefined ? "none" : "jwt";
  }

  /** `[nats] url` of every Mixer: every node's client URL, comma-separated. */
  get natsUrl(): string {
    return this.nats.urls.join(",");
  }

  /** Mixer `i`'s member name (`[cluster] member`). */
  member(i: number): string {
    this.#check(i);
    return memberName(i);
  }

  /** Mixer `i`'s API base URL. */
  apiUrl(i: number): string {
    this.#check(i);
    return `http://127.0.0.1:${this.apiPorts[i]!}`;
  }

  /** Mixer `i`'s process while it runs (its pid, its log lines), else `undefined`. */
  process(i: number): SpawnedProcess | undefined {
    this.#check(i);
    return this.#procs[i];
  }

  /** Which Mixers run now. */
  get running(): number[] {
    return this.#procs.flatMap((p, i) => (p?.running ? [i] : []));
  }

  /** JWT bus: the bootstrap `.creds` new Racks connect with (`[nats] creds`). */
  get bootstrapCreds(): string {
    if (this.jwtBus === undefined) {
      throw new TestkitError(
        'this Mixer cluster runs an open bus: start it with { auth: "jwt" } for bus credentials',
      );
    }
    return this.jwtBus.bootstrapCreds;
  }

  /**
   * A client of the NATS cluster (every node in its server list), closed with it. On the JWT bus it holds the
   * bootstrap credential and inbox prefix, as a new Rack's first connection.
   */
  connect(opts: NodeConnectionOptions = {}): Promise<NatsConnection> {
    return this.nats.connect({
      ...(this.jwtBus === undefined ? {} : bootstrapConnectOptions(this.jwtBus.bootstrapCreds)),
      ...opts,
    });
  }

  /** Starts Mixer `i` (a no-op while it runs) and waits until it logs `mixer ready`. */
  async start(i: number): Promise<SpawnedProcess> {
    this.#check(i);
    const running = this.#procs[i];
    if (running?.running) return running;
    await mkdir(this.dataDirs[i]!, { recursive: true, mode: 0o700 });
    const proc = spawnMixer({
      natsUrl: this.natsUrl,
      dataDir: this.dataDirs[i]!,
      apiPort: this.apiPorts[i]!,
      env: this.#env[i]!,
      nodeArgs: this.#nodeArgs,
      label: `fluxrig-mixer[${memberName(i)}]`,
    });
    this.#procs[i] = proc;
    this.#started.push(proc);
    await waitForMixerReady(proc, this.#readyTimeoutMs);
    return proc;
  }

  /** Sends `signal` to Mixer `i` (default SIGKILL: a crash) and waits until it has exited. */
  async kill(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    this.#check(i);
    const proc = this.#procs[i];
    if (proc === undefined) return;
    if (proc.running) {
      proc.kill(signal);
      await proc.waitForExit({ timeoutMs: signal === "SIGKILL" ? 10_000 : 30_000 });
    }
    await proc.stop();
    this.#procs[i] = undefined;
  }

  /** `kill(i, signal)` (default SIGTERM: a clean stop), then `start(i)` on the same data dir and port. */
  async restart(i: number, signal: NodeJS.Signals = "SIGTERM"): Promise<SpawnedProcess> {
    await this.kill(i, signal);
    return this.start(i);
  }

  /** Calls Mixer `i`'s REST API with the test token. */
  api<T = unknown>(
    i: number,
    path: string,
    init: RequestInit & { json?: unknown } = {},
  ): Promise<{ status: number; body: T }> {
    return mixerApi<T>(this.apiUrl(i), path, init);
  }

  /** Every Mixer's log (each process started, stopped ones too) and every node's, labelled, for failure reports. */
  output(tail?: number): string {
    return [formatLogs(this.#started, tail), this.nats.output(tail)].filter((s) => s !== "").join("\n");
  }

  /** Stops every Mixer (SIGTERM, then SIGKILL after the grace), the NATS cluster if it started it, the temp dir. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await Promise.allSettled(this.#procs.map((p) => p?.stop({ graceMs: 20_000 })));
      if (this.#ownsNats) await this.nats.stop();
      await this.#dispose();
    })();
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  killSync(): void {
    for (const p of this.#procs) p?.killSync();
    if (this.#ownsNats) this.nats.killSync();
  }

  /** Copies Mixer 0's Cluster Key (and, on the JWT bus, its bus key store) into Mixer `i`'s data dir. */
  async #copyKeyMaterial(i: number): Promise<void> {
    const from = this.dataDirs[0]!;
    const to = this.dataDirs[i]!;
    await mkdir(to, { recursive: true, mode: 0o700 });
    for (const file of SHARED_KEY_MATERIAL) await cp(join(from, file), join(to, file));
    if (this.jwtBus !== undefined) {
      // Not a Mixer's files in the making: Mixer 0 may be rewriting one (write to `.<name>.<pid>.<rand>.tmp`, then
      // rename) while this copies, and the temp file is gone by the time it is read (ENOENT).
      await cp(join(from, BUS_KEY_DIR), join(to, BUS_KEY_DIR), {
        recursive: true,
        filter: (src) => !src.endsWith(".tmp"),
      });
    }
  }

  #check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.dataDirs.length) {
      throw new TestkitError(`no Mixer ${i} in a cluster of ${this.dataDirs.length}`);
    }
  }
}

/**
 * Starts `mixers` (default 2) real `fluxrig-mixer` processes in cluster mode on a NATS cluster (a new 3-node one by
 * default); resolves once every Mixer logs `mixer ready`. On failure everything it started is stopped and the error
 * carries the logs' last lines.
 *
 * @example
 * await using mc = await startMixerCluster({ mixers: 2, auth: "jwt" });
 */
export function startMixerCluster(opts: MixerClusterOptions = {}): Promise<MixerCluster> {
  return MixerCluster.launch(opts);
}
