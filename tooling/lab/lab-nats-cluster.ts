// `npm run lab -- --cluster`: cluster mode's lab (docs/cluster.md): three nats-servers in one JetStream cluster, each
// with its own store and (jwt bus) resolver dir, two Mixers in cluster mode sharing the first one's Cluster Key and
// bus keys, and the lab's Racks, all under .lab/cluster/, until Ctrl-C. Nothing is restarted when it dies: this lab is
// for trying failover with `kill -9` (pids in .lab/lab.lock).
import { existsSync } from "node:fs";
import { cp, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { BUS_KEY_DIR } from "../../apps/mixer/src/bus-auth/key-store.js";
import { CLUSTER_KEY_FILE, CLUSTER_PUBLIC_KEY_FILE } from "../../apps/mixer/src/runtime/cluster-key.js";
import { applyScenario } from "../../examples/lab/apply-scenario.mjs";
import { mixerReady, runLabNatsConfig } from "./lab-cluster.js";
import {
  CLUSTER_FIRST_RACK_MACHINE_ID,
  type ClusterLabMixer,
  clusterMixerEnv,
  extraRackNames,
  LAB_FILES,
  LAB_RACKS,
  type LabRuntime,
  loadLabMixerConfig,
  natsEnv,
  REPO_ROOT,
  rackEnv,
  splitListen,
} from "./lab-config.js";
import { writeLabEnv } from "./lab-env-file.js";
import { labLayout, logFile, prepareLayout, rotateLogs, wipeLab } from "./lab-layout.js";
import { LabLock } from "./lab-lock.js";
import { findNatsServer } from "./lab-nats.js";
import type { LabOptions } from "./lab-options.js";
import { holdPort } from "./lab-ports.js";
import { describeExit, LabProcess, LabWaitError } from "./lab-process.js";
import { prepareRuntime } from "./lab-runtime.js";

const NODES = 3;
/** The cluster's Mixers: `[cluster] member` mixer-a, mixer-b, with machine_id 1, 2. */
const MIXERS = ["mixer-a", "mixer-b"] as const;
const READY_MS = 30_000;
/**
 * A node the meta leader has not taken into its group this long after the node started is started again, at most
 * MAX_REJOINS times (a nats-server 2.10 route race at a cold start; docs/cluster.md, "One route per peer"). The same
 * bound as the testkit's (CUT_OFF_RESTART_MS): there, a 3-node cluster was whole again at most 8.2 s after a start in
 * 154 waits at a load average of 13 to 20, while a left-out node stayed out for as long as it ran.
 */
const REJOIN_MS = 15_000;
const MAX_REJOINS = 2;
const MIXER_READY_MS = 90_000;
const GRACE_MS = { rack: 10_000, mixer: 20_000, nats: 10_000 } as const;
const HOST = "127.0.0.1";

/** The cluster lab cannot start; the message says why. */
export class LabClusterStartError extends Error {
  override readonly name = "LabClusterStartError";
}

interface Member {
  name: string;
  client: number;
  route: number;
  monitor: number;
  dir: string;
}

/**
 * One member's config: client, route and monitoring ports on loopback, JetStream with `sync_interval: always` in its
 * own store, routes to the other two, and (jwt bus) an include of its own `fluxrig-mixer nats-config` block.
 */
export function clusterMemberConfig(member: Member, all: readonly Member[], include?: string): string {
  return [
    "# Written by the fluxrig lab (--cluster) at every start; edits are lost. See docs/cluster.md.",
    `server_name: ${JSON.stringify(member.name)}`,
    `host: "${HOST}"`,
    `port: ${member.client}`,
    `http: "${HOST}:${member.monitor}"`,
    "jetstream {",
    `  store_dir: ${JSON.stringify(join(member.dir, "store"))}`,
    "  max_memory_store: 268435456",
    "  max_file_store: 1073741824",
    "  # Cluster mode's setting: fsync before every acknowledgement (docs/cluster.md).",
    "  sync_interval: always",
    "}",
    "cluster {",
    '  name: "fluxrig-lab"',
    `  listen: "${HOST}:${member.route}"`,
    "  # One route per peer: nats-server 2.10's route pools lost a member from the JetStream meta group at start on a",
    '  # loaded machine (docs/cluster.md, "One route per peer").',
    "  pool_size: -1",
    `  routes: [${all
      .filter((m) => m !== member)
      .map((m) => JSON.stringify(`nats-route://${HOST}:${m.route}`))
      .join(", ")}]`,
    "}",
    ...(include === undefined ? [] : [`include ${JSON.stringify(include)}`]),
    "",
  ].join("\n");
}

/** `--cluster`: one Mixer of the lab's cluster, with where it lives and answers. */
interface LabMixer extends ClusterLabMixer {
  apiUrl: string;
}

/** The cluster lab's processes, in start order: stopped in reverse (Racks, Mixers, nats-servers). */
type Tier = "nats" | "mixer" | "rack";
/** How the lab starts a child. */
interface LaunchSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  stopGraceMs: number;
}
const TIER_ORDER: Record<Tier, number> = { nats: 0, mixer: 1, rack: 2 };

export class LabNatsCluster {
  readonly #options: LabOptions;
  readonly #say: (text: string) => void;
  readonly #halt = new AbortController();
  readonly #procs = new Map<Tier, LabProcess[]>([
    ["nats", []],
    ["mixer", []],
    ["rack", []],
  ]);
  readonly #stopRequested: Promise<string>;
  #requestStop: (reason: string) => void = () => {};
  #lock: LabLock | undefined;
  #stopping: Promise<void> | undefined;
  /** nats-servers being started again during the start (their exit is expected), and how to start each. */
  readonly #replacing = new Set<LabProcess>();
  readonly #natsSpecs = new Map<string, LaunchSpec>();
  /** Ports chosen for a child and held until it starts, by the child's name. */
  readonly #heldPorts = new Map<string, Array<() => Promise<void>>>();
  /** Set once everything runs: until then a nats-server or Mixer that dies fails the start. */
  #running = false;
  /** Set when a nats-server or a Mixer died while the lab started: the lab then exits 1. */
  failure: string | undefined;

  constructor(opts: { options: LabOptions; say: (text: string) => void }) {
    this.#options = opts.options;
    this.#say = opts.say;
    this.#stopRequested = new Promise((resolve) => {
      this.#requestStop = resolve;
    });
  }

  /** Starts the three members, the two Mixers and the Racks, each waited on; returns the banner. */
  async start(): Promise<string[]> {
    const options = this.#options;
    const layout = labLayout(options.labDir);
    const natsBin = findNatsServer();
    if (natsBin === undefined) {
      throw new LabClusterStartError(
        "nats-server is not installed: run without --no-setup, run `bash tooling/nats-server.sh`, or set NATS_SERVER_BIN to a nats-server 2.10+",
      );
    }
    for (const bundle of [LAB_FILES.mixerBundle, LAB_FILES.rackBundle]) {
      if (!existsSync(bundle))
        throw new LabClusterStartError(`${bundle} is missing: run the lab without --no-build`);
    }
    await mkdir(layout.dir, { recursive: true, mode: 0o700 });
    this.#lock = await LabLock.acquire({ file: layout.lockFile, labDir: layout.dir, note: this.#say });
    if (options.reset) {
      await wipeLab(layout);
      this.#say(`reset: wiped ${layout.dir}`);
    }
    await prepareLayout(layout);
    await rotateLogs(layout);
    const single = await prepareRuntime({ options, layout, say: this.#say });
    const clusterDir = join(layout.dir, "cluster");

    const members: Member[] = [];
    const taken: number[] = [];
    // Each port stays held (listening) until right before the process that binds it starts.
    const pick = async (
      owner: string,
      port: { preferred: number; what: string; requested: number | undefined; flag: string },
    ) => {
      const choice = await holdPort({ host: HOST, ...port, what: `${owner} (${port.what})`, avoid: taken });
      if (choice.note !== undefined) this.#say(choice.note);
      taken.push(choice.port);
      this.#heldPorts.set(owner, [...(this.#heldPorts.get(owner) ?? []), choice.release]);
      return choice.port;
    };
    // --nats-port P: the members' client ports are P, P+1, P+2 (routes 6222.., monitoring 8222.., free ones when
    // taken); --nats-port 0: every port a free one. --api-port likewise for the Mixers (default from the toml).
    const anyNats = options.natsPort === 0 ? 0 : undefined;
    const base = options.natsPort ?? 4222;
    for (let i = 0; i < NODES; i++) {
      const name = `nats-${i + 1}`;
      members.push({
        name,
        client: await pick(name, {
          preferred: base + i,
          what: "client",
          requested: anyNats,
          flag: "--nats-port",
        }),
        route: await pick(name, {
          preferred: 6222 + i,
          what: "routes",
          requested: anyNats,
          flag: "--nats-port",
        }),
        monitor: await pick(name, {
          preferred: 8222 + i,
          what: "monitoring",
          requested: anyNats,
          flag: "--nats-port",
        }),
        dir: join(clusterDir, name),
      });
    }
    const api = splitListen((await loadLabMixerConfig()).api.listen);
    const apiHost = api.host === "0.0.0.0" || api.host === "::" ? HOST : api.host;
    const mixers: LabMixer[] = [];
    for (const [i, member] of MIXERS.entries()) {
      const port = await pick(member, {
        preferred: (options.apiPort || api.port) + i,
        what: "API",
        requested:
          options.apiPort === undefined || options.apiPort === 0 ? options.apiPort : options.apiPort + i,
        flag: "--api-port",
      });
      mixers.push({
        member,
        machineId: i + 1,
        dataDir: join(clusterDir, member),
        apiListen: `${apiHost}:${port}`,
        apiUrl: `http://${apiHost}:${port}`,
      });
    }
    const first = mixers[0]!;
    // Every Mixer and Rack lists every node; the Racks send their telemetry to the first Mixer.
    const run: LabRuntime = {
      ...single,
      natsUrl: members.map((m) => `nats://${HOST}:${m.client}`).join(","),
      apiListen: first.apiListen,
      apiUrl: first.apiUrl,
    };
    await writeLabEnv({
      labDir: layout.dir,
      envFile: layout.envFile,
      binDir: layout.binDir,
      apiUrl: run.apiUrl,
      token: run.token,
      cliBundle: LAB_FILES.cliBundle,
    });

    for (const m of members) {
      await mkdir(m.dir, { recursive: true, mode: 0o700 });
      let include: string | undefined;
      if (options.auth === "jwt") {
        // The first Mixer's data dir holds the bus keys (created here on the first run); each node its own resolver.
        await mkdir(first.dataDir, { recursive: true, mode: 0o700 });
        await runLabNatsConfig({
          run,
          layout,
          dataDir: first.dataDir,
          resolverDir: join(m.dir, "jwt"),
          out: join(m.dir, "auth.conf"),
        });
        include = "auth.conf";
      }
      await writeFile(join(m.dir, "nats-server.conf"), clusterMemberConfig(m, members, include));
    }
    this.#say(
      options.auth === "jwt"
        ? `bus auth: jwt (each member includes its own fluxrig-mixer nats-config block; bootstrap creds ${layout.bootstrapCreds})`
        : "bus auth: none (an open bus)",
    );

    this.#checkpoint();
    for (const m of members) {
      const spec: LaunchSpec = {
        name: m.name,
        command: natsBin,
        args: ["-c", join(m.dir, "nats-server.conf")],
        env: natsEnv(run),
        stopGraceMs: GRACE_MS.nats,
      };
      this.#natsSpecs.set(m.name, spec);
      await this.#launch("nats", spec);
    }
    this.#say(`starting ${NODES} nats-servers: ${members.map((m) => `${m.name} on ${m.client}`).join(", ")}`);
    await Promise.all(this.#of("nats").map((p) => this.#natsReady(p)));
    await this.#waitForMetaLeader(members);

    // The first Mixer creates the Cluster Key on its first start; the others get copies before theirs (an operator
    // copies them the same way, docs/cluster.md).
    for (const [i, mixer] of mixers.entries()) {
      this.#checkpoint();
      if (i > 0) await shareKeyMaterial(first.dataDir, mixer.dataDir, options.auth === "jwt");
      this.#say(
        `starting ${mixer.member} (cluster mode, machine_id ${mixer.machineId}, API ${mixer.apiUrl})`,
      );
      const proc = await this.#launch("mixer", {
        name: mixer.member,
        command: process.execPath,
        args: ["--enable-source-maps", LAB_FILES.mixerBundle, "--config", LAB_FILES.mixerConfig],
        env: clusterMixerEnv(run, mixer),
        stopGraceMs: GRACE_MS.mixer,
      });
      await proc.waitForLine(mixerReady, {
        timeoutMs: MIXER_READY_MS,
        what: '"mixer ready"',
        signal: this.#halt.signal,
      });
    }

    let scenario: string;
    try {
      const applied = await applyScenario({
        apiUrl: first.apiUrl,
        token: run.token,
        file: LAB_FILES.scenario,
      });
      scenario = `${applied.name} v${applied.version} (${applied.action}) through ${first.member}`;
    } catch (error) {
      scenario = `NOT applied: ${(error as Error).message}`;
      this.#say(`the demo scenario was not applied: ${(error as Error).message}`);
    }

    this.#checkpoint();
    const racks = [...LAB_RACKS, ...extraRackNames(options.extraRacks)];
    this.#say(`starting ${racks.length} Racks: ${racks.join(", ")}`);
    for (const name of racks) {
      // Their own state dirs: a Rack of the single-Mixer lab pins that lab's Cluster Key.
      await this.#launch("rack", {
        name,
        command: process.execPath,
        args: ["--enable-source-maps", LAB_FILES.rackBundle, "--config", LAB_FILES.rackConfig],
        env: rackEnv(run, name, join(clusterDir, "racks", name)),
        stopGraceMs: GRACE_MS.rack,
      });
    }
    this.#running = true;

    return [
      "",
      `fluxrig lab --cluster is running (${layout.dir}): ${NODES} nats-servers in one JetStream cluster (sync_interval always), ${MIXERS.length} Mixers in cluster mode, ${racks.length} Racks`,
      "",
      ...members.map(
        (m) =>
          `  ${m.name}    nats://${HOST}:${m.client}   monitoring http://${HOST}:${m.monitor}/jsz   store ${join(m.dir, "store")}`,
      ),
      `  NATS URL   ${run.natsUrl}   (every Mixer and Rack lists every node)`,
      ...mixers.map(
        (m) =>
          `  ${m.member}    API ${m.apiUrl}   console ${m.apiUrl}/   docs ${m.apiUrl}/api/v1/docs   data ${m.dataDir}`,
      ),
      `  Token      ${run.token}   (in ${layout.tokenFile}; both Mixers take it)`,
      `  CLI        source ${layout.envFile}   (points fluxrig at ${first.member})`,
      `  Racks      ${racks.join(", ")}   (state in ${join(clusterDir, "racks")})`,
      `  Scenario   ${scenario}`,
      `  Logs       ${layout.logsDir}/<name>.log   (${[...members.map((m) => m.name), ...MIXERS, racks[0]].join(", ")}, ...)`,
      "",
      "Both Mixers share one registry in JetStream KV (R3), each with its own DuckDB index: ask either API. Try failover:",
      "kill -9 a Mixer's or a member's pid (.lab/lab.lock) and watch the other Mixer answer the hellos and take the lead",
      '("leading" in GET /api/v1/cluster) and /jsz elect new leaders; nothing is restarted in this lab.',
      `Machine ids: the Mixers 1 and 2, the Racks from ${CLUSTER_FIRST_RACK_MACHINE_ID} up.`,
      "Ctrl-C stops the Racks, then the Mixers, then the cluster; everything stays in .lab/cluster/ until --reset.",
      "",
    ];
  }

  untilStopRequested(): Promise<string> {
    return this.#stopRequested;
  }

  requestStop(reason: string): void {
    this.#halt.abort();
    this.#requestStop(reason);
  }

  killAll(): void {
    for (const procs of this.#procs.values()) for (const p of procs) p.kill();
  }

  /** Racks, then the Mixers, then the nats-servers: SIGTERM each, SIGKILL what outlives its grace. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#halt.abort();
      await Promise.all([...this.#heldPorts.values()].flat().map((release) => release()));
      const any = [...this.#procs.values()].some((p) => p.length > 0);
      if (any) this.#say("stopping the lab: Racks, then the Mixers, then the cluster");
      for (const tier of ["rack", "mixer", "nats"] as const) {
        await Promise.all(
          this.#of(tier).map(async (p) => {
            const exit = await p.stop();
            // nats-server shuts down cleanly on SIGTERM, then exits with 1.
            const normal = tier === "nats" && exit.code === 1 ? ", its normal exit after SIGTERM" : "";
            this.#say(
              `  ${p.name} stopped (${describeExit(exit)}${normal}${exit.killed ? ", killed after its grace" : ""})`,
            );
          }),
        );
      }
      await this.#lock?.release();
    })();
    return this.#stopping;
  }

  #of(tier: Tier): LabProcess[] {
    return this.#procs.get(tier) ?? [];
  }

  /** Ends a start that a signal interrupted between two steps. */
  #checkpoint(): void {
    if (this.#halt.signal.aborted) throw new LabWaitError("stopped while starting", "aborted");
  }

  /** Starts a child now, records it in the lock, and reports its exit (a core one while starting fails the lab). */
  async #launch(tier: Tier, spec: LaunchSpec): Promise<LabProcess> {
    await Promise.all((this.#heldPorts.get(spec.name) ?? []).map((release) => release()));
    this.#heldPorts.delete(spec.name);
    const proc = new LabProcess({
      ...spec,
      cwd: REPO_ROOT,
      logFile: logFile(labLayout(this.#options.labDir), spec.name),
    });
    this.#of(tier).push(proc);
    void proc.exited().then((exit) => {
      if (this.#stopping !== undefined || this.#replacing.has(proc)) return;
      const tail = proc.tail(8).map((l) => `    ${l}`);
      this.#say(
        [
          `${proc.name} exited on its own (${describeExit(exit)}); the others keep running. Its log: ${proc.logFile}`,
          ...tail,
        ].join("\n"),
      );
      if (!this.#running && tier !== "rack") {
        this.failure = `${proc.name} exited (${describeExit(exit)})`;
        this.requestStop(this.failure);
      }
    });
    if (proc.pid !== undefined)
      await this.#lock?.recordChild({ name: spec.name, pid: proc.pid, tier: TIER_ORDER[tier] });
    return proc;
  }

  /**
   * Every member names the same JetStream meta leader and counts every member in the meta group, and the leader knows
   * every other member as a peer, not offline (bounded): only then can it place the registry's R3 buckets. Naming a leader
   * is not enough: a member left out of the meta group still names it, and every bucket is then refused with "no
   * suitable peers for placement".
   */
  async #waitForMetaLeader(members: readonly Member[]): Promise<void> {
    let deadline = Date.now() + READY_MS;
    const startedAt = new Map(members.map((m) => [m.name, Date.now()]));
    const rejoins = new Map<string, number>();
    let last = "no answer yet";
    while (Date.now() < deadline) {
      if (this.#halt.signal.aborted) throw new LabWaitError("stopped while starting", "aborted");
      let metas: MetaCluster[] | undefined;
      try {
        metas = await Promise.all(
          members.map(async (m) => {
            const res = await fetch(`http://${HOST}:${m.monitor}/jsz`, {
              signal: AbortSignal.timeout(2_000),
            });
            return ((await res.json()) as { meta_cluster?: MetaCluster }).meta_cluster ?? {};
          }),
        );
      } catch (error) {
        last = (error as Error).message;
      }
      if (metas !== undefined) {
        const problem = metaGroupProblem(members, metas);
        if (problem === undefined) {
          this.#say(`cluster formed: JetStream meta leader ${metas[0]?.leader}`);
          return;
        }
        last = problem;
        for (const name of leftOutOfMetaGroup(members, metas)) {
          const since = Date.now() - (startedAt.get(name) ?? 0);
          const times = rejoins.get(name) ?? 0;
          if (since < REJOIN_MS || times >= MAX_REJOINS) continue;
          rejoins.set(name, times + 1);
          this.#say(
            `${name} is not in the JetStream meta group ${Math.round(since / 1000)} s after its start (${problem}; a nats-server 2.10 route race, docs/cluster.md): starting it again`,
          );
          await this.#restartNats(name);
          startedAt.set(name, Date.now());
          deadline = Math.max(deadline, Date.now() + READY_MS);
        }
      }
      await delay(200);
    }
    throw new LabClusterStartError(
      `the cluster did not form one JetStream meta group of ${members.length} within ${READY_MS} ms (${last})`,
    );
  }

  /** Waits (bounded) for a nats-server's "Server is ready". */
  async #natsReady(proc: LabProcess): Promise<void> {
    await proc.waitForLine((l) => (l.includes("Server is ready") ? true : undefined), {
      timeoutMs: READY_MS,
      what: '"Server is ready"',
      signal: this.#halt.signal,
    });
  }

  /** Stops one nats-server of the start (SIGTERM, its store kept) and starts it again with the same config. */
  async #restartNats(name: string): Promise<void> {
    const procs = this.#of("nats");
    const old = procs.find((p) => p.name === name);
    const spec = this.#natsSpecs.get(name);
    if (old === undefined || spec === undefined) return;
    this.#replacing.add(old);
    await old.stop();
    procs.splice(procs.indexOf(old), 1);
    this.#checkpoint();
    await this.#natsReady(await this.#launch("nats", spec));
  }
}

/** What a member's `/jsz` says of the JetStream meta group (`replicas` only on the leader). */
export interface MetaCluster {
  leader?: string;
  cluster_size?: number;
  replicas?: Array<{ name?: string; offline?: boolean }>;
}

/**
 * The members the meta leader all others name does not know as peers (not in its `/jsz` replicas, or offline): the
 * ones to start again when they stay out. None while the members disagree on the leader.
 */
export function leftOutOfMetaGroup(
  members: readonly { name: string }[],
  metas: readonly MetaCluster[],
): string[] {
  const leader = metas[0]?.leader ?? "";
  if (leader === "" || !metas.every((m) => m.leader === leader)) return [];
  // `replicas` is left out of the leader's /jsz when it knows no peer at all.
  const peers = metas[members.findIndex((m) => m.name === leader)]?.replicas ?? [];
  return members
    .filter((m) => m.name !== leader && !peers.some((p) => p.name === m.name && p.offline !== true))
    .map((m) => m.name);
}

/** Why the members' views (`metas[i]` is `members[i]`'s) are not yet one meta group of them all, or undefined. */
export function metaGroupProblem(
  members: readonly { name: string }[],
  metas: readonly MetaCluster[],
): string | undefined {
  const leaders = metas.map((m) => m.leader ?? "");
  if (!leaders.every((l) => l !== "" && l === leaders[0]))
    return `meta leaders seen: ${leaders.map((l) => l || "none").join(", ")}`;
  const small = members.filter((_, i) => metas[i]?.cluster_size !== members.length);
  if (small.length > 0)
    return `meta group sizes seen: ${metas.map((m, i) => `${members[i]?.name} ${m.cluster_size ?? "?"}`).join(", ")}`;
  const absent = leftOutOfMetaGroup(members, metas);
  if (absent.length > 0) return `meta leader ${leaders[0]} does not know peers ${absent.join(", ")}`;
  return undefined;
}

/**
 * Copies the first Mixer's Cluster Key (and, on the JWT bus, its bus key store) into another Mixer's data dir where
 * absent, keeping their modes (0600 keys, 0700 folder): every Mixer of a cluster signs with the same keys.
 */
export async function shareKeyMaterial(from: string, to: string, busKeys: boolean): Promise<void> {
  await mkdir(to, { recursive: true, mode: 0o700 });
  const items = [CLUSTER_KEY_FILE, CLUSTER_PUBLIC_KEY_FILE, ...(busKeys ? [BUS_KEY_DIR] : [])];
  for (const item of items) {
    // Not a file in the making: the first Mixer may be rewriting one (`.<name>.<pid>.<rand>.tmp`, then a rename) while
    // this copies, and the temp file is gone by the time it is read (ENOENT, seen in CI).
    await cp(join(from, item), join(to, item), {
      recursive: true,
      force: false,
      errorOnExist: false,
      filter: (src) => !src.endsWith(".tmp"),
    });
  }
}
