// The registry's writes planned in memory on a batch's stage: the same rules as the single-statement store functions.
//
// Each planner checks what rack-writes.ts and rack-status-writes.ts check (names, keys, MachineIDs, the status
// machine, passport serials) against the stage, throws the same typed errors before staging anything, and stages
// the rows and audit events the SQL versions would write. registry-writer.ts commits a whole stage at once.
import { EntityType, nodeEntityId } from "@fluxrig/entity-id";
import { AuditKind } from "./audit-log.js";
import { assertNodeName, assertNonEmpty, assertValidDate } from "./input-checks.js";
import type { RecordNameConflictInput } from "./name-conflicts.js";
import { isLegalTransition, isRackStatus, type RackStatus } from "./rack-status.js";
import type { DeletedRack, DeleteRackOptions, SetStatusOptions } from "./rack-status-writes.js";
import type { InsertRackInput, PassportIssuedInput } from "./rack-writes.js";
import {
  IllegalTransitionError,
  InvalidInputError,
  MachineIdInUseError,
  NameTakenError,
  NotFoundError,
  PublicKeyTakenError,
  StalePassportSerialError,
  UnexpectedStatusError,
} from "./registry-errors.js";
import { FULL_MACHINE_ID_RANGE, type RackAttributes, type RackRecord } from "./registry-records.js";
import type { WriteStage } from "./write-stage.js";

/** The Rack with this entity id in the stage, or {@link NotFoundError}. */
export function stagedRack(stage: WriteStage, entityId: bigint): RackRecord {
  const rack = stage.rack(entityId);
  if (!rack) throw new NotFoundError("rack", entityId.toString());
  return rack;
}

/** Stages a new Rack: MachineID, registry and lifecycle rows, `rack_enrolled` event (as `insertRack`). */
export function planInsertRack(stage: WriteStage, input: InsertRackInput): RackRecord {
  assertNodeName(input.name);
  assertNonEmpty(input.publicKey, "publicKey");
  assertNonEmpty(input.version, "version");
  assertValidDate(input.now, "now");
  if (input.status !== "pending" && input.status !== "active") {
    throw new InvalidInputError("status", `a new Rack is pending or active, not ${String(input.status)}`);
  }
  const claimedKey = input.attributes.public_key;
  if (claimedKey !== undefined && claimedKey !== input.publicKey) {
    throw new InvalidInputError("attributes.public_key", "differs from publicKey");
  }
  const holder = stage.nameHolder(input.name);
  if (holder !== undefined) throw new NameTakenError(input.name, holder);
  const keyHolder = stage.rackByPublicKey(input.publicKey);
  if (keyHolder) throw new PublicKeyTakenError(input.publicKey, keyHolder.entityId, keyHolder.name);

  let machineId: number;
  if (input.machineId === undefined) {
    machineId = stage.allocateMachineId(input.machineIdRange ?? FULL_MACHINE_ID_RANGE, input.now);
  } else {
    if (!Number.isInteger(input.machineId) || input.machineId < 1 || input.machineId > 0xffff) {
      throw new InvalidInputError("machineId", `must be an integer in 1..65535, got ${input.machineId}`);
    }
    const state = stage.machineIdState(input.machineId, input.now.getTime());
    if (state.kind === "live") throw new MachineIdInUseError(input.machineId, state.entityId);
    if (state.kind === "tombstoned") throw new MachineIdInUseError(input.machineId, undefined);
    machineId = input.machineId;
  }
  const entityId = nodeEntityId(EntityType.Rack, machineId);
  const rack: RackRecord = {
    entityId,
    typeId: EntityType.Rack,
    machineId,
    name: input.name,
    status: input.status,
    version: input.version,
    attributes: { ...input.attributes, public_key: input.publicKey } as RackAttributes,
    stats: null,
    lastSeen: input.now,
    lifecycle: {
      publicKey: input.publicKey,
      firstSeen: input.now,
      statusChangedAt: input.now,
      passportSerial: 0,
      passportIssuedAt: null,
      passportExpiresAt: null,
      passportsValidUntil: null,
      lastSource: input.source,
      helloCount: 1,
      flaps: 0,
    },
  };
  stage.markMachineIdLive(machineId, entityId);
  stage.putRack(rack);
  stage.appendAudit({
    at: input.now,
    entityId,
    name: input.name,
    kind: AuditKind.RackEnrolled,
    fromStatus: null,
    toStatus: input.status,
    cause: input.cause,
    actor: input.actor,
    details: { machine_id: machineId, public_key: input.publicKey, source: input.source },
  });
  return rack;
}

/** Stages a status change with its audit event (as `setRackStatus`); the same status is a no-op. */
export function planSetStatus(
  stage: WriteStage,
  entityId: bigint,
  to: RackStatus,
  options: SetStatusOptions,
): RackRecord {
  if (!isRackStatus(to)) throw new InvalidInputError("status", `unknown status ${String(to)}`);
  assertNonEmpty(options.cause, "cause");
  assertNonEmpty(options.actor, "actor");
  assertValidDate(options.now, "now");
  const rack = stagedRack(stage, entityId);
  const from = rack.status;
  if (from === to) return rack;
  if (options.expectFrom !== undefined && options.expectFrom !== from) {
    throw new UnexpectedStatusError(options.expectFrom, from, entityId);
  }
  if (!isLegalTransition(from, to)) throw new IllegalTransitionError(from, to, entityId);
  const cameBack = from === "offline" && to === "active";
  const changed: RackRecord = {
    ...rack,
    status: to,
    lifecycle: {
      ...rack.lifecycle,
      statusChangedAt: options.now,
      flaps: rack.lifecycle.flaps + (cameBack ? 1 : 0),
    },
  };
  stage.putRack(changed);
  stage.appendAudit({
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
  return changed;
}

/** Stages a passport just signed (as `recordPassportIssued`): serials only grow, so does passports_valid_until. */
export function planPassportIssued(
  stage: WriteStage,
  entityId: bigint,
  input: PassportIssuedInput,
): RackRecord {
  assertValidDate(input.issuedAt, "issuedAt");
  assertValidDate(input.expiresAt, "expiresAt");
  if (input.expiresAt.getTime() <= input.issuedAt.getTime()) {
    throw new InvalidInputError("expiresAt", "must be after issuedAt");
  }
  const rack = stagedRack(stage, entityId);
  const current = rack.lifecycle.passportSerial;
  if (!Number.isInteger(input.serial) || input.serial <= current) {
    throw new StalePassportSerialError(entityId, input.serial, current);
  }
  const previous = rack.lifecycle.passportsValidUntil;
  const validUntil =
    previous !== null && previous.getTime() > input.expiresAt.getTime() ? previous : input.expiresAt;
  const recorded: RackRecord = {
    ...rack,
    lifecycle: {
      ...rack.lifecycle,
      passportSerial: input.serial,
      passportIssuedAt: input.issuedAt,
      passportExpiresAt: input.expiresAt,
      passportsValidUntil: validUntil,
    },
  };
  stage.putRack(recorded);
  stage.appendAudit({
    at: input.issuedAt,
    entityId,
    name: rack.name,
    kind: AuditKind.PassportIssued,
    cause: input.cause ?? "passport",
    actor: input.actor ?? "mixer",
    details: {
      serial: input.serial,
      issued_at: input.issuedAt.toISOString(),
      expires_at: input.expiresAt.toISOString(),
    },
  });
  return recorded;
}

/** Stages a deletion with its tombstone and audit event (as `deleteRack`). */
export function planDeleteRack(stage: WriteStage, entityId: bigint, options: DeleteRackOptions): DeletedRack {
  assertNonEmpty(options.cause, "cause");
  assertNonEmpty(options.actor, "actor");
  assertValidDate(options.now, "now");
  const rack = stagedRack(stage, entityId);
  const reusableAfter = rack.lifecycle.passportsValidUntil ?? options.now;
  stage.deleteRack(rack);
  stage.retireMachineId({
    machineId: rack.machineId,
    entityId,
    name: rack.name,
    retiredAt: options.now,
    reusableAfter,
  });
  stage.appendAudit({
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
}

/** Stages new attributes for a pending Rack (immutable once adopted: then the Rack is returned unchanged). */
export function planAttributes(
  stage: WriteStage,
  entityId: bigint,
  attributes: Record<string, unknown>,
): RackRecord {
  const rack = stagedRack(stage, entityId);
  if (rack.status !== "pending") return rack;
  const updated: RackRecord = {
    ...rack,
    attributes: { ...attributes, public_key: rack.lifecycle.publicKey } as RackAttributes,
  };
  stage.putRack(updated);
  return updated;
}

/** Stages one more attempt of a key at a taken name (no audit event: see name-conflicts.ts). */
export function planNameConflict(stage: WriteStage, input: RecordNameConflictInput): void {
  assertNonEmpty(input.name, "name");
  assertNonEmpty(input.claimedPublicKey, "claimedPublicKey");
  assertValidDate(input.now, "now");
  stage.recordConflict({ kind: "record", ...input });
}
