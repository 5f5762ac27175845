// Reads of registry rows at start: every Rack and node row, to load the directory (the one reader of the file).
import { EntityType } from "@fluxrig/entity-id";
import { asc, eq, inArray, type SQL } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import { rackLifecycle, registry } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";
import type { RackStatus } from "./rack-status.js";
import { type NodeRecord, type RackRecord, toNodeRecord, toRackRecord } from "./registry-records.js";

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
export async function selectRacks(db: Db, where: SQL | undefined, limit?: number): Promise<RackRecord[]> {
  const query = db.orm
    .select()
    .from(registry)
    .innerJoin(rackLifecycle, eq(registry.entityId, rackLifecycle.entityId))
    .where(where)
    .orderBy(asc(registry.name));
  const rows = await ormQuery(limit === undefined ? query : query.limit(limit));
  return rows.map((row) => toRackRecord(row.registry, row.rack_lifecycle));
}

/** Every Rack, to load the Mixer's in-memory directory at start. */
export async function loadAllRacks(db: Db): Promise<RackRecord[]> {
  return selectRacks(db, undefined);
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
