// One write batch in SQL: a planned stage written to DuckDB with a handful of statements, not one per row.
//
// Each statement through @duckdb/node-api costs about 0.6 ms here, whatever it does, and binding many parameters
// is slower still (see presence-writes.ts). So new rows and audit events go through DuckDB appenders straight into
// their tables, and changed rows through one appender-filled temp table and two UPDATE ... FROM. Bus revocations go
// through a temp table too (a sweep can remove many pending Racks in one batch, a prune many revocations). Deletions,
// tombstones and name conflicts are rare and keep one statement per row.
import type { DuckDBAppender, DuckDBConnection } from "@duckdb/node-api";
import { eq } from "drizzle-orm";
import { QueryFailedError } from "../db/database-errors.js";
import type { Db } from "../db/duckdb-database.js";
import { toJsonText, toTimestamp } from "../db/duckdb-values.js";
import { registry, scenarioActivations, scenarios } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";
import type { AuditEvent } from "./audit-chain.js";
import { type AuditHead, sealAuditEvent } from "./audit-log.js";
import { clearNameConflicts, recordNameConflict } from "./name-conflicts.js";
import type { RackLookup } from "./rack-directory.js";
import type { RackRecord } from "./registry-records.js";
import type { RevocationRecord } from "./revocation-list.js";
import type { StageBase, WriteStage } from "./write-stage.js";

// Replaced at every use, never emptied with DELETE: DuckDB keeps deleted rows' storage (see presence-writes.ts).
const CREATE_RACK_BATCH = `CREATE OR REPLACE TEMP TABLE rack_batch (
  entity_id UBIGINT,
  status VARCHAR,
  version VARCHAR,
  attributes VARCHAR,
  status_changed_at TIMESTAMP,
  passport_serial INTEGER,
  passport_issued_at TIMESTAMP,
  passport_expires_at TIMESTAMP,
  passports_valid_until TIMESTAMP,
  last_source VARCHAR,
  hello_count BIGINT,
  flaps INTEGER
)`;
// last_seen and stats belong to presence (presence-writes.ts): a Rack's other columns are written here.
const APPLY_REGISTRY = `UPDATE registry
SET status = b.status, version = b.version, attributes = b.attributes::JSON
FROM temp.main.rack_batch AS b
WHERE registry.entity_id = b.entity_id`;
const APPLY_LIFECYCLE = `UPDATE rack_lifecycle
SET status_changed_at = b.status_changed_at, passport_serial = b.passport_serial,
  passport_issued_at = b.passport_issued_at, passport_expires_at = b.passport_expires_at,
  passports_valid_until = b.passports_valid_until, last_source = b.last_source,
  hello_count = b.hello_count, flaps = b.flaps
FROM temp.main.rack_batch AS b
WHERE rack_lifecycle.entity_id = b.entity_id`;

// Revocations kept (new, or revoked again) and pruned, by key: a key is in one or the other, never both, so no
// index key is deleted and inserted again in one transaction (see the tombstones in writeBatch).
const CREATE_REVOCATION_BATCH = `CREATE OR REPLACE TEMP TABLE revocation_batch (
  public_key VARCHAR,
  revoked_at TIMESTAMP,
  name VARCHAR,
  cause VARCHAR,
  kept BOOLEAN
)`;
const PRUNE_REVOCATIONS = `DELETE FROM bus_revocations
WHERE public_key IN (SELECT public_key FROM temp.main.revocation_batch WHERE NOT kept)`;
const UPSERT_REVOCATIONS = `INSERT INTO bus_revocations (public_key, revoked_at, name, cause)
SELECT public_key, revoked_at, name, cause FROM temp.main.revocation_batch WHERE kept
ON CONFLICT (public_key) DO UPDATE SET revoked_at = excluded.revoked_at, name = excluded.name, cause = excluded.cause`;

/** What a stage comes to in rows: the sets below never overlap except deletes followed by inserts of the same id. */
interface RackRows {
  deletes: RackRecord[];
  inserts: RackRecord[];
  updates: RackRecord[];
}

/** Sorts the stage's Racks against what was committed before it: new rows, changed rows, deleted rows. */
export function rackRows(stage: WriteStage, before: RackLookup): RackRows {
  const rows: RackRows = { deletes: [], inserts: [], updates: [] };
  for (const [entityId, after] of stage.racks) {
    const previous = before.rack(entityId);
    const replaced = stage.deleted.has(entityId);
    if (previous && (replaced || !after)) rows.deletes.push(previous);
    if (after && (!previous || replaced)) rows.inserts.push(after);
    else if (after) rows.updates.push(after);
  }
  for (const entityId of stage.touched) {
    if (stage.racks.has(entityId)) continue;
    const current = before.rack(entityId);
    if (current) rows.updates.push(current);
  }
  return rows;
}

/**
 * Writes everything `stage` holds, in the caller's transaction, and returns the audit events as stored (the chain
 * continued from `head`). `before` is the committed state the stage was planned on. With `checked`, new rows go
 * through temp tables and INSERT ... SELECT instead of straight appenders: a little slower, but a constraint
 * violation then fails with DuckDB's own message (an appender only reports "transaction is aborted").
 */
export async function writeBatch(
  db: Db,
  stage: WriteStage,
  before: StageBase,
  head: AuditHead,
  options: { checked?: boolean } = {},
): Promise<AuditEvent[]> {
  const into = options.checked ? appendThroughTemp : appendDirect;
  for (const [machineId, row] of stage.tombstones) {
    if (!row) {
      await db.run("DELETE FROM machine_id_tombstones WHERE machine_id = $1", [machineId]);
      continue;
    }
    // A reused MachineID retired again still has its old tombstone row: rewrite it in place (only non-key columns
    // change), never DELETE and re-INSERT the key. DuckDB aborts the whole process (FATAL "duplicate key" while
    // reverting the commit) when a transaction that deleted and re-inserted one index key fails to commit, as it
    // does on a full or read-only disk.
    await db.run(
      `INSERT INTO machine_id_tombstones (machine_id, entity_id, name, retired_at, reusable_after)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (machine_id) DO UPDATE SET entity_id = excluded.entity_id, name = excluded.name,
         retired_at = excluded.retired_at, reusable_after = excluded.reusable_after`,
      [row.machineId, row.entityId, row.name, toTimestamp(row.retiredAt), toTimestamp(row.reusableAfter)],
    );
  }
  for (const write of stage.conflicts) {
    if (write.kind === "clear") await clearNameConflicts(db, write.name);
    else {
      const { kind: _, ...input } = write;
      await recordNameConflict(db, input);
    }
  }
  await writeNodes(db, stage, before);
  // Named API tokens are few: one statement each. A name revoked and created again in one batch is one upsert,
  // never a delete and an insert of the same key (see the tombstones above).
  for (const [name, token] of stage.apiTokens) {
    if (!token) {
      await db.run("DELETE FROM api_tokens WHERE name = $1", [name]);
      continue;
    }
    await db.run(
      `INSERT INTO api_tokens (name, role, secret_sha256, created_at, created_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET role = excluded.role, secret_sha256 = excluded.secret_sha256,
         created_at = excluded.created_at, created_by = excluded.created_by`,
      [name, token.role, token.secretSha256, toTimestamp(token.createdAt), token.createdBy],
    );
  }
  // Enrollment tokens likewise: a creation or a spent use is one upsert of the whole row.
  for (const [id, token] of stage.enrollmentTokens) {
    if (!token) {
      await db.run("DELETE FROM enrollment_tokens WHERE id = $1", [id]);
      continue;
    }
    await db.run(
      `INSERT INTO enrollment_tokens (id, pattern, uses, used, expires_at, secret_sha256, created_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET used = excluded.used`,
      [
        id,
        token.pattern,
        token.uses,
        token.used,
        toTimestamp(token.expiresAt),
        token.secretSha256,
        toTimestamp(token.createdAt),
        token.createdBy,
      ],
    );
  }
  for (const [name, expected] of stage.expectedKeys) {
    if (!expected) {
      await db.run("DELETE FROM expected_keys WHERE name = $1", [name]);
      continue;
    }
    await db.run(
      `INSERT INTO expected_keys (name, key_fingerprint, created_at, created_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET key_fingerprint = excluded.key_fingerprint,
         created_at = excluded.created_at, created_by = excluded.created_by`,
      [name, expected.keyFingerprint, toTimestamp(expected.createdAt), expected.createdBy],
    );
  }
  for (const scenario of stage.scenarios.values()) {
    const { name: _, ...columns } = scenario;
    await ormQuery(
      db.orm.insert(scenarios).values(scenario).onConflictDoUpdate({ target: scenarios.name, set: columns }),
    );
  }
  for (const activation of stage.activations) {
    await ormQuery(db.orm.insert(scenarioActivations).values(activation));
  }
  const rows = rackRows(stage, before);
  for (const rack of rows.deletes) {
    await db.run("DELETE FROM rack_lifecycle WHERE entity_id = $1", [rack.entityId]);
    await db.run("DELETE FROM registry WHERE entity_id = $1", [rack.entityId]);
  }
  const events: AuditEvent[] = [];
  let last = head;
  for (const input of stage.audits) {
    const event = sealAuditEvent(last, input);
    events.push(event);
    last = { seq: event.seq, hash: event.hash };
  }
  // Serialized before taking the connection, so the queue is held only for database work.
  const inserts = rows.inserts.map(insertValues);
  const updates = rows.updates.map(updateValues);
  const revocations = [...stage.revocations].map(([publicKey, record]) =>
    revocationValues(publicKey, record),
  );
  await db.withConnection(async (connection) => {
    let step = "append to registry";
    try {
      if (inserts.length > 0) {
        await into(connection, "registry", inserts, appendRegistryRow);
        step = "append to rack_lifecycle";
        await into(connection, "rack_lifecycle", inserts, appendLifecycleRow);
      }
      if (updates.length > 0) {
        step = CREATE_RACK_BATCH;
        await connection.run(CREATE_RACK_BATCH);
        step = "append to rack_batch";
        await append(connection, "rack_batch", updates, appendBatchRow, "temp");
        step = APPLY_REGISTRY;
        await connection.run(APPLY_REGISTRY);
        step = APPLY_LIFECYCLE;
        await connection.run(APPLY_LIFECYCLE);
      }
      if (revocations.length > 0) {
        step = CREATE_REVOCATION_BATCH;
        await connection.run(CREATE_REVOCATION_BATCH);
        step = "append to revocation_batch";
        await append(connection, "revocation_batch", revocations, appendRevocationRow, "temp");
        step = PRUNE_REVOCATIONS;
        await connection.run(PRUNE_REVOCATIONS);
        step = UPSERT_REVOCATIONS;
        await connection.run(UPSERT_REVOCATIONS);
      }
      if (events.length > 0) {
        step = "append to audit_events";
        await into(connection, "audit_events", events, appendAuditRow);
      }
    } catch (error) {
      throw new QueryFailedError(step, { cause: error });
    }
  });
  return events;
}

/** The Mixer's own rows: written at start only, one statement each. */
async function writeNodes(db: Db, stage: WriteStage, before: StageBase): Promise<void> {
  const previous = new Map([...before.nodeRecords()].map((node) => [node.entityId, node]));
  for (const [entityId, node] of stage.nodes) {
    if (node === null && previous.has(entityId)) {
      await db.run("DELETE FROM registry WHERE entity_id = $1", [entityId]);
    }
  }
  for (const [entityId, node] of stage.nodes) {
    if (node === null) continue;
    const kept = previous.get(entityId);
    if (!kept) {
      await ormQuery(db.orm.insert(registry).values(node));
      continue;
    }
    // Only what can change, and `name` only when it does: DuckDB runs an UPDATE that names an indexed column
    // (name is UNIQUE) as a delete plus an insert, and when that commit fails (disk full) its rollback aborts
    // the whole process with a FATAL "duplicate key" instead of failing the start with the disk's error.
    const changes = {
      status: node.status,
      version: node.version,
      attributes: node.attributes,
      stats: node.stats,
      lastSeen: node.lastSeen,
      ...(kept.name !== node.name ? { name: node.name } : {}),
    };
    await ormQuery(db.orm.update(registry).set(changes).where(eq(registry.entityId, entityId)));
  }
}

type AppendRow<T> = (appender: DuckDBAppender, row: T) => void;

function appendDirect<T>(
  connection: DuckDBConnection,
  table: string,
  rows: readonly T[],
  appendRow: AppendRow<T>,
): Promise<void> {
  return append(connection, table, rows, appendRow);
}

/** Appends into a temp copy of `table`'s shape, then one INSERT ... SELECT, which names any violated constraint. */
async function appendThroughTemp<T>(
  connection: DuckDBConnection,
  table: string,
  rows: readonly T[],
  appendRow: AppendRow<T>,
): Promise<void> {
  const temp = `${table}_rows`;
  await connection.run(`CREATE OR REPLACE TEMP TABLE ${temp} AS SELECT * FROM main.${table} LIMIT 0`);
  await append(connection, temp, rows, appendRow, "temp");
  await connection.run(`INSERT INTO main.${table} SELECT * FROM temp.main.${temp}`);
}

async function append<T>(
  connection: DuckDBConnection,
  table: string,
  rows: readonly T[],
  appendRow: (appender: DuckDBAppender, row: T) => void,
  catalog?: string,
): Promise<void> {
  const appender = await connection.createAppender(table, null, catalog ?? null);
  try {
    for (const row of rows) {
      appendRow(appender, row);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

type Timestamp = ReturnType<typeof toTimestamp>;

interface InsertValues {
  rack: RackRecord;
  attributes: string;
  lastSeen: Timestamp | null;
  firstSeen: Timestamp;
  statusChangedAt: Timestamp;
  passport: PassportTimes;
}

interface PassportTimes {
  issuedAt: Timestamp | null;
  expiresAt: Timestamp | null;
  validUntil: Timestamp | null;
}

interface UpdateValues {
  rack: RackRecord;
  attributes: string;
  statusChangedAt: Timestamp;
  passport: PassportTimes;
}

function passportTimes(rack: RackRecord): PassportTimes {
  const life = rack.lifecycle;
  return {
    issuedAt: life.passportIssuedAt && toTimestamp(life.passportIssuedAt, "passportIssuedAt"),
    expiresAt: life.passportExpiresAt && toTimestamp(life.passportExpiresAt, "passportExpiresAt"),
    validUntil: life.passportsValidUntil && toTimestamp(life.passportsValidUntil, "passportsValidUntil"),
  };
}

function insertValues(rack: RackRecord): InsertValues {
  return {
    rack,
    attributes: toJsonText(rack.attributes, "attributes"),
    lastSeen: rack.lastSeen && toTimestamp(rack.lastSeen, "lastSeen"),
    firstSeen: toTimestamp(rack.lifecycle.firstSeen, "firstSeen"),
    statusChangedAt: toTimestamp(rack.lifecycle.statusChangedAt, "statusChangedAt"),
    passport: passportTimes(rack),
  };
}

function updateValues(rack: RackRecord): UpdateValues {
  return {
    rack,
    attributes: toJsonText(rack.attributes, "attributes"),
    statusChangedAt: toTimestamp(rack.lifecycle.statusChangedAt, "statusChangedAt"),
    passport: passportTimes(rack),
  };
}

function appendText(appender: DuckDBAppender, value: string | null): void {
  if (value === null) appender.appendNull();
  else appender.appendVarchar(value);
}

function appendTime(appender: DuckDBAppender, value: Timestamp | null): void {
  if (value === null) appender.appendNull();
  else appender.appendTimestamp(value);
}

// Column order of each table as created by migration 1 (appenders fill columns by position).

function appendRegistryRow(a: DuckDBAppender, v: InsertValues): void {
  a.appendUBigInt(v.rack.entityId);
  a.appendUSmallInt(v.rack.typeId);
  a.appendUSmallInt(v.rack.machineId);
  a.appendVarchar(v.rack.name);
  a.appendVarchar(v.rack.status);
  a.appendVarchar(v.rack.version);
  a.appendVarchar(v.attributes);
  a.appendNull();
  appendTime(a, v.lastSeen);
}

function appendLifecycleRow(a: DuckDBAppender, v: InsertValues): void {
  const life = v.rack.lifecycle;
  a.appendUBigInt(v.rack.entityId);
  a.appendVarchar(life.publicKey);
  a.appendTimestamp(v.firstSeen);
  a.appendTimestamp(v.statusChangedAt);
  appendPassportAndHello(a, v);
}

/** The columns both lifecycle appenders end with, in table order: the passport, then the hello facts. */
function appendPassportAndHello(a: DuckDBAppender, v: { rack: RackRecord; passport: PassportTimes }): void {
  const life = v.rack.lifecycle;
  a.appendInteger(life.passportSerial);
  appendTime(a, v.passport.issuedAt);
  appendTime(a, v.passport.expiresAt);
  appendTime(a, v.passport.validUntil);
  appendText(a, life.lastSource);
  a.appendBigInt(BigInt(life.helloCount));
  a.appendInteger(life.flaps);
}

function appendBatchRow(a: DuckDBAppender, v: UpdateValues): void {
  a.appendUBigInt(v.rack.entityId);
  a.appendVarchar(v.rack.status);
  a.appendVarchar(v.rack.version);
  a.appendVarchar(v.attributes);
  a.appendTimestamp(v.statusChangedAt);
  appendPassportAndHello(a, v);
}

interface RevocationValues {
  publicKey: string;
  /** Null for a pruned revocation. */
  record: (RevocationRecord & { at: Timestamp }) | null;
}

function revocationValues(publicKey: string, record: RevocationRecord | null): RevocationValues {
  return { publicKey, record: record && { ...record, at: toTimestamp(record.revokedAt, "revokedAt") } };
}

function appendRevocationRow(a: DuckDBAppender, v: RevocationValues): void {
  a.appendVarchar(v.publicKey);
  if (v.record === null) {
    a.appendNull();
    a.appendNull();
    a.appendNull();
    a.appendBoolean(false);
    return;
  }
  a.appendTimestamp(v.record.at);
  a.appendVarchar(v.record.name);
  a.appendVarchar(v.record.cause);
  a.appendBoolean(true);
}

function appendAuditRow(a: DuckDBAppender, e: AuditEvent): void {
  a.appendBigInt(BigInt(e.seq));
  a.appendTimestamp(toTimestamp(e.at, "at"));
  if (e.entityId === null) a.appendNull();
  else a.appendUBigInt(e.entityId);
  appendText(a, e.name);
  a.appendVarchar(e.kind);
  appendText(a, e.fromStatus);
  appendText(a, e.toStatus);
  a.appendVarchar(e.cause);
  a.appendVarchar(e.actor);
  appendText(a, e.details === null ? null : toJsonText(e.details, "details"));
  a.appendVarchar(e.prevHash);
  a.appendVarchar(e.hash);
}
