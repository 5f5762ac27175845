// The registry file read back with SQL: the oracle tests hold the in-memory directory and the writer against. The
// Mixer itself never reads Racks from DuckDB after start (the directory owns them).
import { EntityType } from "@fluxrig/entity-id";
import { and, count, eq, gt, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../src/db/duckdb-database.js";
import { registry } from "../../src/db/schema.js";
import { ormQuery } from "../../src/db/unwrap-drizzle-error.js";
import { type ListRacksQuery, selectRacks } from "../../src/registry/rack-queries.js";
import { isRackStatus, RACK_STATUSES, type RackStatus } from "../../src/registry/rack-status.js";
import { InvalidInputError } from "../../src/registry/registry-errors.js";
import type { RackPage, RackRecord } from "../../src/registry/registry-records.js";

/** The Rack called `name`; undefined when there is none (the Mixer's and Snake's rows are not Racks). */
export async function getRackByName(db: Db, name: string): Promise<RackRecord | undefined> {
  return (await selectRacks(db, eq(registry.name, name), 1))[0];
}

export async function getRackByEntityId(db: Db, entityId: bigint): Promise<RackRecord | undefined> {
  return (await selectRacks(db, eq(registry.entityId, entityId), 1))[0];
}

/** One page of Racks ordered by name; `nextAfter` is set only when another page exists. */
export async function listRacks(db: Db, query: ListRacksQuery): Promise<RackPage> {
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 10_000) {
    throw new InvalidInputError("limit", `must be an integer in 1..10000, got ${query.limit}`);
  }
  const conditions: SQL[] = [];
  if (query.status !== undefined) conditions.push(eq(registry.status, query.status));
  if (query.namePrefix !== undefined && query.namePrefix !== "") {
    conditions.push(sql`starts_with(${registry.name}, ${query.namePrefix})`);
  }
  if (query.after !== undefined) conditions.push(gt(registry.name, query.after));
  // One extra row says whether a next page exists without a second query.
  const rows = await selectRacks(db, and(...conditions), query.limit + 1);
  const racks = rows.slice(0, query.limit);
  const nextAfter = rows.length > query.limit ? (racks.at(-1)?.name ?? null) : null;
  return { racks, nextAfter };
}

/** Number of Racks per status, every status present (0 when none). */
export async function countRacksByStatus(db: Db): Promise<Record<RackStatus, number>> {
  const rows = await ormQuery(
    db.orm
      .select({ status: registry.status, n: count() })
      .from(registry)
      .where(eq(registry.typeId, EntityType.Rack))
      .groupBy(registry.status),
  );
  const counts = Object.fromEntries(RACK_STATUSES.map((status) => [status, 0])) as Record<RackStatus, number>;
  for (const row of rows) {
    if (!isRackStatus(row.status)) throw new TypeError(`a Rack row has unknown status ${row.status}`);
    counts[row.status] = Number(row.n);
  }
  return counts;
}
