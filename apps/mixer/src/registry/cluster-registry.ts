// Cluster mode's registry (docs/cluster.md): JetStream KV is the source of truth, shared by every Mixer; each Mixer's
// DuckDB and in-memory directory are its index, fed from KV by one mirror.
//
// A write is planned as in one Mixer (the same plans over the same stage, read from this Mixer's index), then
// committed to KV instead of DuckDB: the claims it takes first (a MachineID, a name, a key: `create`, so two Mixers
// can never hold one), then its records by revision, then the claims it lets go, then its audit events on the audit
// stream. Nothing is written to the index here: the mirror reads every bucket and the audit stream in order and hands
// each change to the index's RegistryWriter (the only writer of DuckDB), and a caller's promise settles once the
// mirror has applied the caller's own writes (read-your-writes). A write that finds the index behind KV (another
// Mixer's claim, a newer revision) waits until the mirror has caught up with what it met and is planned again.
import { keyId } from "@fluxrig/passport";
import type { Logger } from "pino";
import { toJsonText } from "../db/duckdb-values.js";
import type { AuditStream } from "../kv/audit-stream.js";
import type { KvChange } from "../kv/kv-bucket.js";
import { KvKeyExistsError, KvRevisionConflictError, KvUnavailableError } from "../kv/kv-errors.js";
import type { RegistryBuckets } from "../kv/registry-buckets.js";
import {
  type ActivationRecord,
  type ApiTokenKvRecord,
  type ClaimRecord,
  decodeAuditMessage,
  decodeLayoutValue,
  type EnrollmentTokenKvRecord,
  type EntityRecord,
  type ExpectedKeyKvRecord,
  fromKeyToken,
  LAYOUT_SCHEMA_VERSION,
  type LayoutBucket,
  type LayoutValue,
  layoutKeys,
  type RevocationKvRecord,
  type ScenarioRecord as ScenarioKvRecord,
} from "../kv/registry-layout.js";
import {
  activationFromKv,
  activationToKv,
  apiTokenFromKv,
  apiTokenToKv,
  enrollmentTokenFromKv,
  enrollmentTokenToKv,
  entityFromKv,
  expectedKeyFromKv,
  expectedKeyToKv,
  liveClaim,
  nodeToKv,
  rackToKv,
  revocationFromKv,
  revocationToKv,
  scenarioFromKv,
  scenarioToKv,
  tombstoneFromKv,
  tombstoneToKv,
} from "./kv-records.js";
import {
  ClusterIndexBehindError,
  ClusterUnavailableError,
  ClusterWriteContendedError,
} from "./registry-errors.js";
import type { RegistryWriter, RegistryWriterStats, RegistryWrites } from "./registry-writer.js";
import { type StageBase, WriteStage } from "./write-stage.js";

/** The buckets the mirror follows into the index (leases are not registry records). */
const MIRRORED: readonly LayoutBucket[] = ["racks", "claims", "scenarios", "access"];
type Followed = LayoutBucket | "audit";

/** A claim whose holder has no record holding it is an orphan (a writer died between claim and record) after this. */
const ORPHAN_AFTER_MS = 30_000;
/** A change known to be in KV and not delivered by the mirror within this long restarts its follower. */
const STALL_MS = 3_000;
/**
 * Between a follower's failed start (its consumer could not be made: an election) and the next: doubling from
 * `first` up to `max`, back to `first` once a follower runs. Kept short: every write waits for the index.
 */
const FOLLOW_PAUSE_MS = { first: 250, max: 1_000 } as const;
/** A round of writes this long is logged with where its time went (an election, the mirror, conflicts). */
const SLOW_ROUND_MS = 2_000;
/** How long a claim met in KV stands in for its holder's record while the index has not applied that yet. */
const CLAIM_SEEN_MS = 60_000;

export interface ClusterRegistryOptions {
  kv: Pick<RegistryBuckets, LayoutBucket>;
  audit: AuditStream;
  /** The index: this Mixer's DuckDB writer. Fed by the mirror, and with the facts this Mixer keeps for itself. */
  index: RegistryWriter;
  /** This Mixer's `[cluster] member`: named on every audit event it appends. */
  member: string;
  logger: Pick<Logger, "info" | "warn" | "error">;
  /** Writes planned in one round (default 256). */
  maxBatch?: number;
  /** Plans of one write before it is refused as contended (default 16). */
  maxAttempts?: number;
  /** How long a caller waits for the mirror to apply its own write (default 30 s). */
  applyTimeoutMs?: number;
}

interface Pending {
  plan: (stage: WriteStage) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  attempts: number;
}

/** One KV operation of a write, in the order they run: claims, records, releases, audit. */
type KvOp =
  | { op: "claim"; key: string; entityId: bigint; clearsTombstone: boolean }
  | { op: "put"; bucket: LayoutBucket; key: string; value: LayoutValue; revision: number | undefined }
  | { op: "delete"; bucket: LayoutBucket; key: string; revision: number }
  | { op: "release"; key: string; entityId: bigint }
  | { op: "retire"; key: string; value: ClaimRecord };

/** The index is behind KV: wait until the mirror has applied these revisions, then plan again. */
class Stale {
  constructor(
    readonly at: Partial<Record<Followed, number>>,
    readonly pauseMs = 0,
  ) {}
}

interface Waiter {
  revision: number;
  resolve: () => void;
}

/** The revision of each followed bucket the index has applied, and who waits for one. */
class Watermark {
  applied = 0;
  readonly #inFlight: number[] = [];
  readonly #done = new Set<number>();
  #waiters: Waiter[] = [];

  submitted(revision: number): void {
    this.#inFlight.push(revision);
  }

  /** A change is in the index (or needed nothing there): the mark moves past every change before it that is too. */
  settled(revision: number): void {
    this.#done.add(revision);
    while (this.#inFlight.length > 0 && this.#done.has(this.#inFlight[0] as number)) {
      const head = this.#inFlight.shift() as number;
      this.#done.delete(head);
      this.applied = Math.max(this.applied, head);
    }
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.revision <= this.applied) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  reached(revision: number): Promise<void> | undefined {
    if (revision <= this.applied) return undefined;
    return new Promise((resolve) => this.#waiters.push({ revision, resolve }));
  }
}

export class ClusterRegistry implements RegistryWrites {
  readonly #o: ClusterRegistryOptions;
  readonly #base: StageBase;
  readonly #queue: Pending[] = [];
  readonly #marks: Record<Followed, Watermark> = {
    racks: new Watermark(),
    claims: new Watermark(),
    scenarios: new Watermark(),
    access: new Watermark(),
    audit: new Watermark(),
  };
  /** `bucket/key` -> the revision of the value the index holds. */
  readonly #revisions = new Map<string, number>();
  /** How to stop each follower now running. */
  readonly #stops = new Map<Followed, () => void>();
  /** The last revision (stream sequence) each follower handed on: where it starts again. */
  readonly #seen: Record<Followed, number> = { racks: 0, claims: 0, scenarios: 0, access: 0, audit: 0 };
  /** The index has been filled from KV once: from here a delivery that waits too long is a stall. */
  #live = false;
  /** When each follower was last started again for a stall (at most once per STALL_MS). */
  readonly #restarted: Record<Followed, number> = { racks: 0, claims: 0, scenarios: 0, access: 0, audit: 0 };
  #scheduled = false;
  #draining: Promise<void> | undefined;
  #closed = false;
  #mirrorFailed: Error | undefined;
  /**
   * MachineIDs this Mixer found claimed in KV by another writer whose record its index does not hold yet:
   * plans read them as taken, so a write that lost one is planned again on another id at once (not on the same one
   * until the winner's record arrives). Each entry ends once the index knows better, or after CLAIM_SEEN_MS.
   */
  readonly #claimedElsewhere = {
    machine: new Map<number, { entityId: bigint; until: number }>(),
  };
  readonly stats: RegistryWriterStats & { conflicts: number; orphanClaimsTaken: number; mirrored: number } = {
    batches: 0,
    writes: 0,
    largestBatch: 0,
    retriedBatches: 0,
    deferredWrites: 0,
    conflicts: 0,
    orphanClaimsTaken: 0,
    mirrored: 0,
  };

  private constructor(options: ClusterRegistryOptions) {
    this.#o = options;
    const index = options.index.base;
    const seen = this.#claimedElsewhere;
    this.#base = {
      ...index,
      machineIdState: (machineId, nowMs) => {
        const state = index.machineIdState(machineId, nowMs);
        const claimed = seen.machine.get(machineId);
        if (claimed === undefined) return state;
        if (state.kind !== "free" || claimed.until <= Date.now()) {
          seen.machine.delete(machineId);
          return state;
        }
        return { kind: "live", entityId: claimed.entityId };
      },
    };
  }

  /**
   * Starts the mirror and resolves once the index holds everything KV held when it started (the index is rebuilt
   * from KV: start it on an empty registry file).
   */
  static async start(options: ClusterRegistryOptions): Promise<ClusterRegistry> {
    const registry = new ClusterRegistry(options);
    await registry.#startMirror();
    return registry;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Starts every follower again after the last change it handed on: called when the Mixer's NATS link is back after
   * a loss. A follower's consumer lived on the server the link was on; left to itself, the client noticed it gone
   * only after 30 to 75 s (the cluster fault test), while writes waited for the index.
   */
  refollow(): void {
    if (this.#closed) return;
    this.#o.logger.info(
      {},
      "KV mirror: the bus link is back; following every bucket again from where it was",
    );
    for (const stop of this.#stops.values()) stop();
  }

  #restartFollower(followed: Followed): void {
    const now = Date.now();
    // Not while the index is first filled: a long replay is not a stall.
    if (this.#closed || !this.#live || now - this.#restarted[followed] < STALL_MS) return;
    this.#restarted[followed] = now;
    this.#o.logger.warn(
      { followed, at: this.#marks[followed].applied },
      `KV mirror: a change KV holds was not delivered within ${STALL_MS} ms; following ${followed} again from where it was`,
    );
    this.#stops.get(followed)?.();
  }

  submit<T>(plan: (stage: WriteStage) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new ClusterIndexBehindError("the registry is closed"));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ plan, resolve: resolve as (value: unknown) => void, reject, attempts: 0 });
      this.#schedule();
    });
  }

  /** Settles what is queued, stops the mirror, and closes the index. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#draining || this.#queue.length > 0) {
      if (!this.#draining) this.#draining = this.#drain();
      await this.#draining;
    }
    for (const stop of this.#stops.values()) stop();
    await this.#o.index.close();
  }

  // ---- the mirror: KV into the index ------------------------------------------------------------------------

  async #startMirror(): Promise<void> {
    const targets = await Promise.all([
      ...MIRRORED.map(async (bucket) => [bucket, await this.#o.kv[bucket].lastRevision()] as const),
      (async () => ["audit", await this.#o.audit.lastSeq()] as const)(),
    ]);
    for (const bucket of MIRRORED) void this.#keepFollowing(bucket);
    void this.#keepFollowing("audit");
    for (const [followed, target] of targets) await this.#caughtUp(followed, target);
    this.#live = true;
  }

  /**
   * Follows one bucket (or the audit stream) for as long as the registry is open: a follower that ends (its
   * consumer lost for good, the connection replaced) starts again after the last change it handed on, so the index
   * misses nothing and takes nothing twice.
   */
  async #keepFollowing(followed: Followed): Promise<void> {
    let pause: number = FOLLOW_PAUSE_MS.first;
    while (!this.#closed) {
      const from = this.#seen[followed] + 1;
      // Stopped on purpose (the link is back, or a known change did not arrive): start again at once.
      let stopped = false;
      try {
        if (followed === "audit") {
          const audit = await this.#o.audit.follow(from);
          this.#stops.set(followed, () => {
            stopped = true;
            audit.stop();
          });
          pause = FOLLOW_PAUSE_MS.first;
          await this.#followAudit(audit.messages);
        } else {
          const watch = await this.#o.kv[followed].watch<unknown>(from > 1 ? { fromRevision: from } : {});
          this.#stops.set(followed, () => {
            stopped = true;
            watch.stop();
          });
          pause = FOLLOW_PAUSE_MS.first;
          for await (const change of watch.changes) {
            this.#seen[followed] = change.revision;
            this.#mirror(followed, change);
          }
        }
      } catch (error) {
        this.#mirrorLost(followed, error);
      }
      if (this.#closed) return;
      const wait = stopped ? 0 : pause;
      this.#o.logger.warn(
        { followed, from: this.#seen[followed] + 1, pause_ms: wait },
        "KV mirror: following again",
      );
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!stopped) pause = Math.min(pause * 2, FOLLOW_PAUSE_MS.max);
    }
  }

  async #followAudit(
    messages: AsyncIterable<{ seq: number; subject: string; value: unknown }>,
  ): Promise<void> {
    const mark = this.#marks.audit;
    for await (const m of messages) {
      this.#seen.audit = m.seq;
      mark.submitted(m.seq);
      let events: ReturnType<typeof decodeAuditMessage>;
      try {
        events = decodeAuditMessage(m.subject, m.value);
      } catch (error) {
        this.#o.logger.error(
          { err: (error as Error).message, seq: m.seq },
          "audit stream: a message this Mixer cannot read is left out of its index",
        );
        mark.settled(m.seq);
        continue;
      }
      this.#o.index
        .submit((stage) => {
          for (const event of events) {
            stage.appendAudit({
              at: new Date(event.at),
              entityId: event.entity_id === null ? null : BigInt(event.entity_id),
              name: event.name,
              kind: event.kind,
              fromStatus: event.from_status,
              toStatus: event.to_status,
              cause: event.cause,
              actor: event.actor,
              details: event.details,
            });
          }
        })
        .catch((error: unknown) => this.#indexFailed("audit", m.subject, error))
        .finally(() => mark.settled(m.seq));
    }
  }

  #mirror(bucket: LayoutBucket, change: KvChange<unknown>): void {
    const mark = this.#marks[bucket];
    mark.submitted(change.revision);
    this.stats.mirrored++;
    const id = `${bucket}/${change.key}`;
    let plan: ((stage: WriteStage) => void) | undefined;
    try {
      plan = this.#replicate(bucket, change);
    } catch (error) {
      this.#o.logger.error(
        { err: (error as Error).message, bucket, key: change.key, revision: change.revision },
        "KV record this Mixer cannot read: left out of its index (upgrade this Mixer if another wrote it)",
      );
    }
    const applied = () => {
      if (change.record === null) this.#revisions.delete(id);
      else this.#revisions.set(id, change.revision);
    };
    if (plan === undefined) {
      applied();
      mark.settled(change.revision);
      return;
    }
    this.#o.index
      .submit(plan)
      .then(applied, (error: unknown) => this.#indexFailed(bucket, change.key, error))
      .finally(() => mark.settled(change.revision));
  }

  /** How one change of KV becomes the index's: a plan that sets the record as KV has it (no rule is judged again). */
  #replicate(bucket: LayoutBucket, change: KvChange<unknown>): ((stage: WriteStage) => void) | undefined {
    const { key } = change;
    const dot = key.indexOf(".");
    const prefix = key.slice(0, dot);
    const rest = key.slice(dot + 1);
    const value = change.record === null ? null : decodeLayoutValue(bucket, key, change.record.value);
    if (bucket === "racks") {
      const entityId = BigInt(rest);
      if (value === null) {
        return (stage) => {
          if (prefix === "rack") {
            const current = stage.rack(entityId);
            if (current) stage.deleteRack(current);
          } else {
            for (const node of stage.nodeRecords()) if (node.entityId === entityId) stage.deleteNode(node);
          }
        };
      }
      const entity = entityFromKv(key, value as EntityRecord);
      if (entity.rack) {
        const rack = entity.rack;
        return (stage) => {
          stage.putRack(rack);
          stage.markMachineIdLive(rack.machineId, rack.entityId);
        };
      }
      const node = entity.node;
      return (stage) => stage.putNode(node);
    }
    if (bucket === "claims") {
      // Names and keys are the records' own: the index knows them from the Racks. A MachineID claim matters here
      // only as a tombstone (a deleted Rack's id held back until its passports expire).
      if (prefix !== "machine") return undefined;
      const machineId = Number(rest);
      const tombstone = value === null ? null : tombstoneFromKv(machineId, value as ClaimRecord);
      if (tombstone) return (stage) => stage.retireMachineId(tombstone);
      // No tombstone (any more): drop the index's, if it has one (a tombstone reads as held at time 0).
      if (this.#base.machineIdState(machineId, 0).kind !== "tombstoned") return undefined;
      return (stage) => stage.deleteTombstone(machineId);
    }
    if (bucket === "scenarios") {
      if (prefix === "scenario") {
        if (value === null) return undefined;
        const scenario = scenarioFromKv(value as ScenarioKvRecord);
        return (stage) => stage.putScenario(scenario);
      }
      if (value === null) return undefined;
      const activation = activationFromKv(value as ActivationRecord);
      return (stage) => {
        if (!stage.scenarioActivations().some((a) => a.seq === activation.seq))
          stage.activations.push(activation);
      };
    }
    // access
    const name = fromKeyToken(rest);
    switch (prefix) {
      case "revocation": {
        const record = value === null ? null : revocationFromKv(value as RevocationKvRecord);
        return (stage) => (record ? stage.putRevocation(record) : stage.deleteRevocation(name));
      }
      case "api_token": {
        const record = value === null ? null : apiTokenFromKv(key, value as ApiTokenKvRecord);
        return (stage) => (record ? stage.putApiToken(record) : stage.deleteApiToken(name));
      }
      case "enrollment_token": {
        const record = value === null ? null : enrollmentTokenFromKv(value as EnrollmentTokenKvRecord);
        return (stage) => (record ? stage.putEnrollmentToken(record) : stage.deleteEnrollmentToken(name));
      }
      case "expected_key": {
        const record = value === null ? null : expectedKeyFromKv(value as ExpectedKeyKvRecord);
        return (stage) => (record ? stage.putExpectedKey(record) : stage.deleteExpectedKey(name));
      }
      default:
        return undefined;
    }
  }

  #indexFailed(bucket: Followed, key: string, error: unknown): void {
    this.#o.logger.error(
      { err: (error as Error).message, bucket, key },
      "the index could not take a change from KV (KV still holds it; restart this Mixer to rebuild its index)",
    );
  }

  #mirrorLost(followed: Followed, error: unknown): void {
    if (this.#closed) return;
    this.#mirrorFailed = error instanceof Error ? error : new Error(String(error));
    this.#o.logger.error({ err: this.#mirrorFailed.message, followed }, "the KV mirror's follower stopped");
  }

  async #caughtUp(followed: Followed, revision: number): Promise<void> {
    const wait = this.#marks[followed].reached(revision);
    if (wait === undefined) return;
    const timeoutMs = this.#o.applyTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new ClusterIndexBehindError(
            `the index did not reach ${followed} revision ${revision} within ${timeoutMs} ms (at ${this.#marks[followed].applied}, the mirror handed on ${this.#seen[followed]}; index: ${this.#o.index.describeActivity()})${this.#mirrorFailed ? `: ${this.#mirrorFailed.message}` : ""}`,
          ),
        );
      }, timeoutMs);
    });
    // A change this Mixer knows KV holds, not delivered within STALL_MS: its follower's consumer may be gone without
    // the client noticing yet (its node died while the link stayed up); start that follower again where it was.
    const nudge = setTimeout(() => this.#restartFollower(followed), STALL_MS);
    try {
      await Promise.race([wait, timeout]);
    } finally {
      clearTimeout(timer);
      clearTimeout(nudge);
    }
  }

  // ---- writes: plans into KV --------------------------------------------------------------------------------

  #schedule(): void {
    if (this.#scheduled || this.#draining) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#draining) this.#draining = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const items = this.#queue.splice(0, this.#o.maxBatch ?? 256);
        try {
          await this.#round(items);
        } catch (error) {
          for (const item of items) item.reject(error);
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }

  /** Plans a round of writes over the index, commits each to KV (side by side), and settles or re-queues each. */
  async #round(items: Pending[]): Promise<void> {
    const started = Date.now();
    const stage = new WriteStage(this.#base);
    const taken = new Set<string>();
    const planned: Array<{
      item: Pending;
      result: unknown;
      ops: KvOp[];
      audits: WriteStage["audits"];
      local: WriteStage;
    }> = [];
    const later: Pending[] = [];
    for (const item of items) {
      const child = stage.fork();
      try {
        const result = item.plan(child);
        const ops = this.#opsOf(child);
        const keys = ops.map(opKey);
        // Two writes of one round on one key: the second waits for the next round, planned over the first.
        if (keys.some((k) => taken.has(k))) {
          later.push(item);
          continue;
        }
        for (const k of keys) taken.add(k);
        child.merge();
        planned.push({ item, result, ops, audits: child.audits, local: child });
      } catch (error) {
        item.reject(error);
      }
    }
    this.stats.deferredWrites += later.length;
    const committing = Date.now();
    const outcomes = await Promise.all(
      planned.map(async (p) => {
        try {
          return { p, reached: await this.#commit(p.ops, p.audits) };
        } catch (error) {
          return { p, error };
        }
      }),
    );
    const retry: Pending[] = [];
    const waits: Array<Promise<void>> = [];
    const done: typeof planned = [];
    let noQuorum: KvUnavailableError | undefined;
    const roundReached: Partial<Record<Followed, number>> = {};
    for (const { p, reached, error } of outcomes as Array<{
      p: (typeof planned)[number];
      reached?: Partial<Record<Followed, number>>;
      error?: unknown;
    }>) {
      if (error instanceof Stale) {
        this.stats.conflicts++;
        p.item.attempts++;
        if (p.item.attempts >= (this.#o.maxAttempts ?? 16)) {
          p.item.reject(new ClusterWriteContendedError(p.item.attempts));
          continue;
        }
        waits.push(this.#reach(error.at, error.pauseMs));
        retry.push(p.item);
        continue;
      }
      if (error !== undefined) {
        if (error instanceof KvUnavailableError) noQuorum = error;
        p.item.reject(error);
        continue;
      }
      done.push(p);
      for (const [followed, revision] of Object.entries(reached ?? {}) as Array<[Followed, number]>)
        roundReached[followed] = Math.max(roundReached[followed] ?? 0, revision);
    }
    if (done.length > 0) {
      this.stats.batches++;
      this.stats.writes += done.length;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, done.length);
    }
    // The next round is planned over an index that holds this one's writes, as one Mixer's writer plans over the
    // directory its last batch moved (else it would hand out the same MachineIDs again); the callers read them too.
    let behind: unknown;
    const reaching = Date.now();
    await this.#reach(roundReached).catch((error: unknown) => {
      behind = error;
    });
    const reached = Date.now();
    for (const p of done) {
      if (behind !== undefined) {
        p.item.reject(behind);
        continue;
      }
      // Facts this Mixer keeps for itself (name conflicts it saw at hellos) go to its index alone.
      const conflicts = p.local.conflicts;
      if (conflicts.length === 0) {
        p.item.resolve(p.result);
        continue;
      }
      this.#o.index
        .submit((stage) => {
          for (const c of conflicts) stage.recordConflict(c);
        })
        .then(
          () => p.item.resolve(p.result),
          (e: unknown) => p.item.reject(e),
        );
    }
    await Promise.allSettled(waits);
    const ended = Date.now();
    // Every write queued behind this round waited as long: say where the time went when it is long.
    if (ended - started >= SLOW_ROUND_MS) {
      this.#o.logger.warn(
        {
          ms: ended - started,
          commit_ms: reaching - committing,
          index_ms: reached - reaching,
          replan_wait_ms: ended - reached,
          writes: planned.length,
          conflicts: retry.length,
          refused: planned.length - done.length - retry.length,
          queued: this.#queue.length,
        },
        "KV writes: a slow round",
      );
    }
    if (noQuorum !== undefined) {
      // The KV gave no answer for a whole retry window: every write that queued meanwhile would wait as long again,
      // one round after another (hellos went unanswered past their timeouts). They are refused now, unwritten; the
      // next write to arrive tries again.
      const refused = this.#queue.splice(0);
      for (const item of [...retry, ...later, ...refused]) item.reject(new ClusterUnavailableError(noQuorum));
      return;
    }
    // Re-planned first, ahead of what queued meanwhile, over the index as it now is.
    this.#queue.unshift(...retry, ...later);
  }

  async #reach(at: Partial<Record<Followed, number>>, pauseMs = 0): Promise<void> {
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    // Side by side: a node's death stalls every follower whose consumer lived there, and each one's stall is found
    // STALL_MS after its own wait begins (one after another, three stalled followers held a write 27 s).
    await Promise.all(
      (Object.entries(at) as Array<[Followed, number]>).map(([followed, revision]) =>
        this.#caughtUp(followed, revision),
      ),
    );
  }

  /** What a planned write is in KV, from its stage against the index it was planned on. */
  #opsOf(child: WriteStage): KvOp[] {
    const claims: KvOp[] = [];
    const records: KvOp[] = [];
    const releases: KvOp[] = [];
    const base = this.#base;
    const rev = (bucket: LayoutBucket, key: string) => this.#revisions.get(`${bucket}/${key}`);
    const retiring = new Set<number>();
    const letGo = (machineId: number, entityId: bigint) => {
      const row = child.tombstones.get(machineId);
      if (row) {
        retiring.add(machineId);
        releases.push({ op: "retire", key: layoutKeys.machine(machineId), value: tombstoneToKv(row) });
      } else releases.push({ op: "release", key: layoutKeys.machine(machineId), entityId });
    };
    const claim = (key: string, entityId: bigint, machineId?: number) =>
      claims.push({
        op: "claim",
        key,
        entityId,
        clearsTombstone: machineId !== undefined && child.tombstones.get(machineId) === null,
      });
    for (const [entityId, after] of child.racks) {
      const before = base.rack(entityId);
      const key = layoutKeys.rack(entityId);
      if (after) {
        if (!before || before.machineId !== after.machineId)
          claim(layoutKeys.machine(after.machineId), entityId, after.machineId);
        if (!before || before.name !== after.name) claim(layoutKeys.name(after.name), entityId);
        if (!before || before.lifecycle.publicKey !== after.lifecycle.publicKey)
          claim(layoutKeys.key(keyId(after.lifecycle.publicKey)), entityId);
        records.push({
          op: "put",
          bucket: "racks",
          key,
          value: rackToKv(after),
          revision: rev("racks", key),
        });
        if (before && before.name !== after.name)
          releases.push({ op: "release", key: layoutKeys.name(before.name), entityId });
        if (before && before.lifecycle.publicKey !== after.lifecycle.publicKey)
          releases.push({ op: "release", key: layoutKeys.key(keyId(before.lifecycle.publicKey)), entityId });
        if (before && before.machineId !== after.machineId) letGo(before.machineId, entityId);
      } else if (before) {
        const revision = rev("racks", key);
        if (revision !== undefined) records.push({ op: "delete", bucket: "racks", key, revision });
        releases.push({ op: "release", key: layoutKeys.name(before.name), entityId });
        releases.push({ op: "release", key: layoutKeys.key(keyId(before.lifecycle.publicKey)), entityId });
        letGo(before.machineId, entityId);
      }
    }
    for (const entityId of child.touched) {
      if (child.racks.has(entityId)) continue;
      const current = base.rack(entityId);
      const key = layoutKeys.rack(entityId);
      if (current)
        records.push({
          op: "put",
          bucket: "racks",
          key,
          value: rackToKv(current),
          revision: rev("racks", key),
        });
    }
    const nodesBefore = new Map([...base.nodeRecords()].map((n) => [n.entityId, n]));
    for (const [entityId, after] of child.nodes) {
      const before = nodesBefore.get(entityId);
      const key = layoutKeys.node(entityId);
      if (after) {
        if (!before || before.machineId !== after.machineId)
          claim(layoutKeys.machine(after.machineId), entityId, after.machineId);
        if (!before || before.name !== after.name) claim(layoutKeys.name(after.name), entityId);
        records.push({
          op: "put",
          bucket: "racks",
          key,
          value: nodeToKv(after),
          revision: rev("racks", key),
        });
        if (before && before.name !== after.name)
          releases.push({ op: "release", key: layoutKeys.name(before.name), entityId });
        if (before && before.machineId !== after.machineId)
          releases.push({ op: "release", key: layoutKeys.machine(before.machineId), entityId });
      } else if (before) {
        const revision = rev("racks", key);
        if (revision !== undefined) records.push({ op: "delete", bucket: "racks", key, revision });
        releases.push({ op: "release", key: layoutKeys.name(before.name), entityId });
        releases.push({ op: "release", key: layoutKeys.machine(before.machineId), entityId });
      }
    }
    for (const [machineId, row] of child.tombstones) {
      if (row && !retiring.has(machineId))
        releases.push({ op: "retire", key: layoutKeys.machine(machineId), value: tombstoneToKv(row) });
    }
    for (const scenario of child.scenarios.values()) {
      const key = layoutKeys.scenario(scenario.name);
      records.push({
        op: "put",
        bucket: "scenarios",
        key,
        value: scenarioToKv(scenario),
        revision: rev("scenarios", key),
      });
    }
    for (const activation of child.activations) {
      const key = layoutKeys.activation(activation.seq);
      records.push({
        op: "put",
        bucket: "scenarios",
        key,
        value: activationToKv(activation),
        revision: undefined,
      });
    }
    const access = <R>(
      entries: Map<string, R | null>,
      keyOf: (id: string) => string,
      encode: (record: R) => LayoutValue,
    ) => {
      for (const [id, record] of entries) {
        const key = keyOf(id);
        const revision = rev("access", key);
        if (record) records.push({ op: "put", bucket: "access", key, value: encode(record), revision });
        else if (revision !== undefined) records.push({ op: "delete", bucket: "access", key, revision });
      }
    };
    access(child.revocations, layoutKeys.revocation, revocationToKv);
    access(child.apiTokens, layoutKeys.apiToken, apiTokenToKv);
    access(child.enrollmentTokens, layoutKeys.enrollmentToken, enrollmentTokenToKv);
    access(child.expectedKeys, layoutKeys.expectedKey, expectedKeyToKv);
    return [...claims, ...records, ...releases];
  }

  /** Runs a write's KV operations in order; resolves with the revisions the index must reach before it settles. */
  async #commit(ops: KvOp[], audits: WriteStage["audits"]): Promise<Partial<Record<Followed, number>>> {
    const reached: Partial<Record<Followed, number>> = {};
    const note = (followed: Followed, revision: number) => {
      reached[followed] = Math.max(reached[followed] ?? 0, revision);
    };
    const kv = this.#o.kv;
    // Claims this write created, until one of its records is written: a write refused before that (another Mixer
    // was first) lets them go again, so they do not stand as orphans until ORPHAN_AFTER_MS. One left behind by a stop
    // or a lost link is an orphan the next claimant takes over.
    const created: Array<{ key: string; revision: number }> = [];
    const rollBack = async () => {
      for (const claim of created.reverse())
        await kv.claims.delete(claim.key, claim.revision).catch(() => undefined);
    };
    for (const op of ops) {
      switch (op.op) {
        case "claim": {
          let claim: { revision: number; created: boolean };
          try {
            claim = await this.#claim(op);
          } catch (error) {
            await rollBack();
            throw error;
          }
          if (claim.created) created.push({ key: op.key, revision: claim.revision });
          note("claims", claim.revision);
          break;
        }
        case "put":
        case "delete":
          try {
            await this.#record(op, note);
          } catch (error) {
            await rollBack();
            throw error;
          }
          // A record holds them now.
          created.length = 0;
          break;
        case "release":
        case "retire": {
          // The write itself has landed: a claim left behind is an orphan, which the next claimant takes over.
          try {
            const current = await kv.claims.get<unknown>(op.key);
            if (current === null) break;
            const claim = decodeLayoutValue("claims", op.key, current.value) as ClaimRecord;
            if (op.op === "release") {
              if (claim.retired === null && claim.entity_id === op.entityId.toString())
                note("claims", await kv.claims.delete(op.key, current.revision));
            } else {
              note("claims", (await kv.claims.update(op.key, op.value, current.revision)).revision);
            }
          } catch (error) {
            this.#o.logger.warn(
              { err: (error as Error).message, key: op.key },
              `KV claim not ${op.op === "release" ? "released" : "retired"}; the next claimant takes it over as an orphan`,
            );
          }
          break;
        }
      }
    }
    if (audits.length > 0) {
      const seq = await this.#o.audit.appendLive({
        schema: LAYOUT_SCHEMA_VERSION,
        mixer: this.#o.member,
        events: audits.map((event) => ({
          at: event.at.toISOString(),
          entity_id:
            event.entityId === undefined || event.entityId === null ? null : event.entityId.toString(),
          name: event.name ?? null,
          kind: event.kind,
          from_status: event.fromStatus ?? null,
          to_status: event.toStatus ?? null,
          cause: event.cause,
          actor: event.actor,
          // As the audit log stores them: bigints as decimal strings.
          details:
            event.details === undefined || event.details === null
              ? null
              : (JSON.parse(toJsonText(event.details, "details")) as Record<string, unknown>),
        })),
      });
      note("audit", seq);
    }
    return reached;
  }

  /** Writes or deletes one record by revision; another writer's newer one means the index is behind. */
  async #record(
    op: Extract<KvOp, { op: "put" | "delete" }>,
    note: (followed: Followed, revision: number) => void,
  ): Promise<void> {
    const bucket = this.#o.kv[op.bucket];
    try {
      if (op.op === "delete") {
        note(op.bucket, await bucket.delete(op.key, op.revision));
        return;
      }
      const written =
        op.revision === undefined
          ? await bucket.create(op.key, op.value)
          : await bucket.update(op.key, op.value, op.revision);
      note(op.bucket, written.revision);
    } catch (error) {
      if (error instanceof KvKeyExistsError) throw new Stale({ [op.bucket]: error.revision });
      if (error instanceof KvRevisionConflictError) throw new Stale({ [op.bucket]: error.actual });
      throw error;
    }
  }

  /**
   * Takes a claim: created when free; ours already (an earlier attempt landed); a tombstone this write clears or that
   * has expired; or an orphan (its holder's record does not hold it, for longer than ORPHAN_AFTER_MS). Anything
   * else is another writer's: the index is behind.
   */
  async #claim(op: Extract<KvOp, { op: "claim" }>): Promise<{ revision: number; created: boolean }> {
    const claims = this.#o.kv.claims;
    const kind = op.key.slice(0, op.key.indexOf(".")) as ClaimRecord["kind"];
    const value = liveClaim(kind, op.entityId);
    try {
      return { revision: (await claims.create(op.key, value)).revision, created: true };
    } catch (error) {
      if (!(error instanceof KvKeyExistsError)) throw error;
    }
    const current = await claims.get<unknown>(op.key);
    if (current === null) throw new Stale({}, 50);
    const held = decodeLayoutValue("claims", op.key, current.value) as ClaimRecord;
    // Ours from an earlier plan of this write (a later step of it failed): same holder, written by this Mixer. An
    // entity id alone proves nothing: a Rack's is derived from its MachineID, so two Mixers' plans share it.
    if (
      held.retired === null &&
      held.entity_id === op.entityId.toString() &&
      current.writer === claims.writerId
    )
      return { revision: current.revision, created: false };
    if (held.retired !== null) {
      if (op.clearsTombstone || Date.parse(held.retired.reusable_after) <= Date.now())
        return { revision: await this.#replaceClaim(op.key, value, current.revision), created: false };
      throw new Stale({ claims: current.revision });
    }
    const holderId = BigInt(held.entity_id);
    // A MachineID another writer holds is read as taken by the next plan, which then picks another at once. A name or
    // a key is not: the plan would refuse the Rack (or take it for another), so it waits for the holder's record.
    const noteClaimed = () => {
      if (kind !== "machine") return;
      const until = Date.now() + CLAIM_SEEN_MS;
      this.#claimedElsewhere.machine.set(Number(op.key.slice("machine.".length)), {
        entityId: holderId,
        until,
      });
    };
    const record =
      (await this.#o.kv.racks.get<unknown>(layoutKeys.rack(holderId))) ??
      (await this.#o.kv.racks.get<unknown>(layoutKeys.node(holderId)));
    if (record !== null) {
      const entity = decodeLayoutValue("racks", record.key, record.value) as EntityRecord;
      if (holds(entity, op.key)) {
        // Planned again once the index holds the holder's record: the plan then sees the name or key taken (or, for
        // a Rack that said hello to two Mixers, its own session); a MachineID is read as taken at once.
        noteClaimed();
        throw kind === "machine" ? new Stale({}) : new Stale({ racks: record.revision });
      }
    }
    if (Date.now() - current.created.getTime() < ORPHAN_AFTER_MS) {
      // Its writer may be between the claim and the record: take it as theirs, and look again in a moment.
      noteClaimed();
      throw kind === "machine" ? new Stale({}) : new Stale({ claims: current.revision }, 100);
    }
    this.stats.orphanClaimsTaken++;
    this.#o.logger.warn(
      { key: op.key, holder: held.entity_id, by: op.entityId.toString() },
      "KV claim taken over: its holder's record does not hold it (a writer stopped between claim and record)",
    );
    return { revision: await this.#replaceClaim(op.key, value, current.revision), created: false };
  }

  async #replaceClaim(key: string, value: ClaimRecord, revision: number): Promise<number> {
    try {
      return (await this.#o.kv.claims.update(key, value, revision)).revision;
    } catch (error) {
      if (error instanceof KvRevisionConflictError) throw new Stale({ claims: error.actual });
      throw error;
    }
  }
}

/** Whether an entity's record holds the claim under `key`. */
function holds(entity: EntityRecord, key: string): boolean {
  return (
    layoutKeys.machine(entity.machine_id) === key ||
    layoutKeys.name(entity.name) === key ||
    (entity.lifecycle !== null && layoutKeys.key(entity.lifecycle.key_fingerprint) === key)
  );
}

function opKey(op: KvOp): string {
  return op.op === "claim" || op.op === "release" || op.op === "retire"
    ? `claims/${op.key}`
    : `${op.bucket}/${op.key}`;
}
