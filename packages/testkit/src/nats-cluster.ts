// A real NATS JetStream cluster per test: N nats-server processes (each a testkit NatsServer with its own store) joined
// by routes on free ports, waited on until every member routes to every other and JetStream has a meta leader.
import type { NatsConnection, NodeConnectionOptions } from "@nats-io/transport-node";
import { connect } from "@nats-io/transport-node";
import type { Started } from "./cleanup-registry.js";
import { NatsServerStartError, TestkitError } from "./errors.js";
import { freePort } from "./free-port.js";
import { NatsServer, type NatsServerOptions } from "./nats-server.js";
import { waitFor } from "./wait-for.js";

const HOST = "127.0.0.1";
const PORT_TAKEN = /address already in use/i;
const START_ATTEMPTS = 3;
/** A monitoring request that takes longer is a member too busy or stopped: that attempt fails, the wait goes on. */
const MONITOR_TIMEOUT_MS = 2_000;
let clusterSerial = 0;

/** Options for {@link startNatsCluster}. */

/** The bound for a restarted member to be routed, agree on the meta leader and be current with it. */
const REJOIN_TIMEOUT_MS = 60_000;
export interface NatsClusterOptions {
  /** Members (default 3). JetStream needs a majority up to elect leaders: 3 tolerates one down. */
  nodes?: number;
  /**
   * JetStream `sync_interval` (default `"always"`, cluster mode's setting: fsync before every acknowledgement). Pass
   * `null` for the server's default (flush every 2 minutes), e.g. to measure what the setting costs.
   */
  syncInterval?: string | null;
  /**
   * Config appended to every member's file, e.g. the JWT block `fluxrig-mixer nats-config` prints; a function gets
   * the member's index, for what must differ per member (a full resolver's `dir`).
   */
  extraConfig?: string | ((node: number) => string);
  /** Bound on every member start and on the cluster becoming healthy (default 30 000 ms). */
  startTimeoutMs?: number;
  debug?: boolean;
  bin?: string;
  /** Passed to each member (default 5000 ms). */
  stopGraceMs?: number;
}

/** What one member's monitoring endpoint says about one stream (`/jsz?streams=true`). */
export interface NodeStreamState {
  node: number;
  serverName: string;
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  /** The stream leader this member knows of ("" while there is none). */
  leader: string;
}

interface JszStreamDetail {
  name: string;
  cluster?: { leader?: string };
  state: { messages: number; bytes: number; first_seq: number; last_seq: number };
}
interface Jsz {
  server_name?: string;
  meta_cluster?: {
    leader?: string;
    cluster_size?: number;
    /** On the meta leader: the other members as peers, `current` once they have caught up. */
    replicas?: Array<{ name: string; current?: boolean; offline?: boolean }>;
  };
  account_details?: Array<{ name: string; stream_detail?: JszStreamDetail[] }>;
}
interface Routez {
  server_name?: string;
  routes?: Array<{ remote_name?: string }>;
}

/**
 * A running cluster that belongs to one test (or file). `await using` it, or call `stop()` in a `finally`. Members
 * are numbered from 0; `kill`, `start` and `restart` keep each member's ports, name and store.
 *
 * @example
 * await using cluster = await startNatsCluster({ nodes: 3 });
 * const nc = await cluster.connect();
 * await cluster.kill(cluster.leaderOf("KV_registry") ?? 0, "SIGKILL");
 */
export class NatsCluster implements AsyncDisposable, Started {
  readonly name: string;
  readonly nodes: readonly NatsServer[];
  readonly #serverNames: readonly string[];
  readonly #startTimeoutMs: number;
  readonly #connections = new Set<NatsConnection>();
  #stopped: Promise<void> | undefined;

  private constructor(name: string, nodes: NatsServer[], serverNames: string[], startTimeoutMs: number) {
    this.name = name;
    this.nodes = nodes;
    this.#serverNames = serverNames;
    this.#startTimeoutMs = startTimeoutMs;
  }

  /** Same as {@link startNatsCluster}. */
  static async launch(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
    const size = opts.nodes ?? 3;
    if (!Number.isInteger(size) || size < 1) {
      throw new TestkitError(`startNatsCluster: nodes must be a positive integer, got ${size}`);
    }
    const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      const name = `testkit-${process.pid}-c${++clusterSerial}`;
      const serverNames = Array.from({ length: size }, (_, i) => `${name}-n${i}`);
      const ports = await distinctFreePorts(size * 3);
      const routePorts = serverNames.map((_, i) => ports[size + i]!);
      const members = serverNames.map((serverName, i) =>
        NatsServer.create(memberOptions(opts, { serverName, i, ports, routePorts, name, startTimeoutMs })),
      );
      const cluster = new NatsCluster(name, members, serverNames, startTimeoutMs);
      try {
        // All at once: each member retries its routes until the others listen.
        const started = await Promise.allSettled(members.map((m) => m.start()));
        const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed) throw failed.reason;
        await cluster.waitForHealthy(
          attempt < START_ATTEMPTS ? Math.min(startTimeoutMs, 20_000) : startTimeoutMs,
        );
        return cluster;
      } catch (error) {
        await cluster.stop();
        const portTaken = error instanceof NatsServerStartError && PORT_TAKEN.test(error.fields.log);
        // A fresh cluster whose meta leader never heard of one member (seen on a loaded 2-core machine, nothing
        // stored yet) is started again from scratch, on new ports and stores: nothing of a test is lost by it.
        const neverFormed = error instanceof TestkitError && /healthy/.test(error.message);
        if ((!portTaken && !neverFormed) || attempt >= START_ATTEMPTS) throw error;
      }
    }
  }

  get label(): string {
    return `nats-cluster:${this.name}`;
  }

  /** Client URLs of every member, up or down: what a client's `servers` list holds. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** The monitoring base URL of member `node` (`/jsz`, `/routez`, `/healthz`). */
  monitorUrl(node: number): string {
    return this.#node(node).monitorUrl!;
  }

  /** The `server_name` of member `node`, as JetStream names leaders and replicas. */
  serverName(node: number): string {
    this.#node(node);
    return this.#serverNames[node]!;
  }

  /** The member index of a server name, or `undefined`. */
  nodeOf(serverName: string): number | undefined {
    const i = this.#serverNames.indexOf(serverName);
    return i < 0 ? undefined : i;
  }

  /** Members whose process runs. */
  get running(): number[] {
    return this.nodes.flatMap((n, i) => (n.running ? [i] : []));
  }

  /** Takes member `node` down (SIGKILL: a crash; SIGTERM: a clean shutdown), keeping its ports and store. */
  async kill(node: number, signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    await this.#node(node).stopForNow({ signal });
  }

  /**
   * Starts member `node` again on its ports and store; then, when a majority of members runs, waits until the cluster
   * is healthy again (every running member routed to every other, one meta leader). A no-op start if it runs.
   */
  async start(node: number): Promise<void> {
    await this.#node(node).start();
    // A member back from a crash must catch up with the meta leader before its /healthz is ok: seen taking over 30 s
    // once while the whole suite loaded both cores, so a rejoin gets at least REJOIN_TIMEOUT_MS.
    if (this.running.length > this.nodes.length / 2) {
      await this.waitForHealthy(Math.max(this.#startTimeoutMs, REJOIN_TIMEOUT_MS));
    }
  }

  /** `kill(node, signal)` then `start(node)`. */
  async restart(node: number, signal: "SIGKILL" | "SIGTERM" = "SIGTERM"): Promise<void> {
    await this.kill(node, signal);
    await this.start(node);
  }

  /**
   * Waits (bounded) until every running member has a route to every other running member, all of them name the same
   * JetStream meta leader, and each answers `/healthz?js-server-only=true` with ok (streams may still be catching up:
   * compare them with {@link streamStates}). Rejects with what it last saw.
   */
  async waitForHealthy(timeoutMs = this.#startTimeoutMs): Promise<void> {
    let lastProblem = "no attempt finished";
    await waitFor(
      async () => {
        try {
          return await this.#healthy();
        } catch (error) {
          lastProblem = (error as Error).message;
          throw error;
        }
      },
      { timeoutMs, intervalMs: 100, message: `nats cluster ${this.name} healthy` },
    ).catch((error: unknown) => {
      throw new TestkitError(`${(error as Error).message}; last problem: ${lastProblem}`, { cause: error });
    });
  }

  async #healthy(): Promise<true> {
    const up = this.running;
    const leaders = new Set<string>();
    for (const i of up) {
      const others = up.filter((j) => j !== i).map((j) => this.#serverNames[j]!);
      const routez = await this.monitor<Routez>(i, "routez");
      const routed = new Set((routez.routes ?? []).map((r) => r.remote_name));
      const missing = others.filter((o) => !routed.has(o));
      if (missing.length > 0) throw new TestkitError(`node ${i} has no route to ${missing.join(", ")}`);
      const jsz = await this.monitor<Jsz>(i, "jsz");
      const leader = jsz.meta_cluster?.leader ?? "";
      if (leader === "") throw new TestkitError(`node ${i} knows no JetStream meta leader`);
      leaders.add(leader);
      if (leader === this.#serverNames[i]) {
        // The meta leader places streams only on peers it knows: every other running member, not offline. (Not
        // "current": on a loaded machine a quiet peer can read as behind for a while without being unusable.)
        const known = new Set(
          (jsz.meta_cluster?.replicas ?? []).filter((r) => r.offline !== true).map((r) => r.name),
        );
        const unknown = others.filter((o) => !known.has(o));
        if (unknown.length > 0)
          throw new TestkitError(`meta leader ${leader} does not know peers ${unknown}`);
      }
      // The server and its JetStream meta layer, not every stream: a restarted member catches up on its streams
      // while the cluster already serves (compare them with streamStates).
      const health = await fetch(`${this.monitorUrl(i)}/healthz?js-server-only=true`, {
        signal: AbortSignal.timeout(MONITOR_TIMEOUT_MS),
      });
      if (!health.ok)
        throw new TestkitError(`node ${i} /healthz: HTTP ${health.status} ${await health.text()}`);
    }
    if (leaders.size !== 1) throw new TestkitError(`members disagree on the meta leader: ${[...leaders]}`);
    return true;
  }

  /** GETs a monitoring endpoint of member `node` as JSON. */
  async monitor<T = Record<string, unknown>>(node: number, endpoint: string): Promise<T> {
    const url = `${this.monitorUrl(node)}/${endpoint.replace(/^\//, "")}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(MONITOR_TIMEOUT_MS) });
    if (!response.ok) throw new TestkitError(`node ${node} GET /${endpoint}: HTTP ${response.status}`);
    return (await response.json()) as T;
  }

  /**
   * One stream's state as each running member stores it (`/jsz?accounts=true&streams=true`), in any account: the
   * way to check replicas against each other. A member that runs but has no such stream is reported with zeros.
   */
  async streamStates(stream: string): Promise<NodeStreamState[]> {
    const out: NodeStreamState[] = [];
    for (const i of this.running) {
      const jsz = await this.monitor<Jsz>(i, "jsz?accounts=true&streams=true");
      const detail = (jsz.account_details ?? [])
        .flatMap((a) => a.stream_detail ?? [])
        .find((s) => s.name === stream);
      out.push({
        node: i,
        serverName: this.#serverNames[i]!,
        messages: detail?.state.messages ?? 0,
        bytes: detail?.state.bytes ?? 0,
        firstSeq: detail?.state.first_seq ?? 0,
        lastSeq: detail?.state.last_seq ?? 0,
        leader: detail?.cluster?.leader ?? "",
      });
    }
    return out;
  }

  /** The member that leads `stream` according to the running members, or `undefined` while none does. */
  async leaderOf(stream: string): Promise<number | undefined> {
    for (const s of await this.streamStates(stream)) {
      if (s.leader !== "") return this.nodeOf(s.leader);
    }
    return undefined;
  }

  /**
   * Waits (bounded) until the running members name a leader of `stream` (other than `not`, when given) and
   * resolves with its member index. Member 0 is a valid answer, so this is not a plain `waitFor(leaderOf)`.
   */
  async waitForLeader(stream: string, opts: { not?: number; timeoutMs?: number } = {}): Promise<number> {
    const found = await waitFor(
      async () => {
        const leader = await this.leaderOf(stream);
        return leader !== undefined && leader !== opts.not ? { leader } : undefined;
      },
      {
        timeoutMs: opts.timeoutMs ?? this.#startTimeoutMs,
        intervalMs: 100,
        message: `a leader of stream ${stream}${opts.not === undefined ? "" : ` other than node ${opts.not}`}`,
      },
    );
    return found.leader;
  }

  /**
   * A client with every member in its server list (closed by `stop()`); it reconnects quickly and forever by
   * default, so it rides over kills and restarts.
   */
  async connect(opts: NodeConnectionOptions = {}): Promise<NatsConnection> {
    const nc = await connect({
      servers: this.urls,
      name: "testkit-cluster",
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
      ...opts,
    });
    this.#connections.add(nc);
    void nc.closed().then(() => this.#connections.delete(nc));
    return nc;
  }

  /** A client of member `node` only (closed by `stop()`). */
  async connectTo(node: number, opts: NodeConnectionOptions = {}): Promise<NatsConnection> {
    return this.connect({ servers: this.#node(node).url, ...opts });
  }

  /** Every member's log, labelled, for failure reports. */
  output(tail?: number): string {
    return this.nodes.map((n, i) => `--- node ${i} (${n.label}) ---\n${n.log(tail)}`).join("\n");
  }

  /** Closes the clients it handed out and stops every member (files removed). Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await Promise.allSettled([...this.#connections].map((nc) => nc.close()));
      await Promise.allSettled(this.nodes.map((n) => n.stop()));
    })();
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  killSync(): void {
    for (const n of this.nodes) n.killSync();
  }

  #node(node: number): NatsServer {
    const n = this.nodes[node];
    if (n === undefined) throw new TestkitError(`no member ${node} in a ${this.nodes.length}-node cluster`);
    return n;
  }
}

/**
 * Starts `nodes` (default 3) nats-servers with JetStream (`sync_interval: always` unless told), each with its own
 * store and free client, route and monitoring ports, routed to each other; resolves once the cluster is healthy
 * (see {@link NatsCluster.waitForHealthy}). Everything started is stopped if it fails.
 *
 * @example
 * await using cluster = await startNatsCluster({ nodes: 3, extraConfig: jwtBlock });
 */
export function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  return NatsCluster.launch(opts);
}

function memberOptions(
  opts: NatsClusterOptions,
  m: {
    serverName: string;
    i: number;
    ports: number[];
    routePorts: number[];
    name: string;
    startTimeoutMs: number;
  },
): NatsServerOptions & { ports: { client: number; monitor: number } } {
  const size = m.routePorts.length;
  return {
    serverName: m.serverName,
    ports: { client: m.ports[m.i]!, monitor: m.ports[2 * size + m.i]! },
    monitor: true,
    cluster: {
      name: m.name,
      port: m.routePorts[m.i]!,
      routes: m.routePorts.filter((_, j) => j !== m.i).map((p) => `nats-route://${HOST}:${p}`),
    },
    ...(opts.syncInterval === null ? {} : { syncInterval: opts.syncInterval ?? "always" }),
    ...(opts.extraConfig === undefined
      ? {}
      : { extraConfig: typeof opts.extraConfig === "string" ? opts.extraConfig : opts.extraConfig(m.i) }),
    ...(opts.debug === undefined ? {} : { debug: opts.debug }),
    ...(opts.bin === undefined ? {} : { bin: opts.bin }),
    ...(opts.stopGraceMs === undefined ? {} : { stopGraceMs: opts.stopGraceMs }),
    startTimeoutMs: m.startTimeoutMs,
  };
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(HOST));
  return [...ports];
}
