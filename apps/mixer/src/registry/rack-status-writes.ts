// Status changes and deletion of Racks: each with its audit event, in one transaction, or nothing at all.
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import { machineIdTombstones, rackLifecycle, registry } from "../db/schema.js";
import { AuditKind, appendAudit } from "./audit-log.js";
import { assertNonEmpty, assertValidDate } from "./input-checks.js";
import { isLegalTransition, isRackStatus, type RackStatus } from "./rack-status.js";
import { requireRack } from "./rack-writes.js";
import { IllegalTransitionError, InvalidInputError, UnexpectedStatusError } from "./registry-errors.js";
import type { RackRecord } from "./registry-records.js";

export interface SetStatusOptions {
  cause: string;
  actor: string;
  details?: object | null;
  now: Date;
  /** Compare-and-set: refuse with {@link UnexpectedStatusError} unless the current status is this one. */
  expectFrom?: RackStatus;
}

/**
 * Moves a Rack to `to` and appends the audit event, in one transaction. Already in `to`: a no-op that returns the
 * row. Refused, with nothing written: a status machine violation ({@link IllegalTransitionError}) or a stale
 * `expectFrom` ({@link UnexpectedStatusError}).
 */
export async function setRackStatus(
  db: Db,
  entityId: bigint,
  to: RackStatus,
  options: SetStatusOptions,
): Promise<RackRecord> {
  if (!isRackStatus(to)) throw new InvalidInputError("status", `unknown status ${String(to)}`);
  assertNonEmpty(options.cause, "cause");
  assertNonEmpty(options.actor, "actor");
  assertValidDate(options.now, "now");
  return db.transaction(async () => {
    const rack = await requireRack(db, entityId);
    const from = rack.status;
    if (from === to) return rack;
    if (options.expectFrom !== undefined && options.expectFrom !== from) {
      throw new UnexpectedStatusError(options.expectFrom, from, entityId);
    }
    if (!isLegalTransition(from, to)) throw new IllegalTransitionError(from, to, entityId);
    const cameBack = from === "offline" && to === "active";
    await db.orm.update(registry).set({ status: to }).where(eq(registry.entityId, entityId));
    await db.orm
      .update(rackLifecycle)
      .set({
        statusChangedAt: options.now,
        ...(cameBack ? { flaps: sql`${rackLifecycle.flaps} + 1` } : {}),
      })
      .where(eq(rackLifecycle.entityId, entityId));
    await appendAudit(db, {
      at: options.now,
      entityId,
      name: rack.name,
      kind: AuditKind.StatusChanged,
      fromStatus: from,
      toStatus: to,
      cause: options.cause,
      actor: options.actor,
      details: options.details ?? null,
    });
    return {
      ...rack,
      status: to,
      lifecycle: {
        ...rack.lifecycle,
        statusChangedAt: options.now,
        flaps: rack.lifecycle.flaps + (cameBack ? 1 : 0),
      },
    };
  });
}

export interface DeleteRackOptions {
  cause: string;
  actor: string;
  now: Date;
}

/** What `deleteRack` removed, and until when its MachineID is held back. */
export interface DeletedRack {
  entityId: bigint;
  name: string;
  machineId: number;
  reusableAfter: Date;
}

/**
 * Removes a Rack (any status): tombstones its MachineID until the last passport naming it has expired (or from
 * now, when it never had one), appends the audit event, and deletes its registry and lifecycle rows; one transaction.
 */
export async function deleteRack(db: Db, entityId: bigint, options: DeleteRackOptions): Promise<DeletedRack> {
  assertNonEmpty(options.cause, "cause");
  assertNonEmpty(options.actor, "actor");
  assertValidDate(options.now, "now");
  return db.transaction(async () => {
    const rack = await requireRack(db, entityId);
    const reusableAfter = rack.lifecycle.passportsValidUntil ?? options.now;
    const tombstone = {
      machineId: rack.machineId,
      entityId,
      name: rack.name,
      retiredAt: options.now,
      reusableAfter,
    };
    await db.orm
      .insert(machineIdTombstones)
      .values(tombstone)
      .onConflictDoUpdate({
        target: machineIdTombstones.machineId,
        set: { entityId, name: rack.name, retiredAt: options.now, reusableAfter },
      });
    await db.orm.delete(rackLifecycle).where(eq(rackLifecycle.entityId, entityId));
    await db.orm.delete(registry).where(eq(registry.entityId, entityId));
    await appendAudit(db, {
      at: options.now,
      entityId,
      name: rack.name,
      kind: AuditKind.RackDeleted,
      fromStatus: rack.status,
      toStatus: null,
      cause: options.cause,
      actor: options.actor,
      details: { machine_id: rack.machineId, reusable_after: reusableAfter.toISOString() },
    });
    return { entityId, name: rack.name, machineId: rack.machineId, reusableAfter };
  });
}
