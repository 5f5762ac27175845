// Typed failures of the DuckDB handle (open, lock, query, migration, values): no domain rule lives here.
import { MixerError } from "../runtime/errors.js";

/** Base class of every error the database layer throws on purpose. `code` is stable and safe to log. */
export class DatabaseError extends MixerError {
  override readonly name: string = "DatabaseError";
}

/** Another process (or another `openDatabase` in this one) holds the DuckDB file. */
export class DatabaseLockedError extends DatabaseError {
  override readonly name = "DatabaseLockedError";
  constructor(
    readonly path: string,
    /** The pid DuckDB names as the holder, when it says. */
    readonly holderPid: number | undefined,
    options?: { cause?: unknown },
  ) {
    const holder = holderPid === undefined ? "another process" : `process ${holderPid}`;
    super(
      "database_locked",
      `registry database ${path} is locked by ${holder}; stop the other fluxrig-mixer or give this one its own data dir`,
      options,
    );
  }
}

/** The DuckDB file could not be opened for a reason other than a lock (permissions, corruption, ...). */
export class DatabaseOpenError extends DatabaseError {
  override readonly name = "DatabaseOpenError";
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(
      "database_open_failed",
      `cannot open registry database ${path}: ${causeText(options?.cause)}`,
      options,
    );
  }
}

/** A call reached a database handle after `close()`. */
export class DatabaseClosedError extends DatabaseError {
  override readonly name = "DatabaseClosedError";
  constructor(readonly path: string) {
    super("database_closed", `registry database ${path} is closed`);
  }
}

/** DuckDB refused a statement; `sql` says which (parameters are left out: they may hold keys). */
export class QueryFailedError extends DatabaseError {
  override readonly name = "QueryFailedError";
  constructor(
    readonly sql: string,
    options?: { cause?: unknown },
  ) {
    super("query_failed", `query failed: ${causeText(options?.cause)} [${sql.slice(0, 200)}]`, options);
  }
}

/** A migration failed (and was rolled back), or the file was written by a newer Mixer. */
export class MigrationError extends DatabaseError {
  override readonly name = "MigrationError";
  constructor(
    readonly version: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("migration_failed", message, options);
  }
}

/** A value the database cannot store: an invalid Date, or something JSON cannot carry. */
export class UnstorableValueError extends DatabaseError {
  override readonly name = "UnstorableValueError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super("unstorable_value", `${field}: ${reason}`);
  }
}

function causeText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
