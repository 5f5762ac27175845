// Group commit for the registry: concurrent writes are planned in memory and committed together in ONE transaction.
//
// A committed DuckDB transaction costs 3-15 ms here (WAL sync) and every statement about 0.6 ms, so one
// transaction per enrollment caps the Mixer at a few dozen per second. The writer queues each write as a plan over
// a stage (write-plans.ts); while one batch commits, the next collects, and it commits as soon as the previous one
// is done. Every caller's promise settles only after its batch commits (the hello reply is sent after that), and
// the in-memory directory, MachineID pool, scenarios, bus revocations and audit chain head move only then. The writer
// alone opens registry transactions and appends to the audit chain: Racks, node rows, tombstones, conflicts,
// scenarios and bus revocations.
import type { Logger } from "pino";
import { DatabaseClosedError } from "../db/database-errors.js";
import type { Db } from "../db/duckdb-database.js";
import { ApiTokenList } from "./api-token-list.js";
import { type AuditHead, readAuditHead } from "./audit-log.js";
import { writeBatch } from "./batch-sql.js";
import { EnrollmentTokenList } from "./enrollment-token-list.js";
import { ExpectedKeyList } from "./expected-key-list.js";
import type { MachineIdPool } from "./machine-id-pool.js";
import type { RackDirectory } from "./rack-directory.js";
import { WriterReentryError } from "./registry-errors.js";
import type { RevocationList } from "./revocation-list.js";
import type { ScenarioCatalog } from "./scenario-catalog.js";
import { committedBase, type StageBase, WriteStage } from "./write-stage.js";

export interface RegistryWriterOptions {
  db: Db;
  directory: RackDirectory;
  pool: MachineIdPool;
  scenarios: ScenarioCatalog;
  /** The bus revocation list (table `bus_revocations`), loaded at start like the directory. */
  revocations: RevocationList;
  /** Named API tokens (table `api_tokens`), loaded at start like the directory; an empty list when absent. */
  apiTokens?: ApiTokenList;
  /** Enrollment tokens (table `enrollment_tokens`), loaded at start like the directory; an empty list when absent. */
  enrollmentTokens?: EnrollmentTokenList;
  /** Expected keys (table `expected_keys`), loaded at start like the directory; an empty list when absent. */
  expectedKeys?: ExpectedKeyList;
  /** Most writes in one transaction (default 1000). */
  maxBatch?: number;
  logger?: Pick<Logger, "warn">;
}

/** Counts of what the writer did, for the Mixer's counters and the benchmark. */
export interface RegistryWriterStats {
  batches: number;
  writes: number;
  largestBatch: number;
  /** Batches that failed as a whole and were retried one write at a time. */
  retriedBatches: number;
  /** Writes moved to the next batch because they reused a key their batch freed. */
  deferredWrites: number;
}

/**
 * What the registry's callers write through: the {@link RegistryWriter} itself (one Mixer), or cluster mode's
 * writer over KV (cluster-registry.ts), which feeds a RegistryWriter as its index.
 */
export interface RegistryWrites {
  /** See {@link RegistryWriter.submit}: the same contract in both modes. */
  submit<T>(plan: (stage: WriteStage) => T): Promise<T>;
  readonly queued: number;
  readonly stats: RegistryWriterStats;
  close(): Promise<void>;
}

interface Pending {
  plan: (stage: WriteStage) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class RegistryWriter implements RegistryWrites {
  readonly #db: Db;
  readonly #directory: RackDirectory;
  readonly #pool: MachineIdPool;
  readonly #scenarios: ScenarioCatalog;
  readonly #revocations: RevocationList;
  readonly #apiTokens: ApiTokenList;
  readonly #enrollmentTokens: EnrollmentTokenList;
  readonly #expectedKeys: ExpectedKeyList;
  readonly #base: StageBase;
  readonly #maxBatch: number;
  readonly #logger: Pick<Logger, "warn"> | undefined;
  readonly #queue: Pending[] = [];
  /** The audit chain's newest event as committed; read from the file by the first batch. */
  #head: AuditHead | undefined;
  #scheduled = false;
  #draining: Promise<void> | undefined;
  /** When the batch now committing started (ms), if one is. */
  #committingSince: number | undefined;
  #closed = false;
  readonly stats: RegistryWriterStats = {
    batches: 0,
    writes: 0,
    largestBatch: 0,
    retriedBatches: 0,
    deferredWrites: 0,
  };

  constructor(options: RegistryWriterOptions) {
    this.#db = options.db;
    this.#directory = options.directory;
    this.#pool = options.pool;
    this.#scenarios = options.scenarios;
    this.#revocations = options.revocations;
    this.#apiTokens = options.apiTokens ?? new ApiTokenList();
    this.#enrollmentTokens = options.enrollmentTokens ?? new EnrollmentTokenList();
    this.#expectedKeys = options.expectedKeys ?? new ExpectedKeyList();
    this.#maxBatch = Math.max(1, options.maxBatch ?? 1000);
    this.#logger = options.logger;
    this.#base = committedBase(
      options.directory,
      options.pool,
      options.scenarios,
      options.revocations,
      this.#apiTokens,
      this.#enrollmentTokens,
      this.#expectedKeys,
    );
  }

  /** The committed registry as a batch is planned on it (the directory, the pool, the lists). */
  get base(): StageBase {
    return this.#base;
  }

  /**
   * What the writer is doing, for an error that says why a write waits: writes queued, how long the batch now
   * committing has taken, and the database's own activity.
   */
  describeActivity(now = Date.now()): string {
    const db = this.#db.activity(now);
    const batch =
      this.#committingSince === undefined
        ? "no batch committing"
        : `a batch committing for ${now - this.#committingSince} ms`;
    const running = db.running ? `, DuckDB running "${db.running.sql}" for ${db.running.ms} ms` : "";
    return `${this.#queue.length} writes queued, ${batch}${running}, ${db.queued} database jobs pending`;
  }

  /** Writes still queued (not yet in a batch). */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Queues a write: `plan` stages it on the batch's stage (throwing refuses it alone, with nothing staged) and
   * returns the caller's result, delivered once the batch has committed. `plan` may run twice (a failed batch is
   * retried one write at a time), so it must not have effects outside the stage.
   */
  submit<T>(plan: (stage: WriteStage) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new DatabaseClosedError(this.#db.path));
    if (this.#db.inTransaction) return Promise.reject(new WriterReentryError());
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ plan, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Commits what is queued and refuses new writes; resolves when the last batch has settled. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#draining || this.#queue.length > 0) {
      if (!this.#draining) this.#draining = this.#drain();
      await this.#draining;
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#draining) return;
    this.#scheduled = true;
    // After the I/O callbacks of this turn: every hello that arrived in the same read joins the first batch.
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#draining) this.#draining = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      // Whatever queued while a batch committed is the next batch: group commit without a timer.
      while (this.#queue.length > 0) {
        const items = this.#queue.splice(0, this.#maxBatch);
        this.#committingSince = Date.now();
        try {
          await this.#commit(items, true);
        } catch (error) {
          // Not a database failure (those are handled inside): a bug. Fail this batch, keep serving the next.
          for (const item of items) item.reject(error);
        } finally {
          this.#committingSince = undefined;
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }

  async #commit(items: Pending[], mayRetry: boolean): Promise<void> {
    const stage = new WriteStage(this.#base);
    const planned: Array<{ item: Pending; result: unknown }> = [];
    const refused: Array<{ item: Pending; error: unknown }> = [];
    const deferred: Pending[] = [];
    for (const item of items) {
      const child = stage.fork();
      try {
        const result = item.plan(child);
        // A key this batch freed (a removed Rack's MachineID, name or key): the write waits for the next batch,
        // where it is planned again over what this one committed (see WriteStage.reusesKeyFreedByParent). The first
        // write of a batch is never deferred, so every batch makes progress.
        if (child.reusesKeyFreedByParent()) {
          deferred.push(item);
          continue;
        }
        child.merge();
        planned.push({ item, result });
      } catch (error) {
        refused.push({ item, error });
      }
    }
    if (deferred.length > 0) {
      this.stats.deferredWrites += deferred.length;
      this.#queue.unshift(...deferred);
    }
    try {
      await this.#commitPlanned(stage, planned, mayRetry);
    } finally {
      // Refusals settle with the batch, not before it: a caller that retries (a name lost to a write of this
      // batch) then sees the committed winner in the directory.
      for (const { item, error } of refused) item.reject(error);
    }
  }

  async #commitPlanned(
    stage: WriteStage,
    planned: Array<{ item: Pending; result: unknown }>,
    mayRetry: boolean,
  ): Promise<void> {
    if (planned.length === 0) return;
    if (!stage.empty) {
      try {
        await this.#db
          .transaction(async () => {
            const head = this.#head === undefined ? await readAuditHead(this.#db) : this.#head;
            const events = await writeBatch(this.#db, stage, this.#base, head, { checked: !mayRetry });
            const last = events.at(-1);
            return last ? { seq: last.seq, hash: last.hash } : head;
          })
          .then((head) => {
            this.#head = head;
          });
      } catch (error) {
        if (mayRetry) {
          // One bad write must not fail its neighbours: each is planned again and committed on its own, in the
          // checked mode that reports the violated constraint by name.
          this.stats.retriedBatches++;
          this.#logger?.warn(
            { err: (error as Error).message, writes: planned.length },
            "registry batch failed; retrying its writes one by one",
          );
          for (const { item } of planned) await this.#commit([item], false);
        } else {
          for (const { item } of planned) item.reject(error);
        }
        return;
      }
      this.#apply(stage);
    }
    this.stats.batches++;
    this.stats.writes += planned.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, planned.length);
    for (const { item, result } of planned) item.resolve(result);
  }

  /**
   * The batch committed: the directory, the MachineID pool, the scenarios and the bus revocations follow, removals
   * first (so a name or key a removed Rack held is free for the Rack that takes it). Presence follows the directory
   * (see RackDirectory.follow).
   */
  #apply(stage: WriteStage): void {
    for (const [entityId, node] of stage.nodes) {
      const previous = this.#directory.node(entityId);
      if (node || !previous) continue;
      this.#directory.removeNode(entityId);
      this.#pool.release(previous.machineId);
    }
    for (const node of stage.nodes.values()) {
      if (!node) continue;
      this.#directory.putNode(node);
      this.#pool.markLive(node.machineId, node.entityId);
    }
    for (const scenario of stage.scenarios.values()) this.#scenarios.put(scenario);
    for (const activation of stage.activations) this.#scenarios.recordActivation(activation);
    for (const [key, record] of stage.revocations) {
      if (record) this.#revocations.put(record);
      else this.#revocations.remove(key);
    }
    for (const [name, record] of stage.apiTokens) {
      if (record) this.#apiTokens.put(record);
      else this.#apiTokens.remove(name);
    }
    for (const [id, record] of stage.enrollmentTokens) {
      if (record) this.#enrollmentTokens.put(record);
      else this.#enrollmentTokens.remove(id);
    }
    for (const [name, record] of stage.expectedKeys) {
      if (record) this.#expectedKeys.put(record);
      else this.#expectedKeys.remove(name);
    }
    for (const entityId of stage.racks.keys()) {
      const previous = this.#directory.rack(entityId);
      if (previous && (stage.deleted.has(entityId) || stage.racks.get(entityId) === null)) {
        this.#directory.remove(entityId);
        this.#pool.release(previous.machineId);
      }
    }
    for (const [machineId, row] of stage.tombstones) {
      if (row) this.#pool.setTombstone(machineId, row.reusableAfter.getTime());
      else this.#pool.clearTombstone(machineId);
    }
    for (const [entityId, after] of stage.racks) {
      if (!after) continue;
      this.#directory.put(after);
      this.#pool.markLive(after.machineId, entityId);
    }
  }
}
