// The registry's records as cluster mode keeps them in KV, and back: the one mapping between the writer's in-memory
// records (registry-records.ts and the lists) and the layout's values (kv/registry-layout.ts). Pure, no I/O.
import { EntityType } from "@fluxrig/entity-id";
import { API_TOKEN_ROLES, type ApiTokenRole } from "@fluxrig/wire";
import {
  type ActivationRecord,
  type ApiTokenKvRecord,
  activationValue,
  type ClaimRecord,
  type EnrollmentTokenKvRecord,
  type EntityRecord,
  type ExpectedKeyKvRecord,
  entityRecord,
  KvLayoutError,
  LAYOUT_SCHEMA_VERSION,
  type RevocationKvRecord,
  type ScenarioRecord as ScenarioKvRecord,
  scenarioValue,
  snapshotEntity,
} from "../kv/registry-layout.js";
import type { ApiTokenRecord } from "./api-token-list.js";
import type { EnrollmentTokenRecord } from "./enrollment-token-list.js";
import type { ExpectedKeyRecord } from "./expected-key-list.js";
import { checkedStatus, type NodeRecord, type RackRecord } from "./registry-records.js";
import type { RevocationRecord } from "./revocation-list.js";
import type { ScenarioActivationRecord, ScenarioRecord } from "./scenario-catalog.js";
import type { TombstoneRow } from "./write-stage.js";

const iso = (d: Date) => d.toISOString();

export function rackToKv(rack: RackRecord): EntityRecord {
  return entityRecord(rack);
}

export function nodeToKv(node: NodeRecord): EntityRecord {
  return entityRecord({ ...node, lifecycle: null });
}

/** A `rack.<id>` or `node.<id>` record as the registry holds it; refuses a record of another type than its key's. */
export function entityFromKv(
  key: string,
  record: EntityRecord,
): { rack: RackRecord; node?: undefined } | { node: NodeRecord; rack?: undefined } {
  const e = snapshotEntity(record);
  if (e.lifecycle !== null) {
    if (e.typeId !== EntityType.Rack) throw new KvLayoutError(key, `type ${e.typeId} with a lifecycle`);
    return {
      rack: {
        entityId: e.entityId,
        typeId: EntityType.Rack,
        machineId: e.machineId,
        name: e.name,
        status: checkedStatus(e.entityId, e.status),
        version: e.version,
        attributes: { ...e.attributes, public_key: e.lifecycle.publicKey },
        stats: e.stats as RackRecord["stats"],
        lastSeen: e.lastSeen,
        lifecycle: e.lifecycle,
      },
    };
  }
  if (e.typeId !== EntityType.Mixer && e.typeId !== EntityType.SnakeTunnel)
    throw new KvLayoutError(key, `type ${e.typeId} is not a Mixer or Snake Tunnel row`);
  return {
    node: {
      entityId: e.entityId,
      typeId: e.typeId,
      machineId: e.machineId,
      name: e.name,
      status: e.status,
      version: e.version,
      attributes: e.attributes as NodeRecord["attributes"],
      stats: e.stats as NodeRecord["stats"],
      lastSeen: e.lastSeen,
    },
  };
}

/** A claim held by a live row. */
export function liveClaim(kind: ClaimRecord["kind"], entityId: bigint): ClaimRecord {
  return { schema: LAYOUT_SCHEMA_VERSION, kind, entity_id: entityId.toString(), retired: null };
}

/** A MachineID held back by a deleted Rack: its tombstone. */
export function tombstoneToKv(row: TombstoneRow): ClaimRecord {
  return {
    schema: LAYOUT_SCHEMA_VERSION,
    kind: "machine",
    entity_id: row.entityId.toString(),
    retired: { name: row.name, at: iso(row.retiredAt), reusable_after: iso(row.reusableAfter) },
  };
}

export function tombstoneFromKv(machineId: number, claim: ClaimRecord): TombstoneRow | null {
  if (claim.retired === null) return null;
  return {
    machineId,
    entityId: BigInt(claim.entity_id),
    name: claim.retired.name,
    retiredAt: new Date(claim.retired.at),
    reusableAfter: new Date(claim.retired.reusable_after),
  };
}

/** The layout's scenario record: the registry's and the snapshot's shapes are one. */
export const scenarioToKv: (s: ScenarioRecord) => ScenarioKvRecord = scenarioValue;

export function scenarioFromKv(s: ScenarioKvRecord): ScenarioRecord {
  return {
    name: s.name,
    version: s.version,
    yaml: s.yaml,
    spec: s.spec as ScenarioRecord["spec"],
    importedAt: new Date(s.imported_at),
    activatedAt: s.activated_at === null ? null : new Date(s.activated_at),
    active: s.active,
  };
}

export const activationToKv: (a: ScenarioActivationRecord) => ActivationRecord = activationValue;

export function activationFromKv(a: ActivationRecord): ScenarioActivationRecord {
  return {
    seq: a.seq,
    name: a.name,
    version: a.version,
    yaml: a.yaml,
    spec: a.spec as ScenarioActivationRecord["spec"],
    at: new Date(a.at),
    actor: a.actor,
    cause: a.cause,
    reason: a.reason,
  };
}

export function revocationToKv(r: RevocationRecord): RevocationKvRecord {
  return {
    schema: LAYOUT_SCHEMA_VERSION,
    public_key: r.publicKey,
    revoked_at: iso(r.revokedAt),
    name: r.name,
    cause: r.cause,
  };
}

export function revocationFromKv(r: RevocationKvRecord): RevocationRecord {
  return { publicKey: r.public_key, revokedAt: new Date(r.revoked_at), name: r.name, cause: r.cause };
}

export function apiTokenToKv(t: ApiTokenRecord): ApiTokenKvRecord {
  return {
    schema: LAYOUT_SCHEMA_VERSION,
    name: t.name,
    role: t.role,
    secret_sha256: t.secretSha256,
    created_at: iso(t.createdAt),
    created_by: t.createdBy,
  };
}

export function apiTokenFromKv(key: string, t: ApiTokenKvRecord): ApiTokenRecord {
  if (!(API_TOKEN_ROLES as readonly string[]).includes(t.role))
    throw new KvLayoutError(
      key,
      `role ${JSON.stringify(t.role)} is not one of ${API_TOKEN_ROLES.join(", ")}`,
    );
  return {
    name: t.name,
    role: t.role as ApiTokenRole,
    secretSha256: t.secret_sha256,
    createdAt: new Date(t.created_at),
    createdBy: t.created_by,
  };
}

export function enrollmentTokenToKv(t: EnrollmentTokenRecord): EnrollmentTokenKvRecord {
  return {
    schema: LAYOUT_SCHEMA_VERSION,
    id: t.id,
    pattern: t.pattern,
    uses: t.uses,
    used: t.used,
    expires_at: iso(t.expiresAt),
    secret_sha256: t.secretSha256,
    created_at: iso(t.createdAt),
    created_by: t.createdBy,
  };
}

export function enrollmentTokenFromKv(t: EnrollmentTokenKvRecord): EnrollmentTokenRecord {
  return {
    id: t.id,
    pattern: t.pattern,
    uses: t.uses,
    used: t.used,
    expiresAt: new Date(t.expires_at),
    secretSha256: t.secret_sha256,
    createdAt: new Date(t.created_at),
    createdBy: t.created_by,
  };
}

export function expectedKeyToKv(k: ExpectedKeyRecord): ExpectedKeyKvRecord {
  return {
    schema: LAYOUT_SCHEMA_VERSION,
    name: k.name,
    key_fingerprint: k.keyFingerprint,
    created_at: iso(k.createdAt),
    created_by: k.createdBy,
  };
}

export function expectedKeyFromKv(k: ExpectedKeyKvRecord): ExpectedKeyRecord {
  return {
    name: k.name,
    keyFingerprint: k.key_fingerprint,
    createdAt: new Date(k.created_at),
    createdBy: k.created_by,
  };
}
