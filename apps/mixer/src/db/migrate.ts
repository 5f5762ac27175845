// Brings a registry database to this binary's schema: each pending migration once, in order, in its own transaction.

import { MigrationError } from "./database-errors.js";
import type { Db } from "./duckdb-database.js";
import { toTimestamp } from "./duckdb-values.js";
import { MIGRATIONS, type Migration } from "./migrations/migration.js";

export interface MigrateOptions {
  /** The migrations to apply (default: all this binary knows); versions must run 1, 2, 3, ... */
  migrations?: readonly Migration[];
  /** Recorded as `applied_at` (default: now). */
  now?: Date;
}

export interface MigrateResult {
  /** Schema version before and after. */
  from: number;
  to: number;
  /** Versions applied by this call, in order (empty when the database was current). */
  applied: number[];
}

const BOOTSTRAP = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TIMESTAMP NOT NULL
)`;

/**
 * Applies every migration the database has not seen. A database whose version is above the newest migration known
 * here (written by a newer Mixer) is refused with {@link MigrationError} and left untouched.
 *
 * @example
 * const db = await openDatabase({ path });
 * const { applied } = await migrate(db); // [1] on a new file, [] afterwards
 */
export async function migrate(db: Db, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  checkOrder(migrations);
  const latest = migrations.at(-1)?.version ?? 0;
  await db.run(BOOTSTRAP);
  const from = await currentVersion(db);
  if (from > latest) {
    throw new MigrationError(
      from,
      `registry database ${db.path} has schema version ${from}, but this fluxrig-mixer knows only up to ${latest}: ` +
        "run the newer Mixer that wrote it, or restore a backup",
    );
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= from) continue;
    await applyOne(db, migration, options.now ?? new Date());
    applied.push(migration.version);
  }
  if (applied.length > 0) await db.resetStatementCache();
  return { from, to: Math.max(from, latest), applied };
}

/** The highest applied version, 0 for a new database. */
export async function currentVersion(db: Db): Promise<number> {
  const result = await db.query("SELECT coalesce(max(version), 0) FROM schema_migrations");
  return Number(result.rows[0]?.[0] ?? 0);
}

async function applyOne(db: Db, migration: Migration, now: Date): Promise<void> {
  try {
    await db.transaction(async () => {
      // Re-read inside the transaction so two callers on one handle cannot apply a version twice.
      if ((await currentVersion(db)) >= migration.version) return;
      for (const statement of migration.statements) await db.run(statement);
      await db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [
        migration.version,
        migration.name,
        toTimestamp(now),
      ]);
    });
  } catch (error) {
    throw new MigrationError(
      migration.version,
      `migration ${migration.version} (${migration.name}) failed and was rolled back: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new MigrationError(
        migration.version,
        `migration list out of order: position ${index + 1} holds version ${migration.version} (${migration.name})`,
      );
    }
  });
}
