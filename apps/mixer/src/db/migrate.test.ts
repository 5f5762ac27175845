// Migrations: applied once and recorded, the seed's registry table exactly, failures rolled back, newer files refused.
import { type TempDuckDbPath, tempDuckDbPath } from "@fluxrig/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MigrationError } from "./database-errors.js";
import { type Db, openDatabase } from "./duckdb-database.js";
import { currentVersion, migrate } from "./migrate.js";
import { initialMigration } from "./migrations/0001-initial.js";
import { conflictEvidenceMigration } from "./migrations/0002-conflict-evidence.js";
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from "./migrations/migration.js";

let file: TempDuckDbPath;
let db: Db;

beforeEach(async () => {
  file = tempDuckDbPath();
  db = await openDatabase({ path: file.path });
});

afterEach(async () => {
  await db.close();
  await file.remove();
});

async function tableNames(): Promise<string[]> {
  const result = await db.query("SELECT table_name FROM information_schema.tables ORDER BY table_name");
  return result.rows.map((row) => String(row[0]));
}

describe("migrate", () => {
  it("applies every migration once and records it; a second run and a reopen apply nothing", async () => {
    const first = await migrate(db, { now: new Date("2030-01-01T00:00:00Z") });
    expect(first).toEqual({ from: 0, to: LATEST_SCHEMA_VERSION, applied: MIGRATIONS.map((m) => m.version) });
    expect(await migrate(db)).toEqual({
      from: LATEST_SCHEMA_VERSION,
      to: LATEST_SCHEMA_VERSION,
      applied: [],
    });

    await db.close();
    db = await openDatabase({ path: file.path });
    expect((await migrate(db)).applied).toEqual([]);
    const recorded = await db.query(
      "SELECT version, name, applied_at FROM schema_migrations ORDER BY version",
    );
    expect(recorded.rows.map((row) => [row[0], row[1], String(row[2])])).toEqual([
      [1, "initial", "2030-01-01 00:00:00"],
      [2, "conflict-evidence", "2030-01-01 00:00:00"],
      [3, "bus-revocations", "2030-01-01 00:00:00"],
      [4, "api-tokens", "2030-01-01 00:00:00"],
      [5, "scenario-activations", "2030-01-01 00:00:00"],
      [6, "enrollment-tokens", "2030-01-01 00:00:00"],
      [7, "expected-keys", "2030-01-01 00:00:00"],
    ]);
    expect(await tableNames()).toEqual([
      "api_tokens",
      "audit_events",
      "bus_revocations",
      "enrollment_tokens",
      "expected_keys",
      "machine_id_tombstones",
      "name_conflicts",
      "rack_lifecycle",
      "registry",
      "scenario_activations",
      "scenarios",
      "schema_migrations",
    ]);
  });

  it("creates the registry table with exactly the seed's columns and DuckDB types", async () => {
    await migrate(db);
    const described = await db.query("DESCRIBE registry");
    const columns = described.rows.map((row) => ({ name: row[0], type: row[1], key: row[3] }));
    // TEXT is DuckDB's alias of VARCHAR, so DESCRIBE reports the TEXT columns as VARCHAR.
    expect(columns).toEqual([
      { name: "entity_id", type: "UBIGINT", key: "PRI" },
      { name: "type_id", type: "USMALLINT", key: null },
      { name: "machine_id", type: "USMALLINT", key: null },
      { name: "name", type: "VARCHAR", key: "UNI" },
      { name: "status", type: "VARCHAR", key: null },
      { name: "version", type: "VARCHAR", key: null },
      { name: "attributes", type: "JSON", key: null },
      { name: "stats", type: "JSON", key: null },
      { name: "last_seen", type: "TIMESTAMP", key: null },
    ]);
  });

  it("refuses a database written by a newer Mixer and leaves it untouched", async () => {
    await migrate(db);
    await db.run(
      "INSERT INTO schema_migrations VALUES (99, 'from the future', TIMESTAMP '2031-01-01 00:00:00')",
    );
    const refused = await migrate(db).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MigrationError);
    expect(refused).toMatchObject({ version: 99, code: "migration_failed" });
    expect((refused as Error).message).toMatch(
      new RegExp(`schema version 99.*only up to ${LATEST_SCHEMA_VERSION}`),
    );
    expect(await currentVersion(db)).toBe(99);
  });

  it("rolls a failing migration back completely and names its version", async () => {
    const broken = {
      version: 2,
      name: "broken",
      statements: ["CREATE TABLE half_done (a INTEGER)", "SELECT * FROM no_such_table"],
    };
    const failed = await migrate(db, { migrations: [initialMigration, broken] }).catch(
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(MigrationError);
    expect(failed).toMatchObject({ version: 2 });
    expect(await currentVersion(db)).toBe(1);
    expect(await tableNames()).not.toContain("half_done");
  });

  it("migration 2 keeps the name conflicts recorded before it, with no reported evidence yet", async () => {
    await migrate(db, { migrations: [initialMigration] });
    await db.run(
      `INSERT INTO name_conflicts VALUES ('rack-a', 'k1', NULL, TIMESTAMP '2030-01-01 00:00:00',
        TIMESTAMP '2030-01-01 00:00:00', 3, 'x')`,
    );
    expect((await migrate(db)).applied).toEqual([2, 3, 4, 5, 6, 7]);
    const rows = await db.query("SELECT name, attempts, last_attributes, last_version FROM name_conflicts");
    expect(rows.rows).toEqual([["rack-a", 3n, null, null]]);
  });

  it("migration 3 adds an empty bus revocation list to a registry of schema 2, keeping its Racks", async () => {
    await migrate(db, { migrations: [initialMigration, conflictEvidenceMigration] });
    await db.run(
      `INSERT INTO rack_lifecycle (entity_id, public_key, first_seen, status_changed_at)
        VALUES (216282733276561408, 'k1', TIMESTAMP '2030-01-01 00:00:00', TIMESTAMP '2030-01-01 00:00:00')`,
    );
    expect((await migrate(db)).applied).toEqual([3, 4, 5, 6, 7]);
    expect((await db.query("SELECT count(*) FROM bus_revocations")).rows).toEqual([[0n]]);
    expect((await db.query("SELECT public_key FROM rack_lifecycle")).rows).toEqual([["k1"]]);
    const columns = await db.query(
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'bus_revocations' ORDER BY ordinal_position",
    );
    expect(columns.rows).toEqual([
      ["public_key", "VARCHAR", "NO"],
      ["revoked_at", "TIMESTAMP", "NO"],
      ["name", "VARCHAR", "NO"],
      ["cause", "VARCHAR", "NO"],
    ]);
  });

  it("migration 4 adds an empty named API token table: names, roles and secret digests only", async () => {
    expect((await migrate(db)).applied).toContain(4);
    expect((await db.query("SELECT count(*) FROM api_tokens")).rows).toEqual([[0n]]);
    const columns = await db.query(
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'api_tokens' ORDER BY ordinal_position",
    );
    expect(columns.rows).toEqual([
      ["name", "VARCHAR", "NO"],
      ["role", "VARCHAR", "NO"],
      ["secret_sha256", "VARCHAR", "NO"],
      ["created_at", "TIMESTAMP", "NO"],
      ["created_by", "VARCHAR", "NO"],
    ]);
  });

  it("migration 5 records the scenario active before it as activation 1 (and no inactive one)", async () => {
    const upTo4 = MIGRATIONS.filter((m) => m.version <= 4);
    await migrate(db, { migrations: upTo4 });
    await db.run(
      `INSERT INTO scenarios VALUES
        ('lab', '3', 'meta: {name: lab, version: 3}', '{"meta":{"name":"lab","version":"3"}}',
          TIMESTAMP '2030-01-01 00:00:00', TIMESTAMP '2030-01-02 00:00:00', true),
        ('old', '1', 'meta: {name: old, version: 1}', '{"meta":{"name":"old","version":"1"}}',
          TIMESTAMP '2030-01-01 00:00:00', NULL, false)`,
    );
    expect((await migrate(db)).applied).toEqual([5, 6, 7]);
    const rows = await db.query(
      "SELECT seq, name, version, CAST(activated_at AS TEXT), actor, cause, reason FROM scenario_activations",
    );
    expect(rows.rows).toEqual([[1, "lab", "3", "2030-01-02 00:00:00", "unknown", "before-history", null]]);
  });

  it("migration 6 adds an empty enrollment token table: patterns, uses, expiry and secret digests only", async () => {
    expect((await migrate(db)).applied).toContain(6);
    expect((await db.query("SELECT count(*) FROM enrollment_tokens")).rows).toEqual([[0n]]);
    const columns = await db.query(
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'enrollment_tokens' ORDER BY ordinal_position",
    );
    expect(columns.rows).toEqual([
      ["id", "VARCHAR", "NO"],
      ["pattern", "VARCHAR", "NO"],
      ["uses", "INTEGER", "NO"],
      ["used", "INTEGER", "NO"],
      ["expires_at", "TIMESTAMP", "NO"],
      ["secret_sha256", "VARCHAR", "NO"],
      ["created_at", "TIMESTAMP", "NO"],
      ["created_by", "VARCHAR", "NO"],
    ]);
  });

  it("migration 7 adds an empty expected key table: a name and a key fingerprint", async () => {
    expect((await migrate(db)).applied).toContain(7);
    expect((await db.query("SELECT count(*) FROM expected_keys")).rows).toEqual([[0n]]);
    const columns = await db.query(
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'expected_keys' ORDER BY ordinal_position",
    );
    expect(columns.rows).toEqual([
      ["name", "VARCHAR", "NO"],
      ["key_fingerprint", "VARCHAR", "NO"],
      ["created_at", "TIMESTAMP", "NO"],
      ["created_by", "VARCHAR", "NO"],
    ]);
  });

  it("refuses a migration list with gaps before touching the database", async () => {
    const gap = { version: 3, name: "gap", statements: ["SELECT 1"] };
    await expect(migrate(db, { migrations: [initialMigration, gap] })).rejects.toBeInstanceOf(MigrationError);
    expect(await tableNames()).toEqual([]);
  });
});
