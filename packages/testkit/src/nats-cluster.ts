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
/**
 * How long after its start a member still unhealthy is taken as cut off and started again. The meta leader hears a
 * live member within a second (one heartbeat a second), and the whole cluster was healthy again at most 8.2 s after a
 * start in 154 waits (p99 5.9 s) with the fault files two at a time on the 2-core machine (load average 13 to 20),
 * while a cut-off member stayed unhealthy for the whole 60 s wait.
 */
export const CUT_OFF_RESTART_MS = 15_000;
/** How many times one `start()` starts a cut-off member again before it fails with what it saw. */
export const CUT_OFF_RESTARTS = 2;

/**
 * A problem of one running member in particular: it knows no meta leader, the meta leader has not heard from it since
 * it started, or its own `/healthz` is not ok.
 */
class MemberUnhealthyError extends TestkitError {
  constructor(
    readonly node: number,
    message: string,
  ) {
    super(message);
  }
}
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
  /** The account that holds the stream ("" when this member has no such stream). */
  account: string;
  /** The stream's Raft group, as `/raftz` names it ("" when this member has no such stream). */
  raftGroup: string;
  /**
   * On the stream leader's entry only: per other replica (server name), how long ago the leader last heard from it in
   * ms (0: never).
   */
  heardAgoMs?: Record<string, number>;
}

/** Options for {@link NatsCluster.waitForSameStreamState}. */
export interface SameStreamStateOptions {
  /** Bound on the whole wait (default {@link SAME_STREAM_STATE_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/**
 * How long every replica of a stream may take to agree after a member is back. The restarted member catches up from
 * the stream leader's snapshot (nats-server 2.10 `processSnapshot`, docs/cluster.md "A member back from a crash"):
 * 7.7 s at worst in 209 follower kills on the loaded machine; a member cut off instead is started again within it.
 */
export const SAME_STREAM_STATE_TIMEOUT_MS = 60_000;

interface JszStreamDetail {
  name: string;
  cluster?: {
    leader?: string;
    raft_group?: string;
    /** On the stream leader: the other replicas, `active` the nanoseconds since it last heard from each (0: never). */
    replicas?: Array<{ name: string; active?: number }>;
  };
  state: { messages: number; bytes: number; first_seq: number; last_seq: number };
}
interface Jsz {
  server_name?: string;
  meta_cluster?: {
    leader?: string;
    cluster_size?: number;
    /**
     * On the meta leader: the other members as peers, `current` once they have caught up, `active` the nanoseconds
     * since the leader last heard from each (0: never).
     */
    replicas?: Array<{ name: string; current?: boolean; offline?: boolean; active?: number }>;
  };
  account_details?: Array<{ name: string; stream_detail?: JszStreamDetail[] }>;
}
/** One Raft group as `/raftz` shows it on one member (the fields a stalled catch-up is told by). */
interface RaftzGroup {
  state?: string;
  leader?: string;
  committed?: number;
  applied?: number;
  pindex?: number;
  catching_up?: boolean;
  paused?: boolean;
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
  /** Members started once more because they were cut off (see {@link start} and {@link waitForSameStreamState}). */
  readonly rejoinRestarts: Array<{ node: number; reason: string }> = [];
  /** Per member: when its current process was started (Date.now()). */
  readonly #upSince: number[];
  #stopped: Promise<void> | undefined;

  private constructor(name: string, nodes: NatsServer[], serverNames: string[], startTimeoutMs: number) {
    this.name = name;
    this.nodes = nodes;
    this.#serverNames = serverNames;
    this.#startTimeoutMs = startTimeoutMs;
    this.#upSince = nodes.map(() => Date.now());
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
   * is healthy again (every running member routed to every other, one meta leader that hears from each). A no-op
   * start if it runs.
   *
   * A member still unhealthy {@link CUT_OFF_RESTART_MS} after it started (it knows no meta leader, the meta leader
   * has not heard from it, or its own `/healthz` is not ok) is cut off: seen with nats-server 2.10.27 after a crash and restart, its Raft
   * groups answering nothing for as long as it ran while its peers' traffic still reached it (docs/cluster.md "A member
   * back from a crash"). nats-server does not mend that by itself, so the member is started once more (SIGTERM, then
   * start), at most {@link CUT_OFF_RESTARTS} times, each listed in {@link rejoinRestarts}.
   */
  async start(node: number): Promise<void> {
    let toStart = node;
    for (let attempt = 0; ; attempt++) {
      const member = this.#node(toStart);
      if (!member.running) {
        const startedAt = Date.now();
        await member.start();
        this.#upSince[toStart] = startedAt;
      }
      if (this.running.length <= this.nodes.length / 2) return;
      // A member back from a crash must catch up with the meta leader before its /healthz is ok: seen taking over
      // 30 s once while the whole suite loaded both cores, so a rejoin gets at least REJOIN_TIMEOUT_MS.
      const cutOff = await this.#waitForHealthy(
        Math.max(this.#startTimeoutMs, REJOIN_TIMEOUT_MS),
        attempt < CUT_OFF_RESTARTS ? { node: toStart, afterMs: CUT_OFF_RESTART_MS } : undefined,
      );
      if (cutOff === undefined) return;
      this.rejoinRestarts.push({ node: cutOff.node, reason: cutOff.reason });
      await this.#node(cutOff.node).stopForNow({ signal: "SIGTERM" });
      toStart = cutOff.node;
    }
  }

  /** `kill(node, signal)` then `start(node)`. */
  async restart(node: number, signal: "SIGKILL" | "SIGTERM" = "SIGTERM"): Promise<void> {
    await this.kill(node, signal);
    await this.start(node);
  }

  /**
   * Waits (bounded) until every running member has a route to every other running member, all of them name the same
   * JetStream meta leader, the meta leader has heard from each since it started, and each answers
   * `/healthz?js-server-only=true` with ok (streams may still be catching up: compare them with
   * {@link waitForSameStreamState}). Rejects with what it last saw.
   */
  async waitForHealthy(timeoutMs = this.#startTimeoutMs): Promise<void> {
    await this.#waitForHealthy(timeoutMs, undefined);
  }

  /**
   * {@link waitForHealthy}; with `cutOff`, it resolves early with member `cutOff.node` when a problem of that member
   * (see {@link MemberUnhealthyError}) still holds `cutOff.afterMs` after the member started (undefined once healthy).
   */
  async #waitForHealthy(
    timeoutMs: number,
    cutOff: { node: number; afterMs: number } | undefined,
  ): Promise<{ node: number; reason: string } | undefined> {
    let lastProblem = "no attempt finished";
    const outcome = await waitFor(
      async () => {
        try {
          await this.#healthy(cutOff?.node);
          return { healthy: true as const };
        } catch (error) {
          lastProblem = (error as Error).message;
          if (
            cutOff !== undefined &&
            error instanceof MemberUnhealthyError &&
            error.node === cutOff.node &&
            Date.now() - this.#upSince[error.node]! >= cutOff.afterMs
          )
            return { healthy: false as const, node: error.node, reason: error.message };
          throw error;
        }
      },
      { timeoutMs, intervalMs: 100, message: `nats cluster ${this.name} healthy` },
    ).catch((error: unknown) => {
      throw new TestkitError(`${(error as Error).message}; last problem: ${lastProblem}`, { cause: error });
    });
    return outcome.healthy ? undefined : { node: outcome.node, reason: outcome.reason };
  }

  /** Throws the first problem seen, one of member `focus` (when given) first. */
  async #healthy(focus?: number): Promise<true> {
    const up = this.running;
    const leaders = new Set<string>();
    // Every member is looked at before one problem is named, so that a member cut off from the meta leader is named
    // as such even while another member's check fails too (its own /healthz, typically).
    const problems: Error[] = [];
    for (const i of up) {
      await this.#memberHealthy(i, up, leaders).catch((error: unknown) => problems.push(error as Error));
    }
    const problem =
      problems.find((p) => p instanceof MemberUnhealthyError && p.node === focus) ??
      problems.find((p) => p instanceof MemberUnhealthyError) ??
      problems[0];
    if (problem !== undefined) throw problem;
    if (leaders.size !== 1) throw new TestkitError(`members disagree on the meta leader: ${[...leaders]}`);
    return true;
  }

  async #memberHealthy(i: number, up: number[], leaders: Set<string>): Promise<void> {
    const others = up.filter((j) => j !== i).map((j) => this.#serverNames[j]!);
    const routez = await this.monitor<Routez>(i, "routez");
    const routed = new Set((routez.routes ?? []).map((r) => r.remote_name));
    const missing = others.filter((o) => !routed.has(o));
    if (missing.length > 0) throw new TestkitError(`node ${i} has no route to ${missing.join(", ")}`);
    const jsz = await this.monitor<Jsz>(i, "jsz");
    const leader = jsz.meta_cluster?.leader ?? "";
    if (leader === "") throw new MemberUnhealthyError(i, `node ${i} knows no JetStream meta leader`);
    leaders.add(leader);
    if (leader === this.#serverNames[i]) {
      // The meta leader places streams only on peers it knows: every other running member, not offline. (Not
      // "current": on a loaded machine a quiet peer can read as behind for a while without being unusable.)
      const known = new Set(
        (jsz.meta_cluster?.replicas ?? []).filter((r) => r.offline !== true).map((r) => r.name),
      );
      const unknown = others.filter((o) => !known.has(o));
      if (unknown.length > 0) throw new TestkitError(`meta leader ${leader} does not know peers ${unknown}`);
      // Every member answers each append entry of the meta leader, heartbeats included (one a second when idle,
      // nats-server raft.go processAppendEntry): a running member it has not heard from since that member started
      // cannot reach it, even when the member itself hears the leader and reads as current.
      const now = Date.now();
      for (const o of others) {
        const j = this.nodeOf(o)!;
        const activeNs = (jsz.meta_cluster?.replicas ?? []).find((r) => r.name === o)?.active ?? 0;
        const heardAgoMs = activeNs / 1e6;
        const upForMs = now - this.#upSince[j]!;
        if (activeNs <= 0 || heardAgoMs >= upForMs)
          throw new MemberUnhealthyError(
            j,
            `meta leader ${leader} has not heard from node ${j} since it started ${upForMs} ms ago`,
          );
      }
    }
    // The server and its JetStream meta layer, not every stream: a restarted member catches up on its streams
    // while the cluster already serves (compare them with streamStates).
    const health = await fetch(`${this.monitorUrl(i)}/healthz?js-server-only=true`, {
      signal: AbortSignal.timeout(MONITOR_TIMEOUT_MS),
    });
    if (!health.ok)
      throw new MemberUnhealthyError(i, `node ${i} /healthz: HTTP ${health.status} ${await health.text()}`);
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
      const found = (jsz.account_details ?? [])
        .flatMap((a) => (a.stream_detail ?? []).map((detail) => ({ account: a.name, detail })))
        .find((s) => s.detail.name === stream);
      const detail = found?.detail;
      out.push({
        node: i,
        serverName: this.#serverNames[i]!,
        messages: detail?.state.messages ?? 0,
        bytes: detail?.state.bytes ?? 0,
        firstSeq: detail?.state.first_seq ?? 0,
        lastSeq: detail?.state.last_seq ?? 0,
        leader: detail?.cluster?.leader ?? "",
        account: found?.account ?? "",
        raftGroup: detail?.cluster?.raft_group ?? "",
        ...(detail?.cluster?.leader === this.#serverNames[i]
          ? {
              heardAgoMs: Object.fromEntries(
                (detail?.cluster?.replicas ?? []).map((r) => [r.name, (r.active ?? 0) / 1e6]),
              ),
            }
          : {}),
      });
    }
    return out;
  }

  /**
   * Waits (bounded) until every member runs and its own `/jsz` shows the same state of `stream`: messages, bytes,
   * first and last sequence. A member back from a crash catches up in the background, so this is how a test knows
   * the replicas agree again. On timeout the error says, per member behind, whether it was still advancing or had
   * stalled (and for how long), when the stream leader last heard from it, its Raft view (`/raftz`: catching up,
   * apply paused, applied/committed) and its last catch-up log lines: a slow catch-up and a stalled one read
   * differently. A replica stalled {@link CUT_OFF_RESTART_MS} or more after its member started, that the stream
   * leader has not heard from since, is cut off: its member is started again as {@link start} does (listed in
   * {@link rejoinRestarts}, at most {@link CUT_OFF_RESTARTS} times per wait).
   */
  async waitForSameStreamState(
    stream: string,
    opts: SameStreamStateOptions = {},
  ): Promise<NodeStreamState[]> {
    const timeoutMs = opts.timeoutMs ?? SAME_STREAM_STATE_TIMEOUT_MS;
    let last: NodeStreamState[] = [];
    /** Per member: its state's fingerprint, when it last changed, and the messages it held then. */
    const progress = new Map<number, ReplicaProgress & { key: string }>();
    let restarts = 0;
    try {
      return await waitFor(
        async () => {
          const states = await this.streamStates(stream);
          last = states;
          const now = Date.now();
          for (const x of states) {
            const key = stateKey(x);
            const seen = progress.get(x.node);
            if (seen === undefined) progress.set(x.node, { key, since: now, history: [[now, x.messages]] });
            else if (seen.key !== key) {
              seen.key = key;
              seen.since = now;
              seen.history.push([now, x.messages]);
            }
          }
          const first = states[0];
          const same = first !== undefined && states.every((x) => stateKey(x) === stateKey(first));
          if (states.length === this.nodes.length && same) return states;
          const cutOff = restarts < CUT_OFF_RESTARTS ? this.#cutOffReplica(states, progress, now) : undefined;
          if (cutOff !== undefined) {
            restarts++;
            this.rejoinRestarts.push(cutOff);
            await this.#node(cutOff.node).stopForNow({ signal: "SIGTERM" });
            progress.delete(cutOff.node);
            await this.start(cutOff.node);
          }
          return false;
        },
        {
          timeoutMs,
          intervalMs: 200,
          message: `every replica of ${stream} at the same state (/jsz per node)`,
        },
      );
    } catch (error) {
      const why = await this.#sameStateDiagnosis(last, progress).catch(
        (e: unknown) => `(no diagnosis: ${(e as Error).message})`,
      );
      throw new TestkitError(`${(error as Error).message}; ${why}`, { cause: error });
    }
  }

  /**
   * A replica that stalled behind its peers while the stream leader has not heard from it since it started
   * {@link CUT_OFF_RESTART_MS} ago or more: cut off one way (docs/cluster.md, "A member back from a crash").
   */
  #cutOffReplica(
    states: NodeStreamState[],
    progress: Map<number, ReplicaProgress>,
    now: number,
  ): { node: number; reason: string } | undefined {
    const leader = states.find((x) => x.heardAgoMs !== undefined);
    if (leader === undefined) return undefined;
    for (const x of states) {
      if (x === leader || stateKey(x) === stateKey(leader)) continue;
      const upForMs = now - this.#upSince[x.node]!;
      const heardAgoMs = leader.heardAgoMs![x.serverName] ?? 0;
      const stalledMs = now - (progress.get(x.node)?.since ?? now);
      if (
        upForMs >= CUT_OFF_RESTART_MS &&
        stalledMs >= STALLED_AFTER_MS &&
        (heardAgoMs <= 0 || heardAgoMs >= upForMs)
      )
        return {
          node: x.node,
          reason: `stream leader node ${leader.node} has not heard from node ${x.node} since it started ${upForMs} ms ago, its replica stalled ${stalledMs} ms at ${x.messages} msgs`,
        };
    }
    return undefined;
  }

  async #sameStateDiagnosis(
    states: NodeStreamState[],
    progress: Map<number, ReplicaProgress>,
  ): Promise<string> {
    if (states.length === 0) return "no member answered";
    const down = this.nodes.flatMap((_, i) => (this.running.includes(i) ? [] : [i]));
    const ahead = states.reduce((a, b) =>
      b.lastSeq > a.lastSeq || (b.lastSeq === a.lastSeq && b.messages > a.messages) ? b : a,
    );
    const now = Date.now();
    const leaderState = states.find((x) => x.heardAgoMs !== undefined);
    const lines = states.map((x) => {
      const state = `node ${x.node}: ${x.messages} msgs, ${x.bytes} B, seq ${x.firstSeq}..${x.lastSeq}, leader ${x.leader || "none"}`;
      if (stateKey(x) === stateKey(ahead)) return state;
      const verdict = catchUpVerdict(progress.get(x.node) ?? { since: now, history: [] }, now);
      const heard = leaderState?.heardAgoMs?.[x.serverName];
      const heardText =
        heard === undefined
          ? ""
          : `, the stream leader last heard from it ${heard > 0 ? `${(heard / 1000).toFixed(1)} s ago` : "never"}`;
      return `${state}: ${ahead.messages - x.messages} msgs behind node ${ahead.node}, ${verdict}${heardText}`;
    });
    const behind = states.filter((x) => stateKey(x) !== stateKey(ahead));
    const raft: string[] = [];
    for (const x of behind) {
      if (x.raftGroup === "" || x.account === "") continue;
      const view = await this.monitor<Record<string, Record<string, RaftzGroup>>>(
        x.node,
        `raftz?acc=${encodeURIComponent(x.account)}&group=${encodeURIComponent(x.raftGroup)}`,
      ).catch(() => undefined);
      const g = view?.[x.account]?.[x.raftGroup];
      if (g !== undefined)
        raft.push(
          `node ${x.node} raft ${x.raftGroup}: ${g.state}, catching up ${g.catching_up === true}, apply paused ${g.paused === true}, applied ${g.applied}/${g.committed} committed, pindex ${g.pindex}`,
        );
      const log = this.#node(x.node)
        .log()
        .split("\n")
        .filter((l) => CATCHUP_LOG.test(l))
        .slice(-12);
      if (log.length > 0) raft.push(`node ${x.node} log (catch-up lines):\n  ${log.join("\n  ")}`);
    }
    return [
      `last seen: ${lines.join("; ")}`,
      ...(down.length > 0 ? [`members not running: ${down.join(", ")}`] : []),
      ...raft,
    ].join("\n");
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

/** A replica's progress while it was waited on: when its state last changed, and its message count at each change. */
export interface ReplicaProgress {
  since: number;
  history: Array<[at: number, messages: number]>;
}

/** How long unchanged a replica behind its peers reads as stalled rather than slow. */
const STALLED_AFTER_MS = 5_000;

/**
 * Whether a replica behind its peers was still catching up or had stalled, from its progress up to `now`: stalled
 * when its state has not changed for {@link STALLED_AFTER_MS}, else what it gained in the last 10 s.
 */
export function catchUpVerdict(p: ReplicaProgress, now: number): string {
  const quietMs = now - p.since;
  if (quietMs >= STALLED_AFTER_MS) return `STALLED: unchanged for the last ${(quietMs / 1000).toFixed(1)} s`;
  const recent = p.history.filter(([at]) => now - at <= 10_000);
  const gained = recent.length > 1 ? recent[recent.length - 1]![1] - recent[0]![1] : 0;
  return `advancing: ${gained} msgs in the last 10 s`;
}

/** What two replicas must share to be the same: messages, bytes, first and last sequence. */
function stateKey(x: NodeStreamState): string {
  return `${x.messages}/${x.bytes}/${x.firstSeq}/${x.lastSeq}`;
}

/** nats-server log lines about a replica's catch-up, its resets and its Raft group. */
const CATCHUP_LOG = /catchup|catching up|stalled|resetting|reset |falling behind|RAFT|snapshot/i;

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(HOST));
  return [...ports];
}
