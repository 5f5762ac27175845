// Writes that create a Rack or record what it does: enrollment, later hellos, and issued passports.
import { EntityType, nodeEntityId } from "@fluxrig/entity-id";
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import { rackLifecycle, registry } from "../db/schema.js";
import { AuditKind, appendAudit } from "./audit-log.js";
import { assertNodeName, assertNonEmpty, assertValidDate } from "./input-checks.js";
import { allocateMachineId, assertMachineIdFree } from "./machine-id-allocator.js";
import { getRackByEntityId, getRackByPublicKey } from "./rack-queries.js";
import type { InitialRackStatus } from "./rack-status.js";
import {
  InvalidInputError,
  NameTakenError,
  NotFoundError,
  PublicKeyTakenError,
  StalePassportSerialError,
} from "./registry-errors.js";
import { FULL_MACHINE_ID_RANGE, type MachineIdRange, type RackRecord } from "./registry-records.js";

export interface InsertRackInput {
  name: string;
  /** The Rack's Ed25519 public key: its identity. Also written to `attributes.public_key`. */
  publicKey: string;
  /** `pending`, or `active` when adoption is automatic. */
  status: InitialRackStatus;
  version: string;
  /** Hardware facts (hostname, mac, os, arch, ...); a `public_key` here must equal `publicKey`. */
  attributes: Record<string, unknown>;
  /** Where the hello came from, kept in `rack_lifecycle.last_source`. */
  source: string | null;
  cause: string;
  actor: string;
  now: Date;
  /** Allocate from this range (default 1..65535). */
  machineIdRange?: MachineIdRange;
  /** Use exactly this MachineID instead of allocating (it must be free). */
  machineId?: number;
}

/**
 * Creates a Rack: allocates its MachineID, writes the registry row, its lifecycle row and an audit event in one
 * transaction. Refuses a taken name or key ({@link NameTakenError}, {@link PublicKeyTakenError}) and a full range
 * ({@link RegistryFullError}), writing nothing.
 */
export async function insertRack(db: Db, input: InsertRackInput): Promise<RackRecord> {
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
  const attributes = { ...input.attributes, public_key: input.publicKey };
  return db.transaction(async () => {
    const [holder] = await db.orm
      .select({ entityId: registry.entityId })
      .from(registry)
      .where(eq(registry.name, input.name))
      .limit(1);
    if (holder) throw new NameTakenError(input.name, holder.entityId);
    const keyHolder = await getRackByPublicKey(db, input.publicKey);
    if (keyHolder) throw new PublicKeyTakenError(input.publicKey, keyHolder.entityId, keyHolder.name);

    let machineId: number;
    if (input.machineId === undefined) {
      machineId = await allocateMachineId(db, {
        ...(input.machineIdRange ?? FULL_MACHINE_ID_RANGE),
        now: input.now,
      });
    } else {
      await assertMachineIdFree(db, input.machineId, input.now);
      machineId = input.machineId;
    }
    const entityId = nodeEntityId(EntityType.Rack, machineId);
    const row = {
      entityId,
      typeId: EntityType.Rack,
      machineId,
      name: input.name,
      status: input.status,
      version: input.version,
      attributes,
      stats: null,
      lastSeen: input.now,
    };
    const lifecycle = {
      entityId,
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
    };
    await db.orm.insert(registry).values(row);
    await db.orm.insert(rackLifecycle).values(lifecycle);
    await appendAudit(db, {
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
    const { entityId: _, ...life } = lifecycle;
    return { ...row, typeId: EntityType.Rack, lifecycle: life };
  });
}

export interface RecordHelloInput {
  version: string;
  /** Replaces the stored attributes while the Rack is pending; ignored once adopted (they are immutable then). */
  attributes?: Record<string, unknown>;
  source: string | null;
  now: Date;
}

/** Notes a hello from a known Rack: hello_count, last_source, version and last_seen; no audit event (too frequent). */
export async function recordHello(db: Db, entityId: bigint, input: RecordHelloInput): Promise<RackRecord> {
  assertNonEmpty(input.version, "version");
  assertValidDate(input.now, "now");
  return db.transaction(async () => {
    const rack = await requireRack(db, entityId);
    const attributes =
      input.attributes !== undefined && rack.status === "pending"
        ? { ...input.attributes, public_key: rack.lifecycle.publicKey }
        : rack.attributes;
    await db.orm
      .update(registry)
      .set({ version: input.version, lastSeen: input.now, attributes })
      .where(eq(registry.entityId, entityId));
    await db.orm
      .update(rackLifecycle)
      .set({ helloCount: sql`${rackLifecycle.helloCount} + 1`, lastSource: input.source })
      .where(eq(rackLifecycle.entityId, entityId));
    return {
      ...rack,
      version: input.version,
      lastSeen: input.now,
      attributes,
      lifecycle: { ...rack.lifecycle, helloCount: rack.lifecycle.helloCount + 1, lastSource: input.source },
    };
  });
}

export interface PassportIssuedInput {
  /** Must be above the last serial recorded (see `nextPassportSerial`). */
  serial: number;
  issuedAt: Date;
  expiresAt: Date;
  actor?: string;
  cause?: string;
}

/** The serial the next passport for this Rack should carry. */
export async function nextPassportSerial(db: Db, entityId: bigint): Promise<number> {
  return (await requireRack(db, entityId)).lifecycle.passportSerial + 1;
}

/**
 * Records a passport just signed. `passports_valid_until` only ever grows: it is the latest expiry of any passport
 * issued for this Rack, which is how long its MachineID stays tombstoned after deletion.
 */
export async function recordPassportIssued(
  db: Db,
  entityId: bigint,
  input: PassportIssuedInput,
): Promise<RackRecord> {
  assertValidDate(input.issuedAt, "issuedAt");
  assertValidDate(input.expiresAt, "expiresAt");
  if (input.expiresAt.getTime() <= input.issuedAt.getTime()) {
    throw new InvalidInputError("expiresAt", "must be after issuedAt");
  }
  return db.transaction(async () => {
    const rack = await requireRack(db, entityId);
    const current = rack.lifecycle.passportSerial;
    if (!Number.isInteger(input.serial) || input.serial <= current) {
      throw new StalePassportSerialError(entityId, input.serial, current);
    }
    const previous = rack.lifecycle.passportsValidUntil;
    const validUntil =
      previous !== null && previous.getTime() > input.expiresAt.getTime() ? previous : input.expiresAt;
    const passport = {
      passportSerial: input.serial,
      passportIssuedAt: input.issuedAt,
      passportExpiresAt: input.expiresAt,
      passportsValidUntil: validUntil,
    };
    await db.orm.update(rackLifecycle).set(passport).where(eq(rackLifecycle.entityId, entityId));
    await appendAudit(db, {
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
    return { ...rack, lifecycle: { ...rack.lifecycle, ...passport } };
  });
}

/** The Rack with this entity id, or {@link NotFoundError}. */
export async function requireRack(db: Db, entityId: bigint): Promise<RackRecord> {
  const rack = await getRackByEntityId(db, entityId);
  if (!rack) throw new NotFoundError("rack", entityId.toString());
  return rack;
}
