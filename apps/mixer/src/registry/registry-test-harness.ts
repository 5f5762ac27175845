// Test-only: a RegistryStore on a fresh temp DuckDB file with a hand-driven clock, plus table snapshots.
import { type TempDuckDbPath, tempDuckDbPath } from "@fluxrig/testkit";
import type { Db } from "../db/duckdb-database.js";
import type { InsertRackInput } from "./rack-writes.js";
import type { RackRecord } from "./registry-records.js";
import { RegistryStore } from "./registry-store.js";

/** Every table the store owns, for "nothing changed" checks. */
export const STORE_TABLES = [
  "registry",
  "rack_lifecycle",
  "machine_id_tombstones",
  "name_conflicts",
  "audit_events",
  "scenarios",
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

export interface TestRegistry {
  store: RegistryStore;
  db: Db;
  clock: ManualClock;
  path: string;
  /** Closes the store and opens the same file again (migrations run again: they must be no-ops). */
  reopen(): Promise<TestRegistry>;
  /** Closes the store (if open) and removes the temp dir. */
  cleanup(): Promise<void>;
}

export async function openTestRegistry(
  file: TempDuckDbPath = tempDuckDbPath(),
  clock = new ManualClock(),
): Promise<TestRegistry> {
  const store = await RegistryStore.open({ path: file.path, clock: clock.now });
  return {
    store,
    db: store.db,
    clock,
    path: file.path,
    reopen: async () => {
      await store.close();
      return openTestRegistry(file, clock);
    },
    cleanup: async () => {
      await store.close();
      await file.remove();
    },
  };
}

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

export async function insertRacks(store: RegistryStore, count: number, from = 1): Promise<RackRecord[]> {
  const racks: RackRecord[] = [];
  for (let n = from; n < from + count; n++) racks.push(await store.insertRack(rackInput(n)));
  return racks;
}

/** Every row of every store table as text, to compare before and after a refused change. */
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
