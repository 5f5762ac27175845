// The Mixer's own registry rows: the Mixer (type 2) and its Snake Tunnel (type 8), one of each.
//
// MachineIDs are never shared between live rows (SPEC §4), node rows included: the Mixer uses its configured
// `[mixer] machine_id`, and the Snake Tunnel gets its own id, allocated once from the range (the lowest free one,
// so 2 on a fresh registry whose Mixer is 1) and kept on every later start. Racks are allocated around both.
import { EntityType, nodeEntityId } from "@fluxrig/entity-id";
import { eq, inArray } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import type { JsonObject } from "../db/duckdb-values.js";
import { registry } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";
import { AuditKind, appendAudit } from "./audit-log.js";
import { assertNodeName, assertNonEmpty, assertValidDate } from "./input-checks.js";
import { allocateMachineId, assertMachineIdFree } from "./machine-id-allocator.js";
import { InvalidInputError, NameTakenError } from "./registry-errors.js";
import {
  FULL_MACHINE_ID_RANGE,
  type MachineIdRange,
  type NodeRecord,
  toNodeRecord,
} from "./registry-records.js";

interface NodeRowCommon {
  name: string;
  version: string;
  attributes: JsonObject;
  now: Date;
  /** For the audit event (default "mixer"). */
  actor?: string;
}

export type UpsertNodeRowInput =
  | (NodeRowCommon & { typeId: typeof EntityType.Mixer; machineId: number })
  | (NodeRowCommon & {
      typeId: typeof EntityType.SnakeTunnel;
      /** Omit to keep the Snake's current id, or (first start) allocate one from `machineIdRange`. */
      machineId?: number;
      machineIdRange?: MachineIdRange;
    });

/**
 * Writes the Mixer's or the Snake Tunnel's row at start: inserted the first time, refreshed (name, version,
 * attributes, last_seen, status `active`) afterwards. A changed MachineID replaces the old row of that type.
 * Upsert the Mixer first, so the Snake's allocation skips the Mixer's id.
 */
export async function upsertNodeRow(db: Db, input: UpsertNodeRowInput): Promise<NodeRecord> {
  if (input.typeId !== EntityType.Mixer && input.typeId !== EntityType.SnakeTunnel) {
    throw new InvalidInputError("typeId", "node rows are the Mixer (2) or its Snake Tunnel (8)");
  }
  assertNodeName(input.name);
  assertNonEmpty(input.version, "version");
  assertValidDate(input.now, "now");
  return db.transaction(async () => {
    const existing = (await db.orm.select().from(registry).where(eq(registry.typeId, input.typeId))).map(
      toNodeRecord,
    );
    const current = existing[0];
    let machineId = input.machineId ?? current?.machineId;
    if (machineId === undefined) {
      const range =
        (input.typeId === EntityType.SnakeTunnel ? input.machineIdRange : undefined) ?? FULL_MACHINE_ID_RANGE;
      machineId = await allocateMachineId(db, { ...range, now: input.now });
    }
    const entityId = nodeEntityId(input.typeId, machineId);
    const replaced = existing.filter((row) => row.entityId !== entityId);
    if (replaced.length > 0) {
      await db.orm.delete(registry).where(
        inArray(
          registry.entityId,
          replaced.map((row) => row.entityId),
        ),
      );
    }
    const kept = existing.find((row) => row.entityId === entityId);
    if (!kept) await assertMachineIdFree(db, machineId, input.now);
    const [nameHolder] = await db.orm
      .select({ entityId: registry.entityId })
      .from(registry)
      .where(eq(registry.name, input.name));
    if (nameHolder && nameHolder.entityId !== entityId)
      throw new NameTakenError(input.name, nameHolder.entityId);

    const row = {
      entityId,
      typeId: input.typeId,
      machineId,
      name: input.name,
      status: "active",
      version: input.version,
      attributes: input.attributes,
      stats: kept?.stats ?? null,
      lastSeen: input.now,
    };
    if (kept) {
      // Only what can change, and `name` only when it does: DuckDB runs an UPDATE that names an indexed column
      // (name is UNIQUE) as a delete plus an insert, and when that commit fails (disk full) its rollback aborts
      // the whole process with a FATAL "duplicate key" instead of failing the start with the disk's error.
      const changes = {
        status: row.status,
        version: row.version,
        attributes: row.attributes,
        stats: row.stats,
        lastSeen: row.lastSeen,
        ...(kept.name !== row.name ? { name: row.name } : {}),
      };
      await db.orm.update(registry).set(changes).where(eq(registry.entityId, entityId));
    } else {
      await db.orm.insert(registry).values(row);
    }
    if (!kept || kept.name !== input.name || kept.version !== input.version) {
      await appendAudit(db, {
        at: input.now,
        entityId,
        name: input.name,
        kind: AuditKind.NodeRegistered,
        toStatus: "active",
        cause: kept ? "node_updated" : "node_created",
        actor: input.actor ?? "mixer",
        details: {
          type_id: input.typeId,
          machine_id: machineId,
          version: input.version,
          replaced: replaced.map((old) => old.entityId.toString()),
        },
      });
    }
    return toNodeRecord(row);
  });
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
