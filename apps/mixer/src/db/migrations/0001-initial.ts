// Migration 1: the registry table exactly as SPEC §4 states it, and the tables around it (docs/registry-schema.md).

/** Typed where it is listed (`MIGRATIONS` in migration.ts), so this file imports nothing and no circle forms. */
export const initialMigration = {
  version: 1,
  name: "initial",
  statements: [
    // The seed's columns, names and types, nothing else (TEXT is DuckDB's alias of VARCHAR).
    `CREATE TABLE registry (
      entity_id UBIGINT PRIMARY KEY,
      type_id USMALLINT,
      machine_id USMALLINT,
      name TEXT UNIQUE,
      status TEXT,
      version TEXT,
      attributes JSON,
      stats JSON,
      last_seen TIMESTAMP
    )`,
    // No foreign keys anywhere: DuckDB cannot delete a referenced row in the transaction that deletes its
    // referrers, and every multi-table change already happens in one store transaction.
    `CREATE TABLE rack_lifecycle (
      entity_id UBIGINT PRIMARY KEY,
      public_key TEXT NOT NULL UNIQUE,
      first_seen TIMESTAMP NOT NULL,
      status_changed_at TIMESTAMP NOT NULL,
      passport_serial INTEGER NOT NULL DEFAULT 0,
      passport_issued_at TIMESTAMP,
      passport_expires_at TIMESTAMP,
      passports_valid_until TIMESTAMP,
      last_source TEXT,
      hello_count BIGINT NOT NULL DEFAULT 0,
      flaps INTEGER NOT NULL DEFAULT 0
    )`,
    `CREATE TABLE machine_id_tombstones (
      machine_id USMALLINT PRIMARY KEY,
      entity_id UBIGINT NOT NULL,
      name TEXT NOT NULL,
      retired_at TIMESTAMP NOT NULL,
      reusable_after TIMESTAMP NOT NULL
    )`,
    `CREATE TABLE name_conflicts (
      name TEXT NOT NULL,
      claimed_public_key TEXT NOT NULL,
      holder_entity_id UBIGINT,
      first_at TIMESTAMP NOT NULL,
      last_at TIMESTAMP NOT NULL,
      attempts BIGINT NOT NULL,
      last_source TEXT,
      PRIMARY KEY (name, claimed_public_key)
    )`,
    // "at" is a keyword in DuckDB's grammar, so raw SQL must quote it (drizzle always quotes identifiers).
    `CREATE TABLE audit_events (
      seq BIGINT PRIMARY KEY,
      "at" TIMESTAMP NOT NULL,
      entity_id UBIGINT,
      name TEXT,
      kind TEXT NOT NULL,
      from_status TEXT,
      to_status TEXT,
      cause TEXT NOT NULL,
      actor TEXT NOT NULL,
      details JSON,
      prev_hash TEXT NOT NULL,
      hash TEXT NOT NULL
    )`,
    `CREATE TABLE scenarios (
      name TEXT PRIMARY KEY,
      version TEXT NOT NULL,
      yaml TEXT NOT NULL,
      spec JSON NOT NULL,
      imported_at TIMESTAMP NOT NULL,
      activated_at TIMESTAMP,
      active BOOLEAN NOT NULL DEFAULT false
    )`,
  ],
};
