// What a crashed (or stopped) Mixer left in its DuckDB file, read from a COPY of registry.duckdb and its WAL, so the
// test replays the WAL itself and the Mixer's next start still recovers the untouched original.
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";

/** One Rack row with its lifecycle facts, as the file holds it. */
export interface RackFileRow {
  entityId: string;
  machineId: number;
  name: string;
  status: string;
  /** ms since the epoch, or null. */
  lastSeenMs: number | null;
  /** null when the lifecycle row is missing. */
  passportSerial: number | null;
  passportIssued: boolean;
  publicKey: string | null;
}

/** The registry as a file holds it, with the invariant violations already counted. */
export interface RegistrySnapshot {
  /** Every registry row (Mixer, Snake Tunnel, Racks). */
  rowCount: number;
  racks: Map<string, RackFileRow>;
  /** MachineIDs held by more than one registry row. */
  sharedMachineIds: Array<{ machineId: number; rows: number }>;
  /** rack_lifecycle rows without a registry row, or Rack rows without a lifecycle row. */
  orphans: number;
  /** Rows active/offline without an issued passport, or pending with one: half adopted. */
  halfAdopted: RackFileRow[];
  auditEvents: number;
}

/** Copies `<dataDir>/registry.duckdb` (and `.wal` when present) aside and reads it. */
export async function snapshotRegistry(dataDir: string): Promise<RegistrySnapshot> {
  const scratch = await mkdtemp(join(tmpdir(), "fluxrig-registry-copy-"));
  try {
    const file = join(scratch, "registry.duckdb");
    await copyFile(join(dataDir, "registry.duckdb"), file);
    await copyFile(join(dataDir, "registry.duckdb.wal"), `${file}.wal`).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    });
    return await readSnapshot(file);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function readSnapshot(file: string): Promise<RegistrySnapshot> {
  const instance = await DuckDBInstance.create(file);
  const conn = await instance.connect();
  const q = async (sql: string): Promise<Record<string, unknown>[]> =>
    (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  try {
    const rowCount = Number((await q("SELECT count(*) AS n FROM registry"))[0]?.n ?? 0);
    const rows = await q(`SELECT r.entity_id::VARCHAR AS entity_id, r.machine_id, r.name, r.status,
        epoch_ms(r.last_seen) AS last_seen_ms, l.passport_serial, l.passport_issued_at IS NOT NULL AS issued,
        l.public_key
      FROM registry r LEFT JOIN rack_lifecycle l ON l.entity_id = r.entity_id
      WHERE r.type_id = 3`);
    const racks = new Map<string, RackFileRow>();
    for (const r of rows) {
      const row: RackFileRow = {
        entityId: String(r.entity_id),
        machineId: Number(r.machine_id),
        name: String(r.name),
        status: String(r.status),
        lastSeenMs: r.last_seen_ms === null ? null : Number(r.last_seen_ms),
        passportSerial: r.passport_serial === null ? null : Number(r.passport_serial),
        passportIssued: r.issued === true,
        publicKey: r.public_key === null ? null : String(r.public_key),
      };
      racks.set(row.name, row);
    }
    const shared = await q(
      "SELECT machine_id, count(*) AS n FROM registry GROUP BY machine_id HAVING count(*) > 1",
    );
    const orphanRows = await q(`SELECT
        (SELECT count(*) FROM rack_lifecycle WHERE entity_id NOT IN (SELECT entity_id FROM registry))
        + (SELECT count(*) FROM registry WHERE type_id = 3
             AND entity_id NOT IN (SELECT entity_id FROM rack_lifecycle)) AS n`);
    const auditEvents = Number((await q("SELECT count(*) AS n FROM audit_events"))[0]?.n ?? 0);
    const halfAdopted = [...racks.values()].filter((r) => {
      const holdsPassport = (r.passportSerial ?? 0) > 0 && r.passportIssued;
      if (r.status === "active" || r.status === "offline") return !holdsPassport;
      if (r.status === "pending") return (r.passportSerial ?? 0) > 0 || r.passportIssued;
      return false;
    });
    return {
      rowCount,
      racks,
      sharedMachineIds: shared.map((s) => ({ machineId: Number(s.machine_id), rows: Number(s.n) })),
      orphans: Number(orphanRows[0]?.n ?? 0),
      halfAdopted,
      auditEvents,
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
