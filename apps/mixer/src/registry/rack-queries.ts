// Reads of registry rows: Racks by name or entity id, every Rack and node row (to load the directory), pages, counts.
import { EntityType } from "@fluxrig/entity-id";
import { and, asc, count, eq, gt, inArray, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import { rackLifecycle, registry } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";
import { isRackStatus, RACK_STATUSES, type RackStatus } from "./rack-status.js";
import { InvalidInputError } from "./registry-errors.js";
import {
  type NodeRecord,
  type RackPage,
  type RackRecord,
  toNodeRecord,
  toRackRecord,
} from "./registry-records.js";

export interface ListRacksQuery {
  status?: RackStatus;
  /** Only names starting with this text. */
  namePrefix?: string;
  /** Page size, 1..10000. */
  limit: number;
  /** Keyset cursor: the last name of the previous page (`nextAfter`). */
  after?: string;
}

/** The Rack rows matching `where` (registry joined with its lifecycle; node rows never match). */
async function selectRacks(db: Db, where: SQL | undefined, limit?: number): Promise<RackRecord[]> {
  const query = db.orm
    .select()
    .from(registry)
    .innerJoin(rackLifecycle, eq(registry.entityId, rackLifecycle.entityId))
    .where(where)
    .orderBy(asc(registry.name));
  const rows = await ormQuery(limit === undefined ? query : query.limit(limit));
  return rows.map((row) => toRackRecord(row.registry, row.rack_lifecycle));
}

/** The Rack called `name`; undefined when there is none (the Mixer's and Snake's rows are not Racks). */
export async function getRackByName(db: Db, name: string): Promise<RackRecord | undefined> {
  return (await selectRacks(db, eq(registry.name, name), 1))[0];
}

export async function getRackByEntityId(db: Db, entityId: bigint): Promise<RackRecord | undefined> {
  return (await selectRacks(db, eq(registry.entityId, entityId), 1))[0];
}

/** Every Rack, to load the Mixer's in-memory directory at start. */
export async function loadAllRacks(db: Db): Promise<RackRecord[]> {
  return selectRacks(db, undefined);
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

/** The Mixer's and the Snake Tunnel's rows. */
export async function listNodeRows(db: Db): Promise<NodeRecord[]> {
  const rows = await ormQuery(
    db.orm
      .select()
      .from(registry)
      .where(inArray(registry.typeId, [EntityType.Mixer, EntityType.SnakeTunnel]))
      .orderBy(registry.typeId),
  );
  return rows.map(toNodeRecord);
}
