// Name conflicts: a different key claiming a taken name never takes the row over, but the operator sees each attempt.
import { desc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import { nameConflicts } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";
import { assertNonEmpty, assertValidDate } from "./input-checks.js";

export interface RecordNameConflictInput {
  name: string;
  claimedPublicKey: string;
  /** The row that holds the name now. */
  holderEntityId: bigint | null;
  source: string | null;
  /** What the claiming key's hello reported about its host and its version: used if the name is handed to it. */
  attributes?: Record<string, unknown> | null;
  version?: string | null;
  now: Date;
}

/** One (name, claiming key) pair and how often it tried. */
export interface NameConflict {
  name: string;
  claimedPublicKey: string;
  holderEntityId: bigint | null;
  firstAt: Date;
  lastAt: Date;
  attempts: number;
  lastSource: string | null;
  /** What the latest attempt reported about its host (null for attempts recorded before schema version 2). */
  lastAttributes: Record<string, unknown> | null;
  lastVersion: string | null;
}

/**
 * The most claiming keys remembered per name. A flood of fresh keys at one name (the fuzz suite's hijack property
 * sent 10,000) would otherwise grow the table without bound and slow every later upsert; the operator needs the
 * recent claimants, not all of them. When a new key arrives past the cap, the least recent ones are forgotten.
 */
export const MAX_CONFLICTS_PER_NAME = 32;

/**
 * Counts one more attempt of `claimedPublicKey` at `name` (first_at stays; last_at, last_source, the reported
 * attributes and version, and the holder follow).
 * No audit event: the attempt changes no decision, and a flood of them must not flood the chain. At most
 * MAX_CONFLICTS_PER_NAME keys are kept per name.
 */
export async function recordNameConflict(db: Db, input: RecordNameConflictInput): Promise<NameConflict> {
  assertNonEmpty(input.name, "name");
  assertNonEmpty(input.claimedPublicKey, "claimedPublicKey");
  assertValidDate(input.now, "now");
  const [row] = await ormQuery(
    db.orm
      .insert(nameConflicts)
      .values({
        name: input.name,
        claimedPublicKey: input.claimedPublicKey,
        holderEntityId: input.holderEntityId,
        firstAt: input.now,
        lastAt: input.now,
        attempts: 1,
        lastSource: input.source,
        lastAttributes: input.attributes ?? null,
        lastVersion: input.version ?? null,
      })
      .onConflictDoUpdate({
        target: [nameConflicts.name, nameConflicts.claimedPublicKey],
        set: {
          holderEntityId: input.holderEntityId,
          lastAt: input.now,
          attempts: sql`${nameConflicts.attempts} + 1`,
          lastSource: input.source,
          lastAttributes: input.attributes ?? null,
          lastVersion: input.version ?? null,
        },
      })
      .returning(),
  );
  if (!row) throw new Error("INSERT ... RETURNING gave no row");
  if (row.attempts === 1) {
    // A key not seen before at this name: keep only the most recent claimants.
    await db.run(
      `DELETE FROM name_conflicts WHERE name = $1 AND claimed_public_key IN (
         SELECT claimed_public_key FROM name_conflicts WHERE name = $1
         ORDER BY claimed_public_key = $2 DESC, last_at DESC, claimed_public_key OFFSET ${MAX_CONFLICTS_PER_NAME})`,
      [input.name, input.claimedPublicKey],
    );
  }
  return row;
}

/** Conflicts, newest attempt first; only those for `name` when given. */
export async function listNameConflicts(db: Db, name?: string): Promise<NameConflict[]> {
  return ormQuery(
    db.orm
      .select()
      .from(nameConflicts)
      .where(name === undefined ? undefined : eq(nameConflicts.name, name))
      .orderBy(desc(nameConflicts.lastAt), nameConflicts.name),
  );
}

/** Forgets the conflicts recorded for `name` (e.g. once the operator resolved them); returns how many. */
export async function clearNameConflicts(db: Db, name: string): Promise<number> {
  const removed = await ormQuery(
    db.orm.delete(nameConflicts).where(eq(nameConflicts.name, name)).returning({ name: nameConflicts.name }),
  );
  return removed.length;
}
