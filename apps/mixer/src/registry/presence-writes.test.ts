// writePresenceRows changes last_seen and stats of exactly the Racks it is given, and nothing else.
import { EntityType } from "@fluxrig/entity-id";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  insertPlan,
  openTestRegistry,
  openTestWriter,
  snapshotTables,
  type TestRegistry,
} from "../../test/support/registry-test-harness.js";
import { PRESENCE_ROWS_PER_TURN, writePresenceRows } from "./presence-writes.js";
import { listNodeRows } from "./rack-queries.js";
import type { RackRecord } from "./registry-records.js";
import type { RegistryWriter } from "./registry-writer.js";
import { planNodeRow } from "./write-plans.js";

let t: TestRegistry;
let writer: RegistryWriter;

beforeEach(async () => {
  t = await openTestRegistry();
  ({ writer } = await openTestWriter(t.db));
});

afterEach(async () => {
  await writer.close();
  await t.cleanup();
});

async function insertRacks(count: number): Promise<RackRecord[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => writer.submit(insertPlan(i + 1, t.clock.now()))),
  );
}

interface Row {
  entityId: bigint;
  lastSeen: Date;
  stats: object | null;
}

/** Writes `rows` as the presence tracker gives them: one call per row, stats as JSON text. */
function write(rows: readonly Row[]): Promise<number> {
  return writePresenceRows(t.db, (emit) => {
    for (const row of rows)
      emit(row.entityId, row.lastSeen.getTime(), row.stats && JSON.stringify(row.stats));
    return false;
  });
}

describe("writePresenceRows", () => {
  it("updates exactly the given rows and leaves every other row alone", async () => {
    const mixer = await writer.submit((stage) =>
      planNodeRow(stage, {
        typeId: EntityType.Mixer,
        machineId: 60_000,
        name: "mixer",
        version: "1",
        attributes: {},
        now: t.clock.now(),
      }),
    );
    const racks = await insertRacks(5);
    const untouched = [racks[0]!, racks[2]!, racks[4]!];
    const before = await Promise.all(untouched.map((rack) => t.store.getByEntityId(rack.entityId)));
    const seen = new Date("2030-01-01T00:10:00.250Z");

    const changed = await write([
      { entityId: racks[1]!.entityId, lastSeen: seen, stats: { cpu: 0.5, handles: 12 } },
      { entityId: racks[3]!.entityId, lastSeen: seen, stats: { cpu: 0.25 } },
      { entityId: 999n, lastSeen: seen, stats: { cpu: 1 } },
      { entityId: mixer.entityId, lastSeen: seen, stats: { cpu: 1 } },
    ]);
    expect(changed).toBe(2);
    expect(await t.store.getByEntityId(racks[1]!.entityId)).toMatchObject({
      lastSeen: seen,
      stats: { cpu: 0.5, handles: 12 },
      status: "pending",
    });
    expect((await t.store.getByEntityId(racks[3]!.entityId))?.stats).toEqual({ cpu: 0.25 });
    expect(await Promise.all(untouched.map((rack) => t.store.getByEntityId(rack.entityId)))).toEqual(before);
    expect((await listNodeRows(t.db))[0]).toEqual(mixer);
  });

  it("keeps stored stats when given null", async () => {
    const [rack] = await insertRacks(1);
    await write([{ entityId: rack!.entityId, lastSeen: t.clock.now(), stats: { cpu: 1 } }]);
    const later = t.clock.advance(1_000);
    expect(await write([{ entityId: rack!.entityId, lastSeen: later, stats: null }])).toBe(1);
    expect(await t.store.getByEntityId(rack!.entityId)).toMatchObject({ lastSeen: later, stats: { cpu: 1 } });
  });

  it("writes the stats of the rows that carry them and keeps the others' in one batch", async () => {
    const [a, b] = await insertRacks(2);
    await write([
      { entityId: a!.entityId, lastSeen: t.clock.now(), stats: { cpu: 1 } },
      { entityId: b!.entityId, lastSeen: t.clock.now(), stats: { cpu: 2 } },
    ]);
    const later = t.clock.advance(1_000);
    expect(
      await write([
        { entityId: a!.entityId, lastSeen: later, stats: null },
        { entityId: b!.entityId, lastSeen: later, stats: { cpu: 3 } },
      ]),
    ).toBe(2);
    expect(await t.store.getByEntityId(a!.entityId)).toMatchObject({ lastSeen: later, stats: { cpu: 1 } });
    expect(await t.store.getByEntityId(b!.entityId)).toMatchObject({ lastSeen: later, stats: { cpu: 3 } });
  });

  it("does nothing for an empty batch", async () => {
    await insertRacks(1);
    const before = await snapshotTables(t.db);
    expect(await write([])).toBe(0);
    expect(await snapshotTables(t.db)).toEqual(before);
  });

  it("survives a reopen (the temp batch table is recreated on the new connection)", async () => {
    const [rack] = await insertRacks(1);
    await write([{ entityId: rack!.entityId, lastSeen: t.clock.now(), stats: { cpu: 1 } }]);
    await writer.close();
    t = await t.reopen();
    ({ writer } = await openTestWriter(t.db));
    const seen = t.clock.advance(5_000);
    expect(await write([{ entityId: rack!.entityId, lastSeen: seen, stats: { cpu: 3 } }])).toBe(1);
    expect(await t.store.getByEntityId(rack!.entityId)).toMatchObject({ lastSeen: seen, stats: { cpu: 3 } });
  });

  it("repeated flushes do not grow DuckDB's memory: the batch table is replaced, not emptied", async () => {
    const racks = await insertRacks(100);
    const tempTableBytes = async () => {
      const result = await t.db.query(
        "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT AS b FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'",
      );
      return Number(result.rows[0]?.[0] ?? 0);
    };
    const flush = (round: number) =>
      write(
        racks.map((rack, i) => ({
          entityId: rack.entityId,
          lastSeen: new Date(Date.UTC(2030, 0, 1, 0, 0, round, i % 1000)),
          stats: { round, padding: "x".repeat(1500) },
        })),
      );
    await flush(0);
    const afterOne = await tempTableBytes();
    for (let round = 1; round <= 20; round++) await flush(round);
    // 20 more flushes of 100 rows of ~1.5 KB would hold about 3 MB if deleted rows kept their storage.
    expect(await tempTableBytes()).toBeLessThanOrEqual(afterOne + 512 * 1024);
  }, 60_000);

  it("takes rows from a source while it holds the connection, and a source that throws changes nothing", async () => {
    const racks = await insertRacks(3);
    const before = await snapshotTables(t.db);
    const untouched = await t.store.getByEntityId(racks[1]!.entityId);
    const failing = writePresenceRows(t.db, (row) => {
      row(racks[0]!.entityId, Date.UTC(2030, 0, 1), '{"cpu":1}');
      throw new Error("source broke");
    });
    await expect(failing).rejects.toThrow("source broke");
    expect(await snapshotTables(t.db)).toEqual(before);

    const seen = Date.UTC(2030, 0, 1, 0, 0, 1, 999);
    const changed = await writePresenceRows(t.db, (row) => {
      row(racks[0]!.entityId, seen, '{"cpu":0.5}');
      row(racks[2]!.entityId, seen + 1, null);
      return false;
    });
    expect(changed).toBe(2);
    expect(await t.store.getByEntityId(racks[0]!.entityId)).toMatchObject({
      lastSeen: new Date(seen),
      stats: { cpu: 0.5 },
    });
    expect(await t.store.getByEntityId(racks[2]!.entityId)).toMatchObject({ lastSeen: new Date(seen + 1) });
    expect(await t.store.getByEntityId(racks[1]!.entityId)).toEqual(untouched);
  });

  it("asks for rows PRESENCE_ROWS_PER_TURN at a time and lets the event loop run between, in one UPDATE", async () => {
    const count = PRESENCE_ROWS_PER_TURN + 2;
    const racks = await insertRacks(count);
    const seen = Date.UTC(2030, 0, 2);
    const asked: number[] = [];
    /** At each call, how many macrotasks queued by earlier calls had run. */
    const turnsSeen: number[] = [];
    let turns = 0;
    let next = 0;
    const changed = await writePresenceRows(t.db, (row, max) => {
      asked.push(max);
      turnsSeen.push(turns);
      // A macrotask queued now runs before the next call only if the write yields to the event loop.
      setImmediate(() => turns++);
      const end = Math.min(count, next + max);
      for (; next < end; next++) row(racks[next]!.entityId, seen + next, null);
      return next < count;
    });
    expect(changed).toBe(count);
    expect(asked).toEqual([PRESENCE_ROWS_PER_TURN, PRESENCE_ROWS_PER_TURN]);
    expect(turnsSeen).toEqual([0, 1]);
    expect(await t.store.getByEntityId(racks[count - 1]!.entityId)).toMatchObject({
      lastSeen: new Date(seen + count - 1),
    });
  }, 60_000);
});
