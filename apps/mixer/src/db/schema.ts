// Drizzle table definitions of the registry database; the DDL itself lives in ./migrations (see docs/registry-schema.md).
//
// These definitions type queries; they never generate DDL. `.notNull()` on a `registry` column states what the
// store always writes, while the seed's DDL (SPEC §4, kept exact) leaves those columns nullable.
import { bigint, boolean, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { jsonObject, timestamp, ubigint, usmallint } from "./column-types.js";

/** SPEC §4's table, exactly the seed's columns: one row per node (Mixer, Rack, Snake Tunnel). */
export const registry = pgTable("registry", {
  entityId: ubigint("entity_id").primaryKey(),
  typeId: usmallint("type_id").notNull(),
  machineId: usmallint("machine_id").notNull(),
  name: text("name").notNull().unique(),
  status: text("status").notNull(),
  version: text("version").notNull(),
  attributes: jsonObject("attributes").notNull(),
  stats: jsonObject("stats"),
  lastSeen: timestamp("last_seen"),
});

/** Per-Rack state that is not in the seed's columns; one row per Rack row in `registry`. */
export const rackLifecycle = pgTable("rack_lifecycle", {
  entityId: ubigint("entity_id").primaryKey(),
  publicKey: text("public_key").notNull().unique(),
  firstSeen: timestamp("first_seen").notNull(),
  statusChangedAt: timestamp("status_changed_at").notNull(),
  passportSerial: integer("passport_serial").notNull(),
  passportIssuedAt: timestamp("passport_issued_at"),
  passportExpiresAt: timestamp("passport_expires_at"),
  passportsValidUntil: timestamp("passports_valid_until"),
  lastSource: text("last_source"),
  helloCount: bigint("hello_count", { mode: "number" }).notNull(),
  flaps: integer("flaps").notNull(),
});

/** Other keys that claimed a taken name: never a takeover, always visible to the operator. */
export const nameConflicts = pgTable(
  "name_conflicts",
  {
    name: text("name").notNull(),
    claimedPublicKey: text("claimed_public_key").notNull(),
    holderEntityId: ubigint("holder_entity_id"),
    firstAt: timestamp("first_at").notNull(),
    lastAt: timestamp("last_at").notNull(),
    attempts: bigint("attempts", { mode: "number" }).notNull(),
    lastSource: text("last_source"),
    /** What the claiming key's latest hello reported about its host (migration 2); NULL before that. */
    lastAttributes: jsonObject("last_attributes"),
    /** The software version of the claiming key's latest hello (migration 2). */
    lastVersion: text("last_version"),
  },
  (table) => [primaryKey({ columns: [table.name, table.claimedPublicKey] })],
);

/** The tamper-evident audit log: each row's hash covers its fields and the previous row's hash. */
export const auditEvents = pgTable("audit_events", {
  seq: bigint("seq", { mode: "number" }).primaryKey(),
  at: timestamp("at").notNull(),
  entityId: ubigint("entity_id"),
  name: text("name"),
  kind: text("kind").notNull(),
  fromStatus: text("from_status"),
  toStatus: text("to_status"),
  cause: text("cause").notNull(),
  actor: text("actor").notNull(),
  details: jsonObject("details"),
  prevHash: text("prev_hash").notNull(),
  hash: text("hash").notNull(),
});

/** Imported scenarios; at most one has `active = true`. */
export const scenarios = pgTable("scenarios", {
  name: text("name").primaryKey(),
  version: text("version").notNull(),
  yaml: text("yaml").notNull(),
  spec: jsonObject("spec").notNull(),
  importedAt: timestamp("imported_at").notNull(),
  activatedAt: timestamp("activated_at"),
  active: boolean("active").notNull(),
});

/** Rack keys revoked on the bus (migration 3): the fleet account JWT's revocation list, one row per key. */
export const busRevocations = pgTable("bus_revocations", {
  publicKey: text("public_key").primaryKey(),
  revokedAt: timestamp("revoked_at").notNull(),
  name: text("name").notNull(),
  cause: text("cause").notNull(),
});

/** Named API tokens (migration 4): the secret's SHA-256 only, never the secret. */
export const apiTokens = pgTable("api_tokens", {
  name: text("name").primaryKey(),
  role: text("role").notNull(),
  secretSha256: text("secret_sha256").notNull(),
  createdAt: timestamp("created_at").notNull(),
  createdBy: text("created_by").notNull(),
});

/** Every scenario activation with the version it activated (migration 5); rows are only ever added. */
export const scenarioActivations = pgTable("scenario_activations", {
  seq: integer("seq").primaryKey(),
  name: text("name").notNull(),
  version: text("version").notNull(),
  yaml: text("yaml").notNull(),
  spec: jsonObject("spec").notNull(),
  at: timestamp("activated_at").notNull(),
  actor: text("actor").notNull(),
  cause: text("cause").notNull(),
  reason: text("reason"),
});

/** Enrollment tokens (migration 6): the secret's SHA-256 only, never the secret. */
export const enrollmentTokens = pgTable("enrollment_tokens", {
  id: text("id").primaryKey(),
  pattern: text("pattern").notNull(),
  uses: integer("uses").notNull(),
  used: integer("used").notNull(),
  expiresAt: timestamp("expires_at").notNull(),
  secretSha256: text("secret_sha256").notNull(),
  createdAt: timestamp("created_at").notNull(),
  createdBy: text("created_by").notNull(),
});

/** Expected keys (migration 7): a name that may only be adopted with the key of this fingerprint. */
export const expectedKeys = pgTable("expected_keys", {
  name: text("name").primaryKey(),
  keyFingerprint: text("key_fingerprint").notNull(),
  createdAt: timestamp("created_at").notNull(),
  createdBy: text("created_by").notNull(),
});
