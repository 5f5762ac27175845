// Every registry write, planned in memory on a batch's stage: the one home of each rule of the registry.
//
// A plan checks names, keys, MachineIDs, the status machine, passport serials and scenarios against the stage,
// throws a typed error (registry-errors.ts) before staging anything, and stages the rows and audit events the
// write makes. Plans are pure functions of the stage; registry-writer.ts commits a whole stage at once.
import { EntityType, nodeEntityId } from "@fluxrig/entity-id";
import { keyFingerprint } from "@fluxrig/passport";
import type { JsonObject } from "../db/duckdb-values.js";
import { toJsonText } from "../db/duckdb-values.js";
import type { ApiTokenRecord } from "./api-token-list.js";
import { AuditKind } from "./audit-log.js";
import {
  type EnrollmentTokenRecord,
  type EnrollmentTokenRefusal,
  judgeEnrollmentToken,
} from "./enrollment-token-list.js";
import type { ExpectedKeyRecord } from "./expected-key-list.js";
import { assertNodeName, assertNonEmpty, assertValidDate } from "./input-checks.js";
import type { RecordNameConflictInput } from "./name-conflicts.js";
import { type InitialRackStatus, isLegalTransition, isRackStatus, type RackStatus } from "./rack-status.js";
import {
  ApiTokenExistsError,
  EnrollmentTokenRefusedError,
  IllegalTransitionError,
  InvalidInputError,
  MachineIdInUseError,
  NameTakenError,
  NotFoundError,
  PublicKeyTakenError,
  ScenarioVersionTakenError,
  StalePassportSerialError,
  UnexpectedKeyError,
  UnexpectedStatusError,
} from "./registry-errors.js";
import {
  FULL_MACHINE_ID_RANGE,
  type MachineIdRange,
  type NodeRecord,
  type RackAttributes,
  type RackRecord,
} from "./registry-records.js";
import { type RevocationRecord, unixSeconds } from "./revocation-list.js";
import type { ScenarioActivationRecord, ScenarioRecord } from "./scenario-catalog.js";
import { checkMachineId, type WriteStage } from "./write-stage.js";

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

export interface SetStatusOptions {
  cause: string;
  actor: string;
  details?: object | null;
  now: Date;
  /** Compare-and-set: refuse with {@link UnexpectedStatusError} unless the current status is this one. */
  expectFrom?: RackStatus;
}

export interface PassportIssuedInput {
  /** Must be above the last serial recorded. */
  serial: number;
  issuedAt: Date;
  expiresAt: Date;
  actor?: string;
  cause?: string;
}

export interface DeleteRackOptions {
  cause: string;
  actor: string;
  now: Date;
}

/** What a deletion removed, and until when its MachineID is held back. */
export interface DeletedRack {
  entityId: bigint;
  name: string;
  machineId: number;
  reusableAfter: Date;
}

/** The Rack with this entity id in the stage, or {@link NotFoundError}. */
export function stagedRack(stage: WriteStage, entityId: bigint): RackRecord {
  const rack = stage.rack(entityId);
  if (!rack) throw new NotFoundError("rack", entityId.toString());
  return rack;
}

/**
 * Stages a new Rack: its MachineID (the lowest free one in range, or the one asked for), registry and lifecycle
 * rows and the `rack_enrolled` event. Refuses a taken name or key, or a full range, staging nothing.
 */
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
    assertMachineIdFree(stage, input.machineId, input.now);
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

/**
 * Stages a status change with its audit event; the status the Rack already has is a no-op. Refuses a change the
 * status machine forbids ({@link IllegalTransitionError}) or a stale `expectFrom` ({@link UnexpectedStatusError}).
 */
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
  // A rejected Rack held a pending credential, a revoked one an adopted one: both are void on the bus from now on.
  if (to === "rejected" || to === "revoked") planRevokeKey(stage, rack, { ...options, change: to });
  return changed;
}

/**
 * Stages a passport just signed: serials only grow, and so does `passports_valid_until` (the latest expiry of any
 * passport issued, which is how long the MachineID stays tombstoned after deletion).
 */
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

/**
 * Stages a deletion (any status) with its audit event: the MachineID is tombstoned until the last passport naming
 * it has expired (or from now, when it never had one), and the Rack's key is revoked on the bus (any credential it
 * holds is void; the same key enrolling again later gets a credential issued after the revocation).
 */
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
  planRevokeKey(stage, rack, { ...options, change: "removed" });
  return { entityId, name: rack.name, machineId: rack.machineId, reusableAfter };
}

export interface RevokeKeyOptions {
  /** What happened to the Rack: kept as the revocation's `cause`. */
  change: "rejected" | "revoked" | "removed";
  /** Why and who, as the status change or deletion that causes the revocation has them. */
  cause: string;
  actor: string;
  now: Date;
}

/**
 * Stages a bus revocation of `rack`'s key as of `now` (SPEC §11), with its own `bus_key_revoked` audit event, always
 * inside the write that changes the Rack (planSetStatus to rejected or revoked, planDeleteRack): the revocation list
 * never disagrees with the registry. A key revoked before keeps the later second (a clock set back never shortens
 * a revocation). A key this same write already revoked in the same second is left as it is, so `replace` (revoke,
 * then remove) records one revocation.
 */
export function planRevokeKey(
  stage: WriteStage,
  rack: RackRecord,
  options: RevokeKeyOptions,
): RevocationRecord {
  assertValidDate(options.now, "now");
  const publicKey = rack.lifecycle.publicKey;
  const previous = stage.revocation(publicKey);
  if (
    previous !== undefined &&
    stage.revocations.has(publicKey) &&
    unixSeconds(previous.revokedAt) >= unixSeconds(options.now)
  ) {
    return previous;
  }
  const revokedAt =
    previous !== undefined && previous.revokedAt.getTime() > options.now.getTime()
      ? previous.revokedAt
      : options.now;
  const record: RevocationRecord = { publicKey, revokedAt, name: rack.name, cause: options.change };
  stage.putRevocation(record);
  stage.appendAudit({
    at: options.now,
    entityId: rack.entityId,
    name: rack.name,
    kind: AuditKind.BusKeyRevoked,
    cause: options.cause,
    actor: options.actor,
    details: {
      public_key: publicKey,
      change: options.change,
      revoked_at: revokedAt.toISOString(),
      revoked_second: unixSeconds(revokedAt),
    },
  });
  return record;
}

export interface PruneRevocationsOptions {
  /** Revocations older than `now - horizonMs` go: the longest lifetime of any credential the Mixer issues. */
  horizonMs: number;
  now: Date;
  actor?: string;
}

/**
 * Stages the removal of every bus revocation older than the horizon: each JWT such an entry could void was issued
 * at or before it and has expired, so the fleet account JWT does not grow without end. One
 * `bus_revocations_pruned` audit event when anything goes (none otherwise). Returns how many were pruned.
 */
export function planPruneRevocations(stage: WriteStage, options: PruneRevocationsOptions): number {
  assertValidDate(options.now, "now");
  if (!Number.isFinite(options.horizonMs) || options.horizonMs < 0) {
    throw new InvalidInputError("horizonMs", `must be a duration of 0 ms or more, got ${options.horizonMs}`);
  }
  const before = new Date(options.now.getTime() - options.horizonMs);
  // Whole seconds, as nats-server compares them: a revocation second below the horizon's second can void nothing live.
  const beforeSecond = unixSeconds(before);
  const pruned = [...stage.revocationRecords()].filter((r) => unixSeconds(r.revokedAt) < beforeSecond);
  for (const record of pruned) stage.deleteRevocation(record.publicKey);
  if (pruned.length > 0) {
    stage.appendAudit({
      at: options.now,
      kind: AuditKind.BusRevocationsPruned,
      cause: "expired",
      actor: options.actor ?? "mixer",
      details: { count: pruned.length, before: before.toISOString() },
    });
  }
  return pruned.length;
}

/** True when a Rack's attributes hold anything it reported beyond its public key. */
export function hasHostEvidence(attributes: Record<string, unknown>): boolean {
  return Object.keys(attributes).some((key) => key !== "public_key");
}

/**
 * Stages new attributes for a pending Rack. Once adopted they are immutable and the Rack is returned unchanged, with
 * one exception: an adopted Rack that holds no host evidence at all (only its key: one replaced before the claimant's
 * report was kept with its conflict, schema version 2) records its first report, once, with an `attributes_recorded`
 * audit event. Nothing recorded is ever changed: the promise is about evidence, and it had none.
 */
export function planAttributes(
  stage: WriteStage,
  entityId: bigint,
  attributes: Record<string, unknown>,
  audit: { now: Date; actor: string },
): RackRecord {
  const rack = stagedRack(stage, entityId);
  const firstReport = rack.status !== "pending" && !hasHostEvidence(rack.attributes);
  if (rack.status !== "pending" && !firstReport) return rack;
  const updated: RackRecord = {
    ...rack,
    attributes: { ...attributes, public_key: rack.lifecycle.publicKey } as RackAttributes,
  };
  stage.putRack(updated);
  if (firstReport) {
    stage.appendAudit({
      at: audit.now,
      entityId,
      name: rack.name,
      kind: AuditKind.AttributesRecorded,
      cause: "hello",
      actor: audit.actor,
      details: { attributes: updated.attributes },
    });
  }
  return updated;
}

/** Stages one more attempt of a key at a taken name (no audit event: see name-conflicts.ts). */
export function planNameConflict(stage: WriteStage, input: RecordNameConflictInput): void {
  assertNonEmpty(input.name, "name");
  assertNonEmpty(input.claimedPublicKey, "claimedPublicKey");
  assertValidDate(input.now, "now");
  stage.recordConflict({ kind: "record", ...input });
}

/** Throws {@link MachineIdInUseError} unless `machineId` is free at `now` (an id chosen, not allocated). */
function assertMachineIdFree(stage: WriteStage, machineId: number, now: Date): void {
  checkMachineId(machineId);
  const state = stage.machineIdState(machineId, now.getTime());
  if (state.kind === "live") throw new MachineIdInUseError(machineId, state.entityId);
  if (state.kind === "tombstoned") throw new MachineIdInUseError(machineId, undefined);
}

interface NodeRowCommon {
  name: string;
  version: string;
  attributes: JsonObject;
  now: Date;
  /** For the audit event (default "mixer"). */
  actor?: string;
  /**
   * Cluster mode: the member whose rows these are. Several Mixers share one registry, each with its own rows, told
   * apart by `attributes.member`; without it every row of the type is this Mixer's (one Mixer per registry).
   */
  member?: string;
}

export type NodeRowInput =
  | (NodeRowCommon & { typeId: typeof EntityType.Mixer; machineId: number })
  | (NodeRowCommon & {
      typeId: typeof EntityType.SnakeTunnel;
      /** Omit to keep the Snake's current id, or (first start) allocate one from `machineIdRange`. */
      machineId?: number;
      machineIdRange?: MachineIdRange;
    });

/**
 * Stages the Mixer's or the Snake Tunnel's row at start: inserted the first time, refreshed (name, version,
 * attributes, last_seen, status `active`) afterwards, audited only when new or renamed or upgraded. A changed
 * MachineID replaces the old row of that type. MachineIDs are never shared between live rows (SPEC §4), node rows
 * included: the Snake gets its own, allocated once (the lowest free one) and kept; stage the Mixer's row first.
 */
export function planNodeRow(stage: WriteStage, input: NodeRowInput): NodeRecord {
  if (input.typeId !== EntityType.Mixer && input.typeId !== EntityType.SnakeTunnel) {
    throw new InvalidInputError("typeId", "node rows are the Mixer (2) or its Snake Tunnel (8)");
  }
  assertNodeName(input.name);
  assertNonEmpty(input.version, "version");
  assertValidDate(input.now, "now");
  const existing = [...stage.nodeRecords()].filter(
    (node) =>
      node.typeId === input.typeId && (input.member === undefined || node.attributes.member === input.member),
  );
  const machineId =
    input.machineId ??
    existing[0]?.machineId ??
    stage.allocateMachineId(
      (input.typeId === EntityType.SnakeTunnel ? input.machineIdRange : undefined) ?? FULL_MACHINE_ID_RANGE,
      input.now,
    );
  const entityId = nodeEntityId(input.typeId, machineId);
  const replaced = existing.filter((node) => node.entityId !== entityId);
  for (const node of replaced) stage.deleteNode(node);
  const kept = existing.find((node) => node.entityId === entityId);
  if (!kept) assertMachineIdFree(stage, machineId, input.now);
  const holder = stage.nameHolder(input.name);
  if (holder !== undefined && holder !== entityId) throw new NameTakenError(input.name, holder);
  const node: NodeRecord = {
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
  stage.putNode(node);
  if (!kept || kept.name !== input.name || kept.version !== input.version) {
    stage.appendAudit({
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
  return node;
}

export interface ImportScenarioInput {
  name: string;
  version: string;
  yaml: string;
  spec: JsonObject;
  now: Date;
  actor: string;
}

/**
 * Stages an import (or re-import) of a scenario with its audit event. A re-import replaces version, YAML and spec
 * and keeps the `active` flag, so re-importing the active scenario keeps it active (activate it again to push).
 */
/**
 * A stored scenario version never changes under the Racks that run it: true when `input` is that stored version
 * again (an import of it is a no-op, with no event); throws ScenarioVersionTakenError when the version is stored,
 * or was ever activated, with other content (a rollback must find the version as it ran); false when it is new.
 */
export function storedScenarioVersion(
  existing: ScenarioRecord | undefined,
  input: { name: string; version: string; spec: JsonObject },
  activations: readonly ScenarioActivationRecord[] = [],
): boolean {
  const ran = activations.findLast((a) => a.name === input.name && a.version === input.version);
  if (ran && toJsonText(ran.spec, "spec") !== toJsonText(input.spec, "spec")) {
    throw new ScenarioVersionTakenError(input.name, input.version);
  }
  if (!existing || existing.version !== input.version) return false;
  if (toJsonText(existing.spec, "spec") === toJsonText(input.spec, "spec")) return true;
  throw new ScenarioVersionTakenError(input.name, input.version);
}

export function planImportScenario(stage: WriteStage, input: ImportScenarioInput): ScenarioRecord {
  assertNonEmpty(input.name, "name");
  assertNonEmpty(input.version, "version");
  assertValidDate(input.now, "now");
  const existing = stage.scenario(input.name);
  // As a later read gives it back: JSON, bigints as decimal strings.
  const spec = JSON.parse(toJsonText(input.spec, "spec")) as JsonObject;
  if (storedScenarioVersion(existing, { ...input, spec }, stage.scenarioActivations())) return existing!;
  const scenario: ScenarioRecord = {
    name: input.name,
    version: input.version,
    yaml: input.yaml,
    spec,
    importedAt: input.now,
    activatedAt: existing?.activatedAt ?? null,
    active: existing?.active ?? false,
  };
  stage.putScenario(scenario);
  stage.appendAudit({
    at: input.now,
    name: input.name,
    kind: AuditKind.ScenarioImported,
    cause: "import",
    actor: input.actor,
    details: { version: input.version },
  });
  return scenario;
}

export interface ActivateScenarioOptions {
  now: Date;
  actor: string;
  cause?: string;
  reason?: string | undefined;
}

/**
 * Stages `name` as the one active scenario (every other one inactive) with its audit event, and records the
 * activation with the version it activates (kept for good: `scenario history`, `scenario rollback`).
 */
export function planActivateScenario(
  stage: WriteStage,
  name: string,
  options: ActivateScenarioOptions,
): ScenarioRecord {
  const target = stage.scenario(name);
  if (!target) throw new NotFoundError("scenario", name);
  return stageActivation(stage, target, { ...options, cause: options.cause ?? "operator" });
}

/**
 * The activation a rollback goes back to: the latest one of another version (or scenario) than the one active now;
 * undefined when there is none.
 */
export function rollbackTarget(
  activations: readonly ScenarioActivationRecord[],
  active: { name: string; version: string } | undefined,
): ScenarioActivationRecord | undefined {
  for (let i = activations.length - 1; i >= 0; i--) {
    const activation = activations[i]!;
    if (activation.name !== active?.name || activation.version !== active.version) return activation;
  }
  return undefined;
}

/**
 * Stages a rollback: the version of {@link rollbackTarget} becomes the active scenario again, exactly as it was
 * activated then (its stored YAML and spec, even if that name was imported again since), recorded and audited as a
 * new activation with cause `rollback`. Throws InvalidInputError when there is nothing to go back to.
 */
export function planRollbackScenario(
  stage: WriteStage,
  options: Omit<ActivateScenarioOptions, "cause">,
): { record: ScenarioRecord; from: ScenarioActivationRecord } {
  const active = [...stage.scenarioRecords()].find((scenario) => scenario.active);
  const from = rollbackTarget(stage.scenarioActivations(), active);
  if (!from) throw new InvalidInputError("scenario", "no earlier activation to roll back to");
  const existing = stage.scenario(from.name);
  const target: ScenarioRecord = {
    name: from.name,
    version: from.version,
    yaml: from.yaml,
    spec: from.spec,
    importedAt: existing?.version === from.version ? existing.importedAt : from.at,
    activatedAt: existing?.activatedAt ?? null,
    active: existing?.active ?? false,
  };
  const record = stageActivation(stage, target, { ...options, cause: "rollback" }, { rollback_to: from.seq });
  return { record, from };
}

function stageActivation(
  stage: WriteStage,
  target: ScenarioRecord,
  options: ActivateScenarioOptions & { cause: string },
  extra: JsonObject = {},
): ScenarioRecord {
  assertValidDate(options.now, "now");
  assertNonEmpty(options.actor, "actor");
  const active = [...stage.scenarioRecords()].filter((scenario) => scenario.active);
  for (const scenario of active) stage.putScenario({ ...scenario, active: false });
  const activated: ScenarioRecord = { ...target, active: true, activatedAt: options.now };
  stage.putScenario(activated);
  const activation = stage.recordScenarioActivation({
    name: target.name,
    version: target.version,
    yaml: target.yaml,
    spec: target.spec,
    at: options.now,
    actor: options.actor,
    cause: options.cause,
    reason: options.reason ?? null,
  });
  stage.appendAudit({
    at: options.now,
    name: target.name,
    kind: AuditKind.ScenarioActivated,
    cause: options.cause,
    actor: options.actor,
    details: {
      version: target.version,
      previous: active[0]?.name ?? null,
      activation: activation.seq,
      ...extra,
      ...(options.reason ? { reason: options.reason } : {}),
    },
  });
  return activated;
}

export interface CreateApiTokenOptions {
  actor: string;
  now: Date;
}

/**
 * Stages a new named API token with its `api_token_created` audit event (name and role, never the secret or its
 * digest). Refuses a name that is live ({@link ApiTokenExistsError}).
 */
export function planCreateApiToken(
  stage: WriteStage,
  token: Omit<ApiTokenRecord, "createdAt" | "createdBy">,
  options: CreateApiTokenOptions,
): ApiTokenRecord {
  assertNonEmpty(token.name, "name");
  assertNonEmpty(options.actor, "actor");
  assertValidDate(options.now, "now");
  if (!/^[0-9a-f]{64}$/.test(token.secretSha256)) {
    throw new InvalidInputError("secretSha256", "must be a SHA-256 in lower-case hex");
  }
  if (stage.apiToken(token.name) !== undefined) throw new ApiTokenExistsError(token.name);
  const record: ApiTokenRecord = { ...token, createdAt: options.now, createdBy: options.actor };
  stage.putApiToken(record);
  stage.appendAudit({
    at: options.now,
    kind: AuditKind.ApiTokenCreated,
    cause: "operator",
    actor: options.actor,
    details: { token: token.name, role: token.role },
  });
  return record;
}

/** Stages the revocation of a named API token with its `api_token_revoked` audit event; {@link NotFoundError} if none. */
export function planRevokeApiToken(
  stage: WriteStage,
  name: string,
  options: { actor: string; reason?: string; now: Date },
): ApiTokenRecord {
  assertNonEmpty(options.actor, "actor");
  assertValidDate(options.now, "now");
  const token = stage.apiToken(name);
  if (token === undefined) throw new NotFoundError("api token", name);
  stage.deleteApiToken(name);
  stage.appendAudit({
    at: options.now,
    kind: AuditKind.ApiTokenRevoked,
    cause: "operator",
    actor: options.actor,
    details: { token: name, role: token.role, ...(options.reason ? { reason: options.reason } : {}) },
  });
  return token;
}

/**
 * Stages a new enrollment token with its `enrollment_token_created` audit event (id, pattern, uses, expiry; never the
 * secret or its digest).
 */
export function planCreateEnrollmentToken(
  stage: WriteStage,
  token: Omit<EnrollmentTokenRecord, "createdAt" | "createdBy" | "used">,
  options: { actor: string; now: Date },
): EnrollmentTokenRecord {
  assertNonEmpty(options.actor, "actor");
  assertValidDate(options.now, "now");
  assertValidDate(token.expiresAt, "expiresAt");
  if (!/^[0-9a-f]{12}$/.test(token.id)) throw new InvalidInputError("id", "must be 12 hex digits");
  if (!/^[0-9a-f]{64}$/.test(token.secretSha256)) {
    throw new InvalidInputError("secretSha256", "must be a SHA-256 in lower-case hex");
  }
  if (!Number.isInteger(token.uses) || token.uses < 1)
    throw new InvalidInputError("uses", "must be at least 1");
  if (stage.enrollmentToken(token.id) !== undefined)
    throw new InvalidInputError("id", "is taken; draw another");
  const record: EnrollmentTokenRecord = {
    ...token,
    used: 0,
    createdAt: options.now,
    createdBy: options.actor,
  };
  stage.putEnrollmentToken(record);
  stage.appendAudit({
    at: options.now,
    kind: AuditKind.EnrollmentTokenCreated,
    cause: "operator",
    actor: options.actor,
    details: {
      token: token.id,
      pattern: token.pattern,
      uses: token.uses,
      expires_at: token.expiresAt.toISOString(),
    },
  });
  return record;
}

/** Stages an enrollment token's revocation with its audit event; {@link NotFoundError} if there is none. */
export function planRevokeEnrollmentToken(
  stage: WriteStage,
  id: string,
  options: { actor: string; reason?: string; now: Date },
): EnrollmentTokenRecord {
  assertNonEmpty(options.actor, "actor");
  assertValidDate(options.now, "now");
  const token = stage.enrollmentToken(id);
  if (token === undefined) throw new NotFoundError("enrollment token", id);
  stage.deleteEnrollmentToken(id);
  stage.appendAudit({
    at: options.now,
    kind: AuditKind.EnrollmentTokenRevoked,
    cause: "operator",
    actor: options.actor,
    details: {
      token: id,
      pattern: token.pattern,
      used: token.used,
      uses: token.uses,
      ...(options.reason ? { reason: options.reason } : {}),
    },
  });
  return token;
}

/**
 * Spends one use of enrollment token `id` on Rack `rack`, judged on this stage (so the uses other hellos of the same
 * batch spent count, and a token is never spent past its uses), with its `enrollment_token_used` audit event. Throws
 * {@link EnrollmentTokenRefusedError} with the reason when the token adopts nobody now; nothing is staged then.
 */
export function planSpendEnrollmentToken(
  stage: WriteStage,
  id: string,
  rack: { entityId: bigint; name: string },
  now: Date,
): EnrollmentTokenRecord {
  const judged = judgeEnrollmentToken(stage.enrollmentToken(id), rack.name, now);
  if (!judged.ok) throw new EnrollmentTokenRefusedError(judged.reason, judged.token ?? id);
  const spent: EnrollmentTokenRecord = { ...judged.token, used: judged.token.used + 1 };
  stage.putEnrollmentToken(spent);
  stage.appendAudit({
    at: now,
    entityId: rack.entityId,
    name: rack.name,
    kind: AuditKind.EnrollmentTokenUsed,
    cause: `enrollment_token ${id}`,
    actor: "mixer",
    details: { token: id, pattern: spent.pattern, used: spent.used, uses: spent.uses },
  });
  return spent;
}

/** Records that a hello's enrollment token adopted nobody: the Rack stays pending, the operator sees why. */
export function planEnrollmentTokenRefused(
  stage: WriteStage,
  rack: { entityId: bigint; name: string },
  refusal: { reason: EnrollmentTokenRefusal; token?: string },
  now: Date,
): void {
  stage.appendAudit({
    at: now,
    entityId: rack.entityId,
    name: rack.name,
    kind: AuditKind.EnrollmentTokenRefused,
    cause: "enrollment_token",
    actor: "mixer",
    details: { token: refusal.token ?? null, reason: refusal.reason },
  });
}

/** Stages a name's expected key (replacing one it had) with its `key_expected` audit event. */
export function planExpectKey(
  stage: WriteStage,
  name: string,
  keyFingerprint: string,
  options: { actor: string; reason?: string; now: Date },
): ExpectedKeyRecord {
  assertNonEmpty(name, "name");
  assertNonEmpty(options.actor, "actor");
  assertValidDate(options.now, "now");
  if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(keyFingerprint)) {
    throw new InvalidInputError("keyFingerprint", "must be SHA256: and 43 base64 characters");
  }
  const previous = stage.expectedKey(name);
  const record: ExpectedKeyRecord = {
    name,
    keyFingerprint,
    createdAt: options.now,
    createdBy: options.actor,
  };
  stage.putExpectedKey(record);
  stage.appendAudit({
    at: options.now,
    name,
    kind: AuditKind.KeyExpected,
    cause: "operator",
    actor: options.actor,
    details: {
      key_fingerprint: keyFingerprint,
      ...(previous ? { replaced: previous.keyFingerprint } : {}),
      ...(options.reason ? { reason: options.reason } : {}),
    },
  });
  return record;
}

/** Stages forgetting a name's expected key with its audit event; {@link NotFoundError} when it has none. */
export function planForgetExpectedKey(
  stage: WriteStage,
  name: string,
  options: { actor: string; reason?: string; now: Date },
): ExpectedKeyRecord {
  assertNonEmpty(options.actor, "actor");
  assertValidDate(options.now, "now");
  const previous = stage.expectedKey(name);
  if (previous === undefined) throw new NotFoundError("expected key", name);
  stage.deleteExpectedKey(name);
  stage.appendAudit({
    at: options.now,
    name,
    kind: AuditKind.KeyExpectationRemoved,
    cause: "operator",
    actor: options.actor,
    details: {
      key_fingerprint: previous.keyFingerprint,
      ...(options.reason ? { reason: options.reason } : {}),
    },
  });
  return previous;
}

/**
 * Refuses ({@link UnexpectedKeyError}) to adopt `rack` when its name has an expected key and the Rack's key is another:
 * read on the stage, so an expectation set in the same batch counts. Every activation plan asks this first.
 */
export function assertExpectedKey(
  stage: WriteStage,
  rack: { name: string; lifecycle: { publicKey: string } },
): void {
  const expected = stage.expectedKey(rack.name);
  if (expected === undefined) return;
  const actual = keyFingerprint(rack.lifecycle.publicKey);
  if (actual !== expected.keyFingerprint) {
    throw new UnexpectedKeyError(rack.name, actual, expected.keyFingerprint);
  }
}
