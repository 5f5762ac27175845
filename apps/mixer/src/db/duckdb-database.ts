// The registry's DuckDB handle: one instance, one connection, and every statement through one queue.
import { AsyncLocalStorage } from "node:async_hooks";
import { resolve } from "node:path";
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from "@duckdb/node-api";
import { drizzle, type PgRemoteDatabase } from "drizzle-orm/pg-proxy";
import {
  DatabaseClosedError,
  DatabaseLockedError,
  DatabaseOpenError,
  QueryFailedError,
} from "./database-errors.js";
import { PreparedStatementCache } from "./prepared-statement-cache.js";
import { SerialQueue } from "./serial-queue.js";
import { unwrapDrizzleError } from "./unwrap-drizzle-error.js";

export interface OpenDatabaseOptions {
  /** The DuckDB file, created when missing (DuckDB keeps a `.wal` beside it), or `:memory:`. */
  path: string;
  /** DuckDB settings for `DuckDBInstance.create`, e.g. `{ threads: "2" }`. */
  config?: Record<string, string>;
  /** How many prepared statements to keep (default 64). */
  statementCacheSize?: number;
}

/** One statement's outcome: column names, rows as arrays of DuckDB values, and how many rows it changed. */
export interface QueryResult {
  columns: string[];
  rows: DuckDBValue[][];
  rowsChanged: number;
}

/** The drizzle database over this handle (pg dialect, `$n` placeholders, which DuckDB accepts). */
export type RegistryOrm = PgRemoteDatabase;

interface TransactionContext {
  /** Statements issued inside the transaction run one at a time on this queue, not on the Db's. */
  queue: SerialQueue;
  open: boolean;
}

/** Files open in this process: DuckDB's file lock is per process, so a second instance here would not be refused. */
const openPaths = new Set<string>();

/**
 * Opens (or creates) the registry database. Fails with {@link DatabaseLockedError} when another process, or
 * another `openDatabase` in this one, holds the file.
 *
 * @example
 * const db = await openDatabase({ path: join(dataDir, "registry.duckdb") });
 * await migrate(db);
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Db> {
  const path = options.path === ":memory:" ? ":memory:" : resolve(options.path);
  const guarded = path !== ":memory:";
  if (guarded) {
    if (openPaths.has(path)) throw new DatabaseLockedError(path, process.pid);
    openPaths.add(path);
  }
  try {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, options.config);
    } catch (error) {
      throw openFailure(path, error);
    }
    try {
      const connection = await instance.connect();
      return new Db({ path, instance, connection, statementCacheSize: options.statementCacheSize ?? 64 });
    } catch (error) {
      instance.closeSync();
      throw new DatabaseOpenError(path, { cause: error });
    }
  } catch (error) {
    if (guarded) openPaths.delete(path);
    throw error;
  }
}

function openFailure(path: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/could not set lock on file/i.test(message)) {
    const pid = /PID (\d+)/.exec(message)?.[1];
    return new DatabaseLockedError(path, pid === undefined ? undefined : Number(pid), { cause: error });
  }
  return new DatabaseOpenError(path, { cause: error });
}

/**
 * A DuckDB instance with ONE connection. Every statement goes through a FIFO queue, and a transaction holds the
 * queue from BEGIN to COMMIT, so concurrent callers never interleave inside one. Statements issued from inside
 * `transaction(fn)` (found through AsyncLocalStorage) join that transaction instead of waiting behind it.
 */
export class Db {
  readonly path: string;
  /** Drizzle over this handle; its statements take the same queue and join the current transaction. */
  readonly orm: RegistryOrm;
  readonly #instance: DuckDBInstance;
  readonly #connection: DuckDBConnection;
  readonly #statements: PreparedStatementCache;
  readonly #queue = new SerialQueue();
  readonly #transactions = new AsyncLocalStorage<TransactionContext>();
  #closing = false;
  #closed = false;
  /** The statement DuckDB runs now, and since when (ms): what a stalled writer waits on. */
  #running: { sql: string; since: number } | undefined;

  constructor(parts: {
    path: string;
    instance: DuckDBInstance;
    connection: DuckDBConnection;
    statementCacheSize: number;
  }) {
    this.path = parts.path;
    this.#instance = parts.instance;
    this.#connection = parts.connection;
    this.#statements = new PreparedStatementCache(parts.connection, parts.statementCacheSize);
    // pg-proxy contract: method "all" wants each row as an array of values in select order (drizzle maps them by
    // position); "execute" returns rows to the caller as they are, so objects keyed by column name are kinder.
    this.orm = drizzle(async (sql: string, params: unknown[], method: "all" | "execute") => {
      // drizzle passes back what our column types' toDriver returned, or plain JS primitives: all DuckDB values.
      const result = await this.query(sql, params as DuckDBValue[]);
      return { rows: method === "all" ? result.rows : rowObjects(result) };
    });
  }

  /** Runs one statement (`$1`, `$2`, ... bind `params`) in the current transaction, or on its own. */
  query(sql: string, params: readonly DuckDBValue[] = []): Promise<QueryResult> {
    return this.#schedule(() => this.#execute(sql, params));
  }

  /** Runs one statement and returns how many rows it changed. */
  async run(sql: string, params: readonly DuckDBValue[] = []): Promise<number> {
    return (await this.query(sql, params)).rowsChanged;
  }

  /**
   * Runs `fn` inside BEGIN ... COMMIT, or ROLLBACK when it throws (the error is rethrown). Called inside another
   * transaction, `fn` simply joins it. Note that in DuckDB a failed statement aborts the whole transaction.
   * Inside `fn`, never await a promise started outside it that queries this Db (another request's work, a timer's):
   * that query waits behind this transaction, which waits for it.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#currentTransaction()) return fn();
    if (this.#closing) return Promise.reject(new DatabaseClosedError(this.path));
    return this.#queue.run(async () => {
      await this.#execute("BEGIN TRANSACTION", []);
      const context: TransactionContext = { queue: new SerialQueue(), open: true };
      let result: T;
      try {
        result = await this.#transactions.run(context, fn);
      } catch (error) {
        // The caller's error is the one worth seeing; a failed ROLLBACK leaves DuckDB to abort the transaction.
        await this.#finish(context, "ROLLBACK").catch(() => undefined);
        throw unwrapDrizzleError(error);
      }
      try {
        await this.#finish(context, "COMMIT");
      } catch (error) {
        await this.#execute("ROLLBACK", []).catch(() => undefined);
        throw error;
      }
      return result;
    });
  }

  /** Whether the caller runs inside a `transaction(fn)` of this handle. */
  get inTransaction(): boolean {
    return this.#currentTransaction() !== undefined;
  }

  /** Exclusive use of the raw connection (e.g. for an appender), in the caller's transaction when there is one. */
  withConnection<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.#schedule(() =>
      this.#tracked("(the raw connection: appenders, batch SQL)", () => fn(this.#connection)),
    );
  }

  /** Writes the WAL into the main file now rather than at DuckDB's own pace. */
  async checkpoint(): Promise<void> {
    await this.query("CHECKPOINT");
  }

  /** Drops cached prepared statements (after DDL, so nothing plans against an old schema). */
  async resetStatementCache(): Promise<void> {
    await this.#schedule(async () => this.#statements.clear());
  }

  /** Lets queued work finish, then closes the connection and the instance; idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await this.#queue.idle();
    this.#statements.clear();
    this.#connection.closeSync();
    this.#instance.closeSync();
    openPaths.delete(this.path);
    this.#closed = true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** What the handle is doing: the statement running (its first 80 characters, and for how long) and jobs waiting. */
  activity(now = Date.now()): { running?: { sql: string; ms: number }; queued: number } {
    const running = this.#running;
    return {
      ...(running ? { running: { sql: running.sql.slice(0, 80), ms: now - running.since } } : {}),
      queued: this.#queue.pending,
    };
  }

  #currentTransaction(): TransactionContext | undefined {
    const context = this.#transactions.getStore();
    return context?.open ? context : undefined;
  }

  #schedule<T>(job: () => Promise<T>): Promise<T> {
    const context = this.#currentTransaction();
    if (context) return context.queue.run(job);
    if (this.#closing) return Promise.reject(new DatabaseClosedError(this.path));
    return this.#queue.run(job);
  }

  async #finish(context: TransactionContext, statement: "COMMIT" | "ROLLBACK"): Promise<void> {
    // Statements fn started but did not await are still part of the transaction: let them land first.
    context.open = false;
    await context.queue.idle();
    await this.#execute(statement, []);
  }

  async #tracked<T>(what: string, job: () => Promise<T>): Promise<T> {
    this.#running = { sql: what, since: Date.now() };
    try {
      return await job();
    } finally {
      this.#running = undefined;
    }
  }

  #execute(sql: string, params: readonly DuckDBValue[]): Promise<QueryResult> {
    return this.#tracked(sql, () => this.#run(sql, params));
  }

  async #run(sql: string, params: readonly DuckDBValue[]): Promise<QueryResult> {
    try {
      let reader: Awaited<ReturnType<DuckDBConnection["runAndReadAll"]>>;
      if (params.length === 0) {
        reader = await this.#connection.runAndReadAll(sql);
      } else {
        const statement = await this.#statements.get(sql);
        statement.bind([...params]);
        reader = await statement.runAndReadAll();
      }
      return { columns: reader.columnNames(), rows: reader.getRows(), rowsChanged: reader.rowsChanged };
    } catch (error) {
      throw new QueryFailedError(sql, { cause: error });
    }
  }
}

function rowObjects(result: QueryResult): Record<string, DuckDBValue>[] {
  return result.rows.map((row) =>
    Object.fromEntries(result.columns.map((column, i) => [column, row[i] ?? null])),
  );
}
