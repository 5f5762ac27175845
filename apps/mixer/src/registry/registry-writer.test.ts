// Group commit: many writes in one transaction, refusals and failures isolated, MachineIDs and the audit chain exact.
import { EntityType, nodeEntityId } from "@fluxrig/entity-id";
import { waitFor } from "@fluxrig/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getRackByName } from "../../test/support/registry-oracle.js";
import {
  auditCount,
  insertPlan,
  MIXER_ROW,
  openTestRegistry,
  openTestWriter,
  rackInput,
  SNAKE_ROW,
  snapshotTables,
  type TestRegistry,
} from "../../test/support/registry-test-harness.js";
import { DatabaseClosedError, QueryFailedError } from "../db/database-errors.js";
import { listAudit } from "./audit-log.js";
import { MachineIdPool } from "./machine-id-pool.js";
import { RackDirectory } from "./rack-directory.js";
import { listNodeRows } from "./rack-queries.js";
import {
  NameTakenError,
  PublicKeyTakenError,
  RegistryFullError,
  StalePassportSerialError,
} from "./registry-errors.js";
import type { MachineIdRange } from "./registry-records.js";
import type { RegistryWriter } from "./registry-writer.js";
import { RevocationList, unixSeconds } from "./revocation-list.js";
import { ScenarioCatalog } from "./scenario-catalog.js";
import {
  type InsertRackInput,
  planActivateScenario,
  planDeleteRack,
  planImportScenario,
  planInsertRack,
  planNameConflict,
  planNodeRow,
  planPassportIssued,
  planPruneRevocations,
  planSetStatus,
} from "./write-plans.js";
import { committedBase, WriteStage } from "./write-stage.js";

let t: TestRegistry;
let directory: RackDirectory;
let scenarios: ScenarioCatalog;
let writer: RegistryWriter;
let changes: string[];
let revocations: RevocationList;

async function openWriter(): Promise<void> {
  ({ writer, directory, scenarios, revocations, changes } = await openTestWriter(t.db));
}

beforeEach(async () => {
  t = await openTestRegistry();
  await openWriter();
});

afterEach(async () => {
  await writer.close();
  await t.cleanup();
});

/** The lowest free id in `range` as the file has it: a pool loaded afresh, as the next start would. */
async function lowestFreeInFile(range: MachineIdRange, now: Date): Promise<number> {
  const pool = await MachineIdPool.load(t.db);
  return new WriteStage(
    committedBase(new RackDirectory(), pool, new ScenarioCatalog(), new RevocationList()),
  ).allocateMachineId(range, now);
}

const DAY = 86_400_000;
const by = { cause: "operator", actor: "alice" };

function insert(n: number, overrides: Partial<InsertRackInput> = {}) {
  return insertPlan(n, t.clock.now(), overrides);
}

describe("RegistryWriter", () => {
  it("commits concurrent writes in one transaction and settles each only after the commit", async () => {
    const settled: string[] = [];
    const racks = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        writer.submit(insert(i + 1)).then((rack) => {
          // The directory (and so every hello after this) already knows the Rack when its caller hears back.
          settled.push(`${rack.name}:${directory.rackByName(rack.name) ? "known" : "unknown"}`);
          return rack;
        }),
      ),
    );
    expect(writer.stats).toMatchObject({ batches: 1, writes: 50, largestBatch: 50 });
    expect(racks.map((rack) => rack.machineId)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(settled.every((s) => s.endsWith(":known"))).toBe(true);
    expect(changes).toHaveLength(50);
    // What a read of the file gives back is exactly what the writer returned.
    for (const rack of racks.slice(0, 3)) expect(await t.store.getByEntityId(rack.entityId)).toEqual(rack);
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true, count: 50 });
    expect((await listAudit(t.db, { limit: 1 }))[0]).toMatchObject({
      kind: "rack_enrolled",
      entityId: racks[0]!.entityId,
      toStatus: "pending",
    });
  });

  it("refuses a taken name or key alone, with typed errors, consuming no MachineID", async () => {
    const results = await Promise.allSettled([
      writer.submit(insert(1)),
      writer.submit(insert(2, { name: "rack-001" })),
      writer.submit(insert(3, { publicKey: "test-key-1" })),
      writer.submit(insert(4)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(NameTakenError);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(PublicKeyTakenError);
    const rows = await t.db.query("SELECT name, machine_id FROM registry ORDER BY name");
    expect(rows.rows).toEqual([
      ["rack-001", 1],
      ["rack-004", 2],
    ]);
    expect(writer.stats.batches).toBe(1);
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true, count: 2 });
  });

  it("commits a multi-step write whole or not at all: a refused step leaves none of its earlier steps", async () => {
    const rack = await writer.submit(insert(1));
    const before = await snapshotTables(t.db);
    const now = t.clock.now();
    const refused = await writer
      .submit((stage) => {
        planSetStatus(stage, rack.entityId, "active", { ...by, now });
        // Serial 0 is not above the last one: the whole write is refused, the status change with it.
        return planPassportIssued(stage, rack.entityId, {
          serial: 0,
          issuedAt: now,
          expiresAt: new Date(now.getTime() + DAY),
        });
      })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StalePassportSerialError);
    expect(await snapshotTables(t.db)).toEqual(before);
    expect(directory.rack(rack.entityId)?.status).toBe("pending");
  });

  it("retries a failed batch write by write: the good ones commit, the bad one fails clearly, nothing partial", async () => {
    // A row the directory does not know about (written behind the Mixer's back) makes one insert fail in SQL.
    await t.db.run(
      `INSERT INTO registry (entity_id, type_id, machine_id, name, status, version, attributes)
       VALUES ($1, 3, 999, 'rack-002', 'pending', '1', '{}')`,
      [nodeEntityId(EntityType.Rack, 999)],
    );
    const results = await Promise.allSettled([
      writer.submit(insert(1)),
      writer.submit(insert(2)),
      writer.submit(insert(3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(QueryFailedError);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/rack-002/);
    expect(writer.stats.retriedBatches).toBe(1);
    const lifecycle = await t.db.query("SELECT public_key FROM rack_lifecycle ORDER BY public_key");
    expect(lifecycle.rows).toEqual([["test-key-1"], ["test-key-3"]]);
    expect(directory.rackByPublicKey("test-key-2")).toBeUndefined();
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true, count: 2 });
    // The failed write's MachineID was never taken: the next Rack gets the lowest free one.
    expect((await writer.submit(insert(4))).machineId).toBe(3);
  });

  it("hands out the lowest free MachineID as the file has it, honouring tombstones until reusable_after", async () => {
    const range = { min: 10, max: 13 };
    const [a, b] = await Promise.all([
      writer.submit(insert(1, { machineIdRange: range })),
      writer.submit(insert(2, { machineIdRange: range })),
      writer.submit(insert(3, { machineIdRange: range })),
    ]);
    const now = t.clock.now();
    // a held a passport valid for a day: its id stays tombstoned that long. b never had one: free at once.
    await writer.submit((stage) => {
      planPassportIssued(stage, a!.entityId, {
        serial: 1,
        issuedAt: now,
        expiresAt: new Date(now.getTime() + DAY),
      });
      return planDeleteRack(stage, a!.entityId, { ...by, now });
    });
    // A deletion and an insert submitted together: the insert takes the id the deletion freed, in the next batch.
    const [, reused] = await Promise.all([
      writer.submit((stage) => planDeleteRack(stage, b!.entityId, { ...by, now })),
      writer.submit(insert(4, { machineIdRange: range })),
    ]);
    expect(reused?.machineId).toBe(11);
    expect(writer.stats.deferredWrites).toBe(1);
    expect(await lowestFreeInFile(range, now)).toBe(13);
    expect((await writer.submit(insert(5, { machineIdRange: range }))).machineId).toBe(13);

    const before = await snapshotTables(t.db);
    const full = await writer.submit(insert(6, { machineIdRange: range })).catch((error: unknown) => error);
    expect(full).toBeInstanceOf(RegistryFullError);
    expect(await snapshotTables(t.db)).toEqual(before);

    t.clock.advance(DAY);
    expect(await lowestFreeInFile(range, t.clock.now())).toBe(10);
    expect((await writer.submit(insert(6, { machineIdRange: range }))).machineId).toBe(10);
  });

  it("retires a reused MachineID again by rewriting its old tombstone row in place, not deleting and re-inserting it", async () => {
    // b never held a passport: its id is free at once, and c gets it while b's tombstone row stays in the table.
    const b = await writer.submit(insert(1));
    await writer.submit((stage) => planDeleteRack(stage, b.entityId, { ...by, now: t.clock.now() }));
    const c = await writer.submit(insert(2));
    expect(c.machineId).toBe(b.machineId);
    const tombstone = "SELECT rowid, entity_id, name FROM machine_id_tombstones WHERE machine_id = $1";
    const [[rowid]] = (await t.db.query(tombstone, [c.machineId])).rows as [[bigint]];
    await writer.submit((stage) => planDeleteRack(stage, c.entityId, { ...by, now: t.clock.now() }));
    // Same rowid: updated in place. A DELETE then INSERT of the key in one transaction would get a new one, and
    // makes DuckDB abort the process (FATAL "duplicate key" reverting the commit) when that commit fails on a full
    // or read-only disk.
    expect((await t.db.query(tombstone, [c.machineId])).rows).toEqual([[rowid, c.entityId, "rack-002"]]);
    expect((await t.db.query("SELECT count(*) FROM machine_id_tombstones")).rows).toEqual([[1n]]);
  });

  it("never commits a key freed and taken again in one transaction: such a write waits for the next batch", async () => {
    // DuckDB cannot undo a transaction that deleted a key and inserted it again: if its commit fails (full or
    // read-only disk) it aborts the process. So a write reusing what its batch freed goes to the next batch.
    const [a, b] = await Promise.all([writer.submit(insert(1)), writer.submit(insert(2))]);
    const now = t.clock.now();
    const batches = writer.stats.batches;
    const [, sameName, sameKey, unrelated] = await Promise.all([
      writer.submit((stage) => {
        planDeleteRack(stage, a.entityId, { ...by, now });
        return planDeleteRack(stage, b.entityId, { ...by, now });
      }),
      // a's name under a new key, b's key under a new name: both were let go by the deletion above. The third
      // shares nothing with them but takes the lowest free MachineID, which the deletion freed (no passport).
      writer.submit(insert(3, { name: a.name })),
      writer.submit(insert(4, { publicKey: b.lifecycle.publicKey })),
      writer.submit(insert(5)),
    ]);
    expect(sameName.name).toBe(a.name);
    expect(sameKey.lifecycle.publicKey).toBe(b.lifecycle.publicKey);
    // The deletion commits alone; the three inserts together in the next batch, on the freed ids.
    expect(writer.stats.deferredWrites).toBe(3);
    expect(writer.stats.batches - batches).toBe(2);
    expect([sameName, sameKey, unrelated].map((r) => r.machineId).sort()).toEqual(
      [a.machineId, b.machineId, Math.max(a.machineId, b.machineId) + 1].sort(),
    );
    expect(directory.rackByName(a.name)?.entityId).toBe(sameName.entityId);
    expect(directory.rackByPublicKey(b.lifecycle.publicKey)?.entityId).toBe(sameKey.entityId);
    expect(await auditCount(t.db)).toBeGreaterThan(0);
  });

  it("keeps a MachineID across a replace in one batch (delete and insert of the same entity id)", async () => {
    const old = await writer.submit(insert(1));
    const now = t.clock.now();
    const created = await writer.submit((stage) => {
      const removed = planDeleteRack(stage, old.entityId, { ...by, now });
      stage.deleteTombstone(removed.machineId);
      return planInsertRack(stage, {
        ...rackInput(1, { publicKey: "new-key" }),
        now,
        machineId: removed.machineId,
      });
    });
    expect(created.entityId).toBe(old.entityId);
    expect(await t.store.getByEntityId(old.entityId)).toMatchObject({ lifecycle: { publicKey: "new-key" } });
    expect((await t.db.query("SELECT count(*) FROM machine_id_tombstones")).rows).toEqual([[0n]]);
    expect(directory.rackByPublicKey("test-key-1")).toBeUndefined();
    expect(directory.rackByPublicKey("new-key")?.entityId).toBe(old.entityId);
    expect(changes).toEqual(["added:rack-001", "removed:rack-001", "added:rack-001"]);
  });

  it("continues the chain the file holds after a restart, whatever kind of write it appends", async () => {
    const rack = await writer.submit(insert(1));
    await writer.submit((stage) => planNodeRow(stage, { ...mixerRow, machineId: 100 }));
    const now = t.clock.now();
    await writer.submit((stage) =>
      planImportScenario(stage, { ...scenarioInput("demo"), now: t.clock.now(), actor: "alice" }),
    );
    await writer.close();
    // A new writer over the same file (the next start) reads the chain head once, in its first transaction.
    await openWriter();
    await writer.submit((stage) => planSetStatus(stage, rack.entityId, "active", { ...by, now }));
    await writer.submit((stage) => planActivateScenario(stage, "demo", { actor: "alice", now }));
    await writer.submit((stage) =>
      stage.appendAudit({ at: now, kind: "note", cause: "test", actor: "bob", details: { a: [1, 2] } }),
    );
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true, count: 6 });
  });

  it("leaves no audit event of a batch that failed in SQL, and the next event follows the last committed", async () => {
    await writer.submit(insert(1));
    await t.db.run(
      `INSERT INTO registry (entity_id, type_id, machine_id, name, status, version, attributes)
       VALUES ($1, 3, 999, 'rack-002', 'pending', '1', '{}')`,
      [nodeEntityId(EntityType.Rack, 999)],
    );
    await expect(writer.submit(insert(2))).rejects.toBeInstanceOf(QueryFailedError);
    expect(await auditCount(t.db)).toBe(1);
    await writer.submit(insert(3));
    expect((await listAudit(t.db, { limit: 10 })).map((event) => event.seq)).toEqual([1, 2]);
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true, count: 2 });
  });

  it("writes hello facts noted in memory with the next flush, and a reload sees what was committed", async () => {
    const rack = await writer.submit(insert(1));
    t.clock.advance(60_000);
    directory.noteHello(rack.entityId, { version: "2.0.0", source: "10.0.0.7" });
    directory.noteHello(rack.entityId, { version: "2.0.1", source: "10.0.0.8" });
    expect((await t.store.getByEntityId(rack.entityId))?.lifecycle.helloCount).toBe(1);
    const ids = directory.takeDirty();
    await writer.submit((stage) => {
      for (const id of ids) stage.touch(id);
    });
    expect(await t.store.getByEntityId(rack.entityId)).toMatchObject({
      version: "2.0.1",
      lifecycle: { helloCount: 3, lastSource: "10.0.0.8" },
    });
    await writer.submit((stage) =>
      planSetStatus(stage, rack.entityId, "active", { ...by, now: t.clock.now() }),
    );
    const reloaded = await RackDirectory.load(t.db);
    // Last seen included: a hello's sighting is presence's, so the directory holds the row's own.
    expect(reloaded.rack(rack.entityId)).toEqual(directory.rack(rack.entityId));
    expect(await auditCount(t.db)).toBe(2);
  });

  it("keeps every table's content across close and reopen", async () => {
    const [rack, gone] = await Promise.all([writer.submit(insert(1)), writer.submit(insert(2))]);
    const now = t.clock.now();
    await writer.submit((stage) => planSetStatus(stage, rack.entityId, "active", { ...by, now }));
    await writer.submit((stage) =>
      planNameConflict(stage, {
        name: rack.name,
        claimedPublicKey: "other",
        holderEntityId: rack.entityId,
        source: null,
        now,
      }),
    );
    await writer.submit((stage) => planImportScenario(stage, { ...scenarioInput("s"), now, actor: "alice" }));
    await writer.submit((stage) => planNodeRow(stage, { ...mixerRow, machineId: 100 }));
    await writer.submit((stage) => planDeleteRack(stage, gone.entityId, { ...by, now }));
    await writer.close();
    const before = await snapshotTables(t.db);
    t = await t.reopen();
    expect(await snapshotTables(t.db)).toEqual(before);
    // Two enrollments, a status change, an import, a node row and a deletion with its bus revocation (name
    // conflicts are not audited).
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true, count: 7 });
    // What a start loads from the file is what the writer held.
    await openWriter();
    expect(directory.rack(rack.entityId)).toEqual(await t.store.getByEntityId(rack.entityId));
    expect(scenarios.get("s")).toMatchObject({ version: "1", active: false });
  });

  it("writes the Mixer's and Snake's rows with MachineIDs of their own, kept and audited only on change", async () => {
    const m = await writer.submit((stage) => planNodeRow(stage, mixerRow));
    const s = await writer.submit((stage) => planNodeRow(stage, snakeRow));
    expect(await listNodeRows(t.db)).toEqual([m, s]);
    expect([m.machineId, s.machineId]).toEqual([1, 2]);
    // Node rows are not Racks.
    expect(await getRackByName(t.db, "mixer-1")).toBeUndefined();
    await writer.submit(insert(1));
    const events = await auditCount(t.db);
    await writer.close();
    t = await t.reopen();
    await openWriter();
    const later = t.clock.advance(60_000);
    await writer.submit((stage) => planNodeRow(stage, { ...mixerRow, now: later }));
    const again = await writer.submit((stage) => planNodeRow(stage, { ...snakeRow, now: later }));
    expect(again).toMatchObject({ machineId: 2, lastSeen: later });
    expect(await auditCount(t.db)).toBe(events);
    await writer.submit((stage) => planNodeRow(stage, { ...mixerRow, version: "0.2.0", now: later }));
    expect(await auditCount(t.db)).toBe(events + 1);
    await writer.submit((stage) => planNodeRow(stage, { ...mixerRow, machineId: 7, now: later }));
    expect((await listNodeRows(t.db)).map((row) => [row.typeId, row.machineId])).toEqual([
      [EntityType.Mixer, 7],
      [EntityType.SnakeTunnel, 2],
    ]);
    // The Mixer's old id is free again, in memory as in the file.
    expect((await writer.submit(insert(2))).machineId).toBe(1);
  });

  it("imports and activates scenarios: the file and the catalog agree, at most one active", async () => {
    const now = t.clock.now();
    await writer.submit((stage) => planImportScenario(stage, { ...scenarioInput("a"), now, actor: "alice" }));
    await writer.submit((stage) => planImportScenario(stage, { ...scenarioInput("b"), now, actor: "alice" }));
    await writer.submit((stage) => planActivateScenario(stage, "a", { actor: "alice", now }));
    await writer.submit((stage) => planActivateScenario(stage, "b", { actor: "alice", now }));
    await writer.submit((stage) =>
      planImportScenario(stage, { ...scenarioInput("b", "2"), now, actor: "alice" }),
    );
    expect((await t.db.query("SELECT name, version FROM scenarios WHERE active")).rows).toEqual([["b", "2"]]);
    expect((await ScenarioCatalog.load(t.db)).list()).toEqual(scenarios.list());
    expect(scenarios.active()).toMatchObject({ name: "b", version: "2", activatedAt: now });
  });

  it("refuses writes once closed and refuses to run inside a transaction of its own database", async () => {
    const inside = await t.db.transaction(() => writer.submit(insert(1))).catch((error: unknown) => error);
    expect(inside).toMatchObject({ name: "WriterReentryError" });
    await writer.close();
    await expect(writer.submit(insert(2))).rejects.toMatchObject({ name: "DatabaseClosedError" });
  });

  it("says what a waiting write waits behind: its batch committing, and the database job ahead of it", async () => {
    expect(writer.describeActivity()).toBe("0 writes queued, no batch committing, 0 database jobs pending");
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holding = (): void => undefined;
    const held = new Promise<void>((resolve) => {
      holding = resolve;
    });
    const blocker = t.db.withConnection(async () => {
      holding();
      await released;
    });
    await held;
    const write = writer.submit(insert(1));
    await waitFor(() => writer.describeActivity().includes("a batch committing"), {
      timeoutMs: 5_000,
      message: "the writer's batch waiting on the database",
    });
    expect(writer.describeActivity()).toMatch(
      /^0 writes queued, a batch committing for \d+ ms, DuckDB running "\(the raw connection: appenders, batch SQL\)" for \d+ ms, 2 database jobs pending$/,
    );
    release();
    await Promise.all([blocker, write]);
    // The write settles inside its batch; the batch ends a turn later.
    await waitFor(
      () => writer.describeActivity() === "0 writes queued, no batch committing, 0 database jobs pending",
      {
        timeoutMs: 5_000,
        message: "the writer idle again",
      },
    );
  });

  it("answers with DatabaseClosedError (not drizzle's wrapper) once the file is closed", async () => {
    await t.db.close();
    await expect(getRackByName(t.db, "rack-001")).rejects.toBeInstanceOf(DatabaseClosedError);
    await expect(writer.submit(insert(1))).rejects.toBeInstanceOf(DatabaseClosedError);
  });
});

const mixerRow = MIXER_ROW;
const snakeRow = SNAKE_ROW;

function scenarioInput(name: string, version = "1") {
  return { name, version, yaml: `meta: {name: ${name}}`, spec: { meta: { name, version } } };
}

describe("the bus revocation list", () => {
  /** The table as rows, sorted by key. */
  async function revocationRows(): Promise<Array<[string, number, string, string]>> {
    const result = await t.db.query(
      "SELECT public_key, epoch(revoked_at)::BIGINT, name, cause FROM bus_revocations ORDER BY public_key",
    );
    return result.rows.map((row) => [String(row[0]), Number(row[1]), String(row[2]), String(row[3])]);
  }

  /** The list as the jwt credentials read it, as sorted pairs. */
  const entries = (list: RevocationList) => [...list.entries()].sort(([a], [b]) => (a < b ? -1 : 1));

  it("mirrors the table after every commit and after a reload; a refused write changes neither", async () => {
    const [a, b, c] = await Promise.all([
      writer.submit(insert(1)),
      writer.submit(insert(2)),
      writer.submit(insert(3)),
    ]);
    const t1 = t.clock.advance(1_500);
    await writer.submit((stage) => planSetStatus(stage, a.entityId, "rejected", { ...by, now: t1 }));
    await writer.submit((stage) => planSetStatus(stage, b.entityId, "active", { ...by, now: t1 }));
    expect(entries(revocations)).toEqual([["test-key-1", unixSeconds(t1)]]);
    const t2 = t.clock.advance(1_000);
    // Three cut-offs in one batch: one transaction, one temp table, every row.
    await Promise.all([
      writer.submit((stage) => planSetStatus(stage, b.entityId, "revoked", { ...by, now: t2 })),
      writer.submit((stage) => planDeleteRack(stage, c.entityId, { ...by, now: t2 })),
      writer.submit((stage) => planDeleteRack(stage, a.entityId, { ...by, now: t2 })),
    ]);
    const expected: Array<[string, number]> = [
      ["test-key-1", unixSeconds(t2)],
      ["test-key-2", unixSeconds(t2)],
      ["test-key-3", unixSeconds(t2)],
    ];
    expect(entries(revocations)).toEqual(expected);
    expect(revocations.revokedSecond("test-key-2")).toBe(unixSeconds(t2));
    expect(revocations.revocation("test-key-1")).toMatchObject({ name: "rack-001", cause: "removed" });
    expect(await revocationRows()).toEqual([
      ["test-key-1", unixSeconds(t2), "rack-001", "removed"],
      ["test-key-2", unixSeconds(t2), "rack-002", "revoked"],
      ["test-key-3", unixSeconds(t2), "rack-003", "removed"],
    ]);
    // A write refused after its revocation was planned leaves nothing behind.
    const d = await writer.submit(insert(4));
    const refused = writer.submit((stage) => {
      planSetStatus(stage, d.entityId, "rejected", { ...by, now: t.clock.now() });
      throw new Error("changed my mind");
    });
    await expect(refused).rejects.toThrow("changed my mind");
    expect(revocations.revocation("test-key-4")).toBeUndefined();
    expect(await revocationRows()).toHaveLength(3);

    await writer.close();
    t = await t.reopen();
    await openWriter();
    expect(entries(revocations)).toEqual(expected);
    expect(entries(await RevocationList.load(t.db))).toEqual(expected);
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true });
  });

  it("prunes old revocations from the table and the list, also when the same batch revokes one of them again", async () => {
    const racks = await Promise.all([1, 2, 3].map((n) => writer.submit(insert(n))));
    const old = t.clock.now();
    for (const rack of racks.slice(0, 2)) {
      await writer.submit((stage) => planSetStatus(stage, rack.entityId, "rejected", { ...by, now: old }));
    }
    const later = t.clock.advance(DAY + 5_000);
    // One batch: the prune drops both old entries, then the removal of rack-002 revokes its key again (final state:
    // kept, as of now). Never a delete and an insert of one key in one transaction.
    const batches = writer.stats.batches;
    const [pruned] = await Promise.all([
      writer.submit((stage) => planPruneRevocations(stage, { horizonMs: DAY, now: later })),
      writer.submit((stage) => planDeleteRack(stage, racks[1]!.entityId, { ...by, now: later })),
    ]);
    expect(writer.stats).toMatchObject({ batches: batches + 1, retriedBatches: 0 });
    expect(pruned).toBe(2);
    expect(entries(revocations)).toEqual([["test-key-2", unixSeconds(later)]]);
    expect(await revocationRows()).toEqual([["test-key-2", unixSeconds(later), "rack-002", "removed"]]);
    const events = await listAudit(t.db, { limit: 100 });
    expect(events.filter((e) => e.kind === "bus_revocations_pruned")).toHaveLength(1);
    expect(entries(await RevocationList.load(t.db))).toEqual(entries(revocations));
  });
});
