// Test-only: a migrated registry on a fresh temp DuckDB file with a hand-driven clock, the writer over it, and reads.
import { EntityType } from "@fluxrig/entity-id";
import { type TempDuckDbPath, tempDuckDbPath } from "@fluxrig/testkit";
import { type Db, openDatabase } from "../../src/db/duckdb-database.js";
import { migrate } from "../../src/db/migrate.js";
import { ApiTokenList } from "../../src/registry/api-token-list.js";
import type { AuditChainVerdict, AuditEvent } from "../../src/registry/audit-chain.js";
import { type ListAuditQuery, listAudit, verifyAuditChain } from "../../src/registry/audit-log.js";
import { EnrollmentTokenList } from "../../src/registry/enrollment-token-list.js";
import { ExpectedKeyList } from "../../src/registry/expected-key-list.js";
import { MachineIdPool } from "../../src/registry/machine-id-pool.js";
import { listNameConflicts, type NameConflict } from "../../src/registry/name-conflicts.js";
import { RackDirectory } from "../../src/registry/rack-directory.js";
import type { RackStatus } from "../../src/registry/rack-status.js";
import type { RackRecord } from "../../src/registry/registry-records.js";
import { RegistryWriter } from "../../src/registry/registry-writer.js";
import { RevocationList } from "../../src/registry/revocation-list.js";
import { ScenarioCatalog } from "../../src/registry/scenario-catalog.js";
import { type InsertRackInput, type NodeRowInput, planInsertRack } from "../../src/registry/write-plans.js";
import { committedBase, type StageBase, type WriteStage } from "../../src/registry/write-stage.js";
import { countRacksByStatus, getRackByEntityId } from "./registry-oracle.js";

/** Every table the registry owns, for "nothing changed" checks. */
export const STORE_TABLES = [
  "registry",
  "rack_lifecycle",
  "machine_id_tombstones",
  "name_conflicts",
  "audit_events",
  "scenarios",
  "bus_revocations",
  "api_tokens",
  "enrollment_tokens",
  "expected_keys",
  "schema_migrations",
] as const;

/** A clock that moves only when told to. */
export class ManualClock {
  #ms: number;
  constructor(start = "2030-01-01T00:00:00.000Z") {
    this.#ms = Date.parse(start);
  }
  now = (): Date => new Date(this.#ms);
  advance(ms: number): Date {
    this.#ms += ms;
    return this.now();
  }
}

/** Reads of what the file holds, for assertions (the running Mixer reads its directory instead). */
export interface RegistryReads {
  getByEntityId(entityId: bigint): Promise<RackRecord | undefined>;
  listAudit(query: ListAuditQuery): Promise<AuditEvent[]>;
  verifyAuditChain(): Promise<AuditChainVerdict>;
  countByStatus(): Promise<Record<RackStatus, number>>;
  listConflicts(name?: string): Promise<NameConflict[]>;
}

export interface TestRegistry {
  db: Db;
  store: RegistryReads;
  clock: ManualClock;
  path: string;
  /** Closes the file and opens it again (migrations run again: they must be no-ops). */
  reopen(): Promise<TestRegistry>;
  /** Closes the file (if open) and removes the temp dir. */
  cleanup(): Promise<void>;
}

export async function openTestRegistry(
  file: TempDuckDbPath = tempDuckDbPath(),
  clock = new ManualClock(),
): Promise<TestRegistry> {
  const db = await openDatabase({ path: file.path });
  await migrate(db, { now: clock.now() });
  return {
    db,
    store: {
      getByEntityId: (entityId) => getRackByEntityId(db, entityId),
      listAudit: (query) => listAudit(db, query),
      verifyAuditChain: () => verifyAuditChain(db),
      countByStatus: () => countRacksByStatus(db),
      listConflicts: (name) => listNameConflicts(db, name),
    },
    clock,
    path: file.path,
    reopen: async () => {
      await db.close();
      return openTestRegistry(file, clock);
    },
    cleanup: async () => {
      await db.close();
      await file.remove();
    },
  };
}

/** The writer over a test registry, with what it keeps in memory, loaded from the file as the Mixer does. */
export interface TestWriter {
  writer: RegistryWriter;
  directory: RackDirectory;
  scenarios: ScenarioCatalog;
  revocations: RevocationList;
  apiTokens: ApiTokenList;
  enrollmentTokens: EnrollmentTokenList;
  expectedKeys: ExpectedKeyList;
  /** Every committed Rack change, as `kind:name`. */
  changes: string[];
}

export async function openTestWriter(db: Db): Promise<TestWriter> {
  const directory = await RackDirectory.load(db);
  const scenarios = await ScenarioCatalog.load(db);
  const revocations = await RevocationList.load(db);
  const apiTokens = await ApiTokenList.load(db);
  const enrollmentTokens = await EnrollmentTokenList.load(db);
  const expectedKeys = await ExpectedKeyList.load(db);
  const changes: string[] = [];
  // What presence follows: Racks entering and leaving the directory as their batches commit, removals first.
  directory.follow({
    added: (slot) => changes.push(`added:${slot.record.name}`),
    removed: (slot) => changes.push(`removed:${slot.record.name}`),
  });
  const writer = new RegistryWriter({
    db,
    directory,
    pool: await MachineIdPool.load(db),
    scenarios,
    revocations,
    apiTokens,
    enrollmentTokens,
    expectedKeys,
  });
  return { writer, directory, scenarios, revocations, apiTokens, enrollmentTokens, expectedKeys, changes };
}

/** An empty registry in memory, to plan on without a database. */
export function emptyRegistry(): {
  directory: RackDirectory;
  pool: MachineIdPool;
  revocations: RevocationList;
  base: StageBase;
} {
  const directory = new RackDirectory();
  const pool = new MachineIdPool();
  const revocations = new RevocationList();
  return {
    directory,
    pool,
    revocations,
    base: committedBase(directory, pool, new ScenarioCatalog(), revocations),
  };
}

/** Paths from a new (pending) Rack to each status through legal steps only. */
export const STATUS_PATHS: Record<RackStatus, RackStatus[]> = {
  pending: [],
  active: ["active"],
  offline: ["active", "offline"],
  rejected: ["rejected"],
  revoked: ["active", "revoked"],
};

/** The Mixer's own rows as a first start writes them (the Mixer on MachineID 1). */
export const MIXER_ROW: NodeRowInput = {
  typeId: EntityType.Mixer,
  machineId: 1,
  name: "mixer-1",
  version: "0.1.0",
  attributes: { os: "linux" },
  now: new Date("2030-01-01T00:00:00.000Z"),
};
export const SNAKE_ROW: NodeRowInput = {
  typeId: EntityType.SnakeTunnel,
  name: "mixer-1-snake",
  version: "0.1.0",
  attributes: {},
  now: new Date("2030-01-01T00:00:00.000Z"),
};

/** A Rack's enrollment input with sensible defaults; `n` makes name and key unique. */
export function rackInput(n: number, overrides: Partial<InsertRackInput> = {}): Omit<InsertRackInput, "now"> {
  return {
    name: `rack-${String(n).padStart(3, "0")}`,
    publicKey: `test-key-${n}`,
    status: "pending",
    version: "1.0.0",
    attributes: { hostname: `host-${n}`, os: "linux", arch: "x64" },
    source: "test",
    cause: "enrollment",
    actor: "test",
    ...overrides,
  };
}

/** The plan enrolling Rack `n` at `now`. */
export function insertPlan(n: number, now: Date, overrides: Partial<InsertRackInput> = {}) {
  return (stage: WriteStage): RackRecord => planInsertRack(stage, { ...rackInput(n), now, ...overrides });
}

/** Every row of every registry table as text, to compare before and after a refused change. */
export async function snapshotTables(db: Db): Promise<Record<string, string[]>> {
  const snapshot: Record<string, string[]> = {};
  for (const table of STORE_TABLES) {
    const result = await db.query(`SELECT * FROM ${table} ORDER BY ALL`);
    snapshot[table] = result.rows.map((row) => row.map((value) => String(value)).join("|"));
  }
  return snapshot;
}

/** Number of audit events. */
export async function auditCount(db: Db): Promise<number> {
  const result = await db.query("SELECT count(*) FROM audit_events");
  return Number(result.rows[0]?.[0] ?? 0);
}
