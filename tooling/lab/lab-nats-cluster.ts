// `npm run lab -- --cluster`: three nats-servers in one JetStream cluster (cluster mode's foundation, docs/cluster.md),
// each with its own store and (jwt bus) resolver dir under .lab/cluster/, until Ctrl-C. The Mixers join in a later
// step of issue 18; until then this lab runs the cluster alone, for trying failover with `kill -9` and `/jsz`.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { runLabNatsConfig } from "./lab-cluster.js";
import { LAB_FILES, natsEnv, REPO_ROOT } from "./lab-config.js";
import { labLayout, logFile, prepareLayout, rotateLogs, wipeLab } from "./lab-layout.js";
import { LabLock } from "./lab-lock.js";
import { findNatsServer } from "./lab-nats.js";
import type { LabOptions } from "./lab-options.js";
import { choosePort } from "./lab-ports.js";
import { describeExit, LabProcess, LabWaitError } from "./lab-process.js";
import { prepareRuntime } from "./lab-runtime.js";

const NODES = 3;
const READY_MS = 30_000;
const GRACE_MS = 10_000;
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
    `  routes: [${all
      .filter((m) => m !== member)
      .map((m) => JSON.stringify(`nats-route://${HOST}:${m.route}`))
      .join(", ")}]`,
    "}",
    ...(include === undefined ? [] : [`include ${JSON.stringify(include)}`]),
    "",
  ].join("\n");
}

export class LabNatsCluster {
  readonly #options: LabOptions;
  readonly #say: (text: string) => void;
  readonly #halt = new AbortController();
  readonly #procs: LabProcess[] = [];
  readonly #stopRequested: Promise<string>;
  #requestStop: (reason: string) => void = () => {};
  #lock: LabLock | undefined;
  #stopping: Promise<void> | undefined;

  constructor(opts: { options: LabOptions; say: (text: string) => void }) {
    this.#options = opts.options;
    this.#say = opts.say;
    this.#stopRequested = new Promise((resolve) => {
      this.#requestStop = resolve;
    });
  }

  /** Starts the three members, waits until they form a cluster with a JetStream meta leader; returns the banner. */
  async start(): Promise<string[]> {
    const options = this.#options;
    const layout = labLayout(options.labDir);
    const natsBin = findNatsServer();
    if (natsBin === undefined) {
      throw new LabClusterStartError(
        "nats-server is not installed: run without --no-setup, run `bash tooling/nats-server.sh`, or set NATS_SERVER_BIN to a nats-server 2.10+",
      );
    }
    if (options.auth === "jwt" && !existsSync(LAB_FILES.mixerBundle)) {
      throw new LabClusterStartError(`${LAB_FILES.mixerBundle} is missing: run the lab without --no-build`);
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

    const members: Member[] = [];
    const taken: number[] = [];
    // --nats-port P: the members' client ports are P, P+1, P+2 (routes 6222.., monitoring 8222.., free ones when
    // taken); --nats-port 0: every port a free one.
    const any = options.natsPort === 0;
    const base = options.natsPort ?? 4222;
    for (let i = 0; i < NODES; i++) {
      const pick = async (preferred: number, what: string) => {
        const choice = await choosePort({
          host: HOST,
          requested: any ? 0 : undefined,
          preferred,
          what,
          flag: "--nats-port",
          avoid: taken,
        });
        if (choice.note !== undefined) this.#say(choice.note);
        taken.push(choice.port);
        return choice.port;
      };
      const name = `nats-${i + 1}`;
      members.push({
        name,
        client: await pick(base + i, `${name} (client)`),
        route: await pick(6222 + i, `${name} (routes)`),
        monitor: await pick(8222 + i, `${name} (monitoring)`),
        dir: join(layout.dir, "cluster", name),
      });
    }
    for (const m of members) {
      await mkdir(m.dir, { recursive: true, mode: 0o700 });
      let include: string | undefined;
      if (options.auth === "jwt") {
        await runLabNatsConfig({
          run,
          layout,
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

    for (const m of members) {
      const proc = new LabProcess({
        name: m.name,
        command: natsBin,
        args: ["-c", join(m.dir, "nats-server.conf")],
        env: natsEnv(run),
        cwd: REPO_ROOT,
        logFile: logFile(layout, m.name),
        stopGraceMs: GRACE_MS,
      });
      this.#procs.push(proc);
      if (proc.pid !== undefined) await this.#lock.recordChild({ name: m.name, pid: proc.pid, tier: 0 });
      void proc.exited().then((exit) => {
        if (this.#stopping === undefined)
          this.#say(
            `${m.name} exited (${describeExit(exit)}); the others keep running. Its log: ${proc.logFile}`,
          );
      });
    }
    this.#say(`starting ${NODES} nats-servers: ${members.map((m) => `${m.name} on ${m.client}`).join(", ")}`);
    await Promise.all(
      this.#procs.map((p) =>
        p.waitForLine((l) => (l.includes("Server is ready") ? true : undefined), {
          timeoutMs: READY_MS,
          what: '"Server is ready"',
          signal: this.#halt.signal,
        }),
      ),
    );
    await this.#waitForMetaLeader(members);

    const urls = members.map((m) => `nats://${HOST}:${m.client}`).join(",");
    return [
      "",
      `fluxrig lab --cluster: ${NODES} nats-servers in one JetStream cluster (sync_interval always)`,
      ...members.map(
        (m) =>
          `  ${m.name}: nats://${HOST}:${m.client}   monitoring http://${HOST}:${m.monitor}/jsz   log ${logFile(layout, m.name)}`,
      ),
      `  client URL list: ${urls}`,
      "",
      "The Mixers join this cluster in a later step of issue 18 (docs/cluster.md); for the Mixer and Racks today,",
      "run the lab without --cluster. Try failover: kill -9 a member's pid (see .lab/lab.lock) and watch /jsz.",
      "Ctrl-C stops the cluster; its stores stay in .lab/cluster/ until --reset.",
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
    for (const p of this.#procs) p.kill();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#halt.abort();
      if (this.#procs.length > 0) this.#say("stopping the cluster");
      await Promise.all(
        this.#procs.map(async (p) => {
          const exit = await p.stop();
          this.#say(
            `  ${p.name} stopped (${describeExit(exit)}${exit.killed ? ", killed after its grace" : ""})`,
          );
        }),
      );
      await this.#lock?.release();
    })();
    return this.#stopping;
  }

  /** Every member names the same JetStream meta leader (bounded). */
  async #waitForMetaLeader(members: readonly Member[]): Promise<void> {
    const deadline = Date.now() + READY_MS;
    let last = "no answer yet";
    while (Date.now() < deadline) {
      if (this.#halt.signal.aborted) throw new LabWaitError("stopped while starting", "aborted");
      try {
        const leaders = await Promise.all(
          members.map(async (m) => {
            const res = await fetch(`http://${HOST}:${m.monitor}/jsz`, {
              signal: AbortSignal.timeout(2_000),
            });
            const jsz = (await res.json()) as { meta_cluster?: { leader?: string } };
            return jsz.meta_cluster?.leader ?? "";
          }),
        );
        if (leaders.every((l) => l !== "" && l === leaders[0])) {
          this.#say(`cluster formed: JetStream meta leader ${leaders[0]}`);
          return;
        }
        last = `meta leaders seen: ${leaders.map((l) => l || "none").join(", ")}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await delay(200);
    }
    throw new LabClusterStartError(
      `the cluster did not elect a JetStream meta leader within ${READY_MS} ms (${last})`,
    );
  }
}
