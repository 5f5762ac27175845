// The registry's record layout in KV (docs/cluster.md, "Record layout"): which key holds what in which bucket, the
// values' zod schemas with their schema version, and the pure mapping from a registry snapshot to its entries.
// No I/O here: the import, the verify and (later) the Mixers on KV all read and write through these functions.
import { createHash } from "node:crypto";
import { keyId } from "@fluxrig/passport";
import { z } from "zod";
import { KvError } from "./kv-errors.js";
import type { RegistryBucketName } from "./registry-buckets.js";

/** The one schema version this Mixer writes and reads. A value with another is refused, never guessed at. */
export const LAYOUT_SCHEMA_VERSION = 1;

/** Where audit events go in cluster mode: a stream of their own (not a KV bucket), one subject per event. */
export const AUDIT_STREAM = {
  name: "fluxrig_audit",
  subjects: "fluxrig.audit.>",
  /** An event imported from a single Mixer's log, by its sequence there. */
  subject: (seq: number) => `fluxrig.audit.${seq}`,
  /** An event a Mixer of the cluster appended: the stream's order is the cluster's order. */
  liveSubject: (id: string) => `fluxrig.audit.live.${id}`,
} as const;

/** A stored value this Mixer cannot read: another schema version, or not the shape of its key. */
export class KvLayoutError extends KvError {
  override readonly name = "KvLayoutError";
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super("kv_layout_invalid", `KV record ${key}: ${reason}`);
  }
}

// ---- keys ----------------------------------------------------------------------------------------------------

/**
 * A KV key token for any text: `[A-Za-z0-9_-]` stay, every other UTF-8 byte becomes `=XX` (lower-case hex). Keys
 * stay readable for ordinary names (`press-01`), dots (the key separator) and `:` can never split or break a key.
 */
export function keyToken(text: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `=${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** The inverse of {@link keyToken}. Throws KvLayoutError on a token {@link keyToken} cannot produce. */
export function fromKeyToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const c = token[i] as string;
    if (c === "=") {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) throw new KvLayoutError(token, "not a key token (bad =XX escape)");
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (/[A-Za-z0-9_-]/.test(c)) {
      bytes.push(c.charCodeAt(0));
    } else {
      throw new KvLayoutError(token, `not a key token (character ${JSON.stringify(c)})`);
    }
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
}

/** Keys of every record, by bucket (REGISTRY_BUCKETS). */
export const layoutKeys = {
  /** `fluxrig_racks`: a Rack's record. */
  rack: (entityId: bigint) => `rack.${entityId}`,
  /** `fluxrig_racks`: a node's own row (the Mixer, its Snake Tunnel): holds a MachineID and a name too. */
  node: (entityId: bigint) => `node.${entityId}`,
  /** `fluxrig_claims`: a MachineID, held by one entity (or by a deleted Rack until its passports expire). */
  machine: (machineId: number) => `machine.${machineId}`,
  /** `fluxrig_claims`: a name. */
  name: (name: string) => `name.${keyToken(name)}`,
  /** `fluxrig_claims`: a key fingerprint (`keyId` of `@fluxrig/passport`, e.g. `ed25519:YGJikLzJOtxHQH86`). */
  key: (fingerprint: string) => `key.${keyToken(fingerprint)}`,
  /** `fluxrig_scenarios`: a scenario's current version (history: the bucket keeps the last 10 of each). */
  scenario: (name: string) => `scenario.${keyToken(name)}`,
  /** `fluxrig_scenarios`: one activation, zero-padded so keys sort by sequence; never changed once written. */
  activation: (seq: number) => `activation.${String(seq).padStart(10, "0")}`,
  /** `fluxrig_access`: a key revoked on the bus, by the Rack's public key. */
  revocation: (publicKey: string) => `revocation.${keyToken(publicKey)}`,
  /** `fluxrig_access`: a named API token (its secret's hash, never the secret). */
  apiToken: (name: string) => `api_token.${keyToken(name)}`,
  /** `fluxrig_access`: an enrollment token, by id. */
  enrollmentToken: (id: string) => `enrollment_token.${keyToken(id)}`,
  /** `fluxrig_access`: the key expected for a name. */
  expectedKey: (name: string) => `expected_key.${keyToken(name)}`,
} as const;

// ---- value schemas -------------------------------------------------------------------------------------------

const isoTime = z.iso.datetime({ offset: false });
const decimalId = z.string().regex(/^(0|[1-9][0-9]*)$/, "a decimal entity id");
const jsonObject = z.record(z.string(), z.unknown());
const schema = z.literal(LAYOUT_SCHEMA_VERSION);

/** A Rack's lifecycle beyond the seed's columns (table `rack_lifecycle`). */
const lifecycleSchema = z.strictObject({
  public_key: z.string().min(1),
  key_fingerprint: z.string().min(1),
  first_seen: isoTime,
  status_changed_at: isoTime,
  passport: z.strictObject({
    serial: z.int().nonnegative(),
    issued_at: isoTime.nullable(),
    expires_at: isoTime.nullable(),
    /** The latest expiry of any passport ever issued: the MachineID is held back until then. */
    valid_until: isoTime.nullable(),
  }),
  last_source: z.string().nullable(),
  hello_count: z.int().nonnegative(),
  flaps: z.int().nonnegative(),
});

/** `rack.<id>` and `node.<id>` in `fluxrig_racks`: the seed's `registry` columns, and a Rack's lifecycle. */
export const entityRecordSchema = z.strictObject({
  schema,
  entity_id: decimalId,
  type_id: z.int().min(0).max(255),
  machine_id: z.int().min(0).max(0xffff),
  name: z.string().min(1),
  status: z.string().min(1),
  version: z.string(),
  attributes: jsonObject,
  stats: jsonObject.nullable(),
  last_seen: isoTime.nullable(),
  /** null for a node row (the Mixer, its Snake Tunnel). */
  lifecycle: lifecycleSchema.nullable(),
});
export type EntityRecord = z.infer<typeof entityRecordSchema>;

/** `machine.<id>`, `name.<name>`, `key.<fingerprint>` in `fluxrig_claims`: who holds it. */
export const claimRecordSchema = z.strictObject({
  schema,
  kind: z.enum(["machine", "name", "key"]),
  entity_id: decimalId,
  /** A MachineID held by a deleted Rack (a tombstone): free for another once `reusable_after` has passed. */
  retired: z.strictObject({ name: z.string(), at: isoTime, reusable_after: isoTime }).nullable(),
});
export type ClaimRecord = z.infer<typeof claimRecordSchema>;

/** `scenario.<name>` in `fluxrig_scenarios`. */
export const scenarioRecordSchema = z.strictObject({
  schema,
  name: z.string().min(1),
  version: z.string(),
  yaml: z.string(),
  spec: jsonObject,
  imported_at: isoTime,
  activated_at: isoTime.nullable(),
  active: z.boolean(),
});
export type ScenarioRecord = z.infer<typeof scenarioRecordSchema>;

/** `activation.<seq>` in `fluxrig_scenarios`: one activation with the version it activated. */
export const activationRecordSchema = z.strictObject({
  schema,
  seq: z.int().nonnegative(),
  name: z.string().min(1),
  version: z.string(),
  yaml: z.string(),
  spec: jsonObject,
  at: isoTime,
  actor: z.string(),
  cause: z.string(),
  reason: z.string().nullable(),
});
export type ActivationRecord = z.infer<typeof activationRecordSchema>;

/** One audit event on {@link AUDIT_STREAM}, its hash chain kept as the single Mixer wrote it. */
export const auditRecordSchema = z.strictObject({
  schema,
  seq: z.int().nonnegative(),
  at: isoTime,
  entity_id: decimalId.nullable(),
  name: z.string().nullable(),
  kind: z.string(),
  from_status: z.string().nullable(),
  to_status: z.string().nullable(),
  cause: z.string(),
  actor: z.string(),
  details: jsonObject.nullable(),
  prev_hash: z.string(),
  hash: z.string(),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;

/**
 * One audit event a Mixer of the cluster appended (`fluxrig.audit.live.<id>`): no sequence or hash of its own, as
 * the stream orders the cluster's events and each Mixer's index chains them in that order.
 */
export const auditLiveRecordSchema = z.strictObject({
  schema,
  at: isoTime,
  entity_id: decimalId.nullable(),
  name: z.string().nullable(),
  kind: z.string().min(1),
  from_status: z.string().nullable(),
  to_status: z.string().nullable(),
  cause: z.string(),
  actor: z.string(),
  details: jsonObject.nullable(),
  /** The Mixer (its `[cluster] member`) that appended it. */
  mixer: z.string(),
});
export type AuditLiveRecord = z.infer<typeof auditLiveRecordSchema>;

/** An event read from {@link AUDIT_STREAM}, imported or live, in the shape both share. */
export function decodeAuditMessage(
  subject: string,
  value: unknown,
): Omit<AuditLiveRecord, "schema" | "mixer"> {
  const live = subject.startsWith(AUDIT_STREAM.liveSubject(""));
  const spec: z.ZodType<AuditLiveRecord | AuditRecord> = live ? auditLiveRecordSchema : auditRecordSchema;
  const version =
    typeof value === "object" && value !== null ? (value as { schema?: unknown }).schema : undefined;
  if (version !== LAYOUT_SCHEMA_VERSION)
    throw new KvLayoutError(
      subject,
      `schema version ${String(version)}, this Mixer reads ${LAYOUT_SCHEMA_VERSION}`,
    );
  const parsed = spec.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KvLayoutError(
      subject,
      `not a valid audit event: ${issue?.path.join(".") || "(value)"}: ${issue?.message}`,
    );
  }
  const e = parsed.data;
  return {
    at: e.at,
    entity_id: e.entity_id,
    name: e.name,
    kind: e.kind,
    from_status: e.from_status,
    to_status: e.to_status,
    cause: e.cause,
    actor: e.actor,
    details: e.details,
  };
}

/** `revocation.<key>` in `fluxrig_access`. */
export const revocationRecordSchema = z.strictObject({
  schema,
  public_key: z.string().min(1),
  revoked_at: isoTime,
  name: z.string(),
  cause: z.string(),
});
export type RevocationKvRecord = z.infer<typeof revocationRecordSchema>;

/** `api_token.<name>` in `fluxrig_access`. */
export const apiTokenRecordSchema = z.strictObject({
  schema,
  name: z.string().min(1),
  role: z.string().min(1),
  secret_sha256: z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 in lower-case hex"),
  created_at: isoTime,
  created_by: z.string(),
});
export type ApiTokenKvRecord = z.infer<typeof apiTokenRecordSchema>;

/** `enrollment_token.<id>` in `fluxrig_access`. */
export const enrollmentTokenRecordSchema = z.strictObject({
  schema,
  id: z.string().min(1),
  pattern: z.string().min(1),
  uses: z.int().nonnegative(),
  used: z.int().nonnegative(),
  expires_at: isoTime,
  secret_sha256: z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 in lower-case hex"),
  created_at: isoTime,
  created_by: z.string(),
});
export type EnrollmentTokenKvRecord = z.infer<typeof enrollmentTokenRecordSchema>;

/** `expected_key.<name>` in `fluxrig_access`. */
export const expectedKeyRecordSchema = z.strictObject({
  schema,
  name: z.string().min(1),
  key_fingerprint: z.string().min(1),
  created_at: isoTime,
  created_by: z.string(),
});
export type ExpectedKeyKvRecord = z.infer<typeof expectedKeyRecordSchema>;

export type LayoutValue =
  | EntityRecord
  | ClaimRecord
  | ScenarioRecord
  | ActivationRecord
  | RevocationKvRecord
  | ApiTokenKvRecord
  | EnrollmentTokenKvRecord
  | ExpectedKeyKvRecord;

/** The schema of the value under `key` in `bucket`, read from the key's prefix. */
function schemaOf(bucket: LayoutBucket, key: string): z.ZodType<LayoutValue> | undefined {
  const prefix = key.slice(0, key.indexOf("."));
  if (bucket === "racks" && (prefix === "rack" || prefix === "node")) return entityRecordSchema;
  if (bucket === "claims" && (prefix === "machine" || prefix === "name" || prefix === "key"))
    return claimRecordSchema;
  if (bucket === "scenarios" && prefix === "scenario") return scenarioRecordSchema;
  if (bucket === "scenarios" && prefix === "activation") return activationRecordSchema;
  if (bucket === "access") {
    if (prefix === "revocation") return revocationRecordSchema;
    if (prefix === "api_token") return apiTokenRecordSchema;
    if (prefix === "enrollment_token") return enrollmentTokenRecordSchema;
    if (prefix === "expected_key") return expectedKeyRecordSchema;
  }
  return undefined;
}

/** The buckets that hold registry records (leases are not records). */
export type LayoutBucket = Exclude<RegistryBucketName, "leases">;

/**
 * Reads a stored value: refuses one of another schema version (a newer Mixer wrote it: upgrade this one first) or of
 * the wrong shape, with the key and what is wrong.
 */
export function decodeLayoutValue(bucket: LayoutBucket, key: string, value: unknown): LayoutValue {
  const spec = schemaOf(bucket, key);
  if (spec === undefined)
    throw new KvLayoutError(key, `not a key of the registry layout in bucket ${bucket}`);
  const version =
    typeof value === "object" && value !== null ? (value as { schema?: unknown }).schema : undefined;
  if (version !== LAYOUT_SCHEMA_VERSION) {
    throw new KvLayoutError(
      key,
      typeof version === "number"
        ? `schema version ${version}, this Mixer reads version ${LAYOUT_SCHEMA_VERSION} only: upgrade this Mixer before it reads the cluster's records`
        : `no schema version (not a record of the fluxrig registry layout)`,
    );
  }
  const parsed = spec.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KvLayoutError(
      key,
      `not a valid record: ${issue?.path.join(".") || "(value)"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

/** The value as stored: checked against its schema first, so nothing this Mixer could not read back is written. */
export function encodeLayoutValue(bucket: LayoutBucket, key: string, value: LayoutValue): LayoutValue {
  return decodeLayoutValue(bucket, key, value);
}

// ---- a registry snapshot and its entries ---------------------------------------------------------------------

/** A `registry` row with its `rack_lifecycle` (null for node rows), as the registry database holds it. */
export interface SnapshotEntity {
  entityId: bigint;
  typeId: number;
  machineId: number;
  name: string;
  status: string;
  version: string;
  attributes: Record<string, unknown>;
  stats: Record<string, unknown> | null;
  lastSeen: Date | null;
  lifecycle: {
    publicKey: string;
    firstSeen: Date;
    statusChangedAt: Date;
    passportSerial: number;
    passportIssuedAt: Date | null;
    passportExpiresAt: Date | null;
    passportsValidUntil: Date | null;
    lastSource: string | null;
    helloCount: number;
    flaps: number;
  } | null;
}

/** Everything of a single Mixer's registry that cluster mode keeps in KV. */
export interface RegistrySnapshot {
  /** Who may do what (bucket `fluxrig_access`), as stored; absent = none. */
  access?: {
    revocations: RevocationKvRecord[];
    apiTokens: ApiTokenKvRecord[];
    enrollmentTokens: EnrollmentTokenKvRecord[];
    expectedKeys: ExpectedKeyKvRecord[];
  };
  entities: SnapshotEntity[];
  tombstones: Array<{
    machineId: number;
    entityId: bigint;
    name: string;
    retiredAt: Date;
    reusableAfter: Date;
  }>;
  scenarios: Array<{
    name: string;
    version: string;
    yaml: string;
    spec: Record<string, unknown>;
    importedAt: Date;
    activatedAt: Date | null;
    active: boolean;
  }>;
  activations: Array<{
    seq: number;
    name: string;
    version: string;
    yaml: string;
    spec: Record<string, unknown>;
    at: Date;
    actor: string;
    cause: string;
    reason: string | null;
  }>;
}

/** One record to hold in KV. */
export interface LayoutEntry {
  bucket: LayoutBucket;
  key: string;
  value: LayoutValue;
}

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d === null ? null : d.toISOString());

/** The record of one registry row. */
export function entityRecord(e: SnapshotEntity): EntityRecord {
  const l = e.lifecycle;
  return {
    schema: LAYOUT_SCHEMA_VERSION,
    entity_id: e.entityId.toString(),
    type_id: e.typeId,
    machine_id: e.machineId,
    name: e.name,
    status: e.status,
    version: e.version,
    attributes: e.attributes,
    stats: e.stats,
    last_seen: isoOrNull(e.lastSeen),
    lifecycle:
      l === null
        ? null
        : {
            public_key: l.publicKey,
            key_fingerprint: fingerprint(e, l.publicKey),
            first_seen: iso(l.firstSeen),
            status_changed_at: iso(l.statusChangedAt),
            passport: {
              serial: l.passportSerial,
              issued_at: isoOrNull(l.passportIssuedAt),
              expires_at: isoOrNull(l.passportExpiresAt),
              valid_until: isoOrNull(l.passportsValidUntil),
            },
            last_source: l.lastSource,
            hello_count: l.helloCount,
            flaps: l.flaps,
          },
  };
}

/** The registry row a record holds: the inverse of {@link entityRecord}. */
export function snapshotEntity(r: EntityRecord): SnapshotEntity {
  const l = r.lifecycle;
  const date = (s: string | null) => (s === null ? null : new Date(s));
  return {
    entityId: BigInt(r.entity_id),
    typeId: r.type_id,
    machineId: r.machine_id,
    name: r.name,
    status: r.status,
    version: r.version,
    attributes: r.attributes,
    stats: r.stats,
    lastSeen: date(r.last_seen),
    lifecycle:
      l === null
        ? null
        : {
            publicKey: l.public_key,
            firstSeen: new Date(l.first_seen),
            statusChangedAt: new Date(l.status_changed_at),
            passportSerial: l.passport.serial,
            passportIssuedAt: date(l.passport.issued_at),
            passportExpiresAt: date(l.passport.expires_at),
            passportsValidUntil: date(l.passport.valid_until),
            lastSource: l.last_source,
            helloCount: l.hello_count,
            flaps: l.flaps,
          },
  };
}

function fingerprint(e: SnapshotEntity, publicKey: string): string {
  try {
    return keyId(publicKey);
  } catch (error) {
    throw new KvLayoutError(
      `rack.${e.entityId}`,
      `Rack ${JSON.stringify(e.name)} has a public key that is not an Ed25519 key (${(error as Error).message})`,
    );
  }
}

/** One audit event as {@link AUDIT_STREAM} holds it. */
export function auditRecord(e: {
  seq: number;
  at: Date;
  entityId: bigint | null;
  name: string | null;
  kind: string;
  fromStatus: string | null;
  toStatus: string | null;
  cause: string;
  actor: string;
  details: Record<string, unknown> | null;
  prevHash: string;
  hash: string;
}): AuditRecord {
  return {
    schema: LAYOUT_SCHEMA_VERSION,
    seq: e.seq,
    at: iso(e.at),
    entity_id: e.entityId === null ? null : e.entityId.toString(),
    name: e.name,
    kind: e.kind,
    from_status: e.fromStatus,
    to_status: e.toStatus,
    cause: e.cause,
    actor: e.actor,
    details: e.details,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

/**
 * Every entry a registry snapshot holds in KV: each entity's record and its claims (MachineID, name, and a Rack's key
 * fingerprint), a MachineID still held by a deleted Rack (its tombstone) unless a live row took it, each scenario and
 * each activation. Throws KvLayoutError when two rows would claim the same key (a registry that broke its own rule).
 */
export function registryEntries(snapshot: RegistrySnapshot): LayoutEntry[] {
  const entries = new Map<string, LayoutEntry>();
  const add = (entry: LayoutEntry) => {
    const id = `${entry.bucket}/${entry.key}`;
    if (entries.has(id)) throw new KvLayoutError(entry.key, "claimed twice by the registry being imported");
    entries.set(id, { ...entry, value: encodeLayoutValue(entry.bucket, entry.key, entry.value) });
  };
  const claim = (kind: ClaimRecord["kind"], key: string, entityId: bigint) =>
    add({
      bucket: "claims",
      key,
      value: { schema: LAYOUT_SCHEMA_VERSION, kind, entity_id: entityId.toString(), retired: null },
    });
  const live = new Set<number>();
  for (const e of snapshot.entities) {
    // A node row is the single Mixer's own (itself, its Snake Tunnel): in a cluster each Mixer writes its own rows,
    // and the old ones would only hold names and MachineIDs no Mixer answers for.
    if (e.lifecycle === null) continue;
    const record = entityRecord(e);
    add({ bucket: "racks", key: layoutKeys.rack(e.entityId), value: record });
    claim("machine", layoutKeys.machine(e.machineId), e.entityId);
    claim("name", layoutKeys.name(e.name), e.entityId);
    if (record.lifecycle !== null) claim("key", layoutKeys.key(record.lifecycle.key_fingerprint), e.entityId);
    live.add(e.machineId);
  }
  for (const t of snapshot.tombstones) {
    if (live.has(t.machineId)) continue;
    add({
      bucket: "claims",
      key: layoutKeys.machine(t.machineId),
      value: {
        schema: LAYOUT_SCHEMA_VERSION,
        kind: "machine",
        entity_id: t.entityId.toString(),
        retired: { name: t.name, at: iso(t.retiredAt), reusable_after: iso(t.reusableAfter) },
      },
    });
  }
  for (const s of snapshot.scenarios) {
    add({ bucket: "scenarios", key: layoutKeys.scenario(s.name), value: scenarioValue(s) });
  }
  for (const a of snapshot.activations) {
    add({ bucket: "scenarios", key: layoutKeys.activation(a.seq), value: activationValue(a) });
  }
  const access = snapshot.access;
  if (access !== undefined) {
    for (const r of access.revocations)
      add({ bucket: "access", key: layoutKeys.revocation(r.public_key), value: r });
    for (const t of access.apiTokens) add({ bucket: "access", key: layoutKeys.apiToken(t.name), value: t });
    for (const t of access.enrollmentTokens)
      add({ bucket: "access", key: layoutKeys.enrollmentToken(t.id), value: t });
    for (const k of access.expectedKeys)
      add({ bucket: "access", key: layoutKeys.expectedKey(k.name), value: k });
  }
  return [...entries.values()];
}

/** A scenario's record (`scenario.<name>`). */
export function scenarioValue(s: RegistrySnapshot["scenarios"][number]): ScenarioRecord {
  return {
    schema: LAYOUT_SCHEMA_VERSION,
    name: s.name,
    version: s.version,
    yaml: s.yaml,
    spec: s.spec,
    imported_at: iso(s.importedAt),
    activated_at: isoOrNull(s.activatedAt),
    active: s.active,
  };
}

/** An activation's record (`activation.<seq>`). */
export function activationValue(a: RegistrySnapshot["activations"][number]): ActivationRecord {
  return {
    schema: LAYOUT_SCHEMA_VERSION,
    seq: a.seq,
    name: a.name,
    version: a.version,
    yaml: a.yaml,
    spec: a.spec,
    at: iso(a.at),
    actor: a.actor,
    cause: a.cause,
    reason: a.reason,
  };
}

/** JSON with object keys sorted at every level: two values are the same record exactly when these are equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/**
 * The nonce an import writes `entry` with: the same for the same record, so an import whose write timed out but
 * landed reads it back as its own (KvBucket.create), on this run or the next.
 */
export function importNonce(entry: LayoutEntry): string {
  const digest = createHash("sha256")
    .update(`${entry.bucket}/${entry.key}\n${canonicalJson(entry.value)}`)
    .digest("base64url");
  return `import-${digest.slice(0, 22)}`;
}
