// flushPresence changes last_seen and stats of exactly the Racks it is given, and nothing else.
import { EntityType } from "@fluxrig/entity-id";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writePresenceRows } from "./presence-writes.js";
import { insertRacks, openTestRegistry, snapshotTables, type TestRegistry } from "./registry-test-harness.js";

let t: TestRegistry;

beforeEach(async () => {
  t = await openTestRegistry();
});

afterEach(async () => {
  await t.cleanup();
});

describe("flushPresence", () => {
  it("updates exactly the given rows and leaves every other row alone", async () => {
    const mixer = await t.store.upsertNodeRow({
      typeId: EntityType.Mixer,
      machineId: 60_000,
      name: "mixer",
      version: "1",
      attributes: {},
    });
    const racks = await insertRacks(t.store, 5);
    const untouched = [racks[0]!, racks[2]!, racks[4]!];
    const before = await Promise.all(untouched.map((rack) => t.store.getByEntityId(rack.entityId)));
    const seen = new Date("2030-01-01T00:10:00.250Z");

    const changed = await t.store.flushPresence([
      { entityId: racks[1]!.entityId, lastSeen: seen, stats: { cpu: 0.5, handles: 12, big: 2n ** 63n } },
      { entityId: racks[3]!.entityId, lastSeen: seen, stats: { cpu: 0.25 } },
      { entityId: 999n, lastSeen: seen, stats: { cpu: 1 } },
      { entityId: mixer.entityId, lastSeen: seen, stats: { cpu: 1 } },
    ]);
    expect(changed).toBe(2);
    expect(await t.store.getByEntityId(racks[1]!.entityId)).toMatchObject({
      lastSeen: seen,
      stats: { cpu: 0.5, handles: 12, big: "9223372036854775808" },
      status: "pending",
    });
    expect((await t.store.getByEntityId(racks[3]!.entityId))?.stats).toEqual({ cpu: 0.25 });
    expect(await Promise.all(untouched.map((rack) => t.store.getByEntityId(rack.entityId)))).toEqual(before);
    expect((await t.store.listNodeRows())[0]).toEqual(mixer);
  });

  it("keeps stored stats when given null, and lets the last entry for an id win", async () => {
    const [rack] = await insertRacks(t.store, 1);
    await t.store.flushPresence([{ entityId: rack!.entityId, lastSeen: t.clock.now(), stats: { cpu: 1 } }]);
    const first = t.clock.advance(1_000);
    const second = t.clock.advance(1_000);
    const changed = await t.store.flushPresence([
      { entityId: rack!.entityId, lastSeen: first, stats: { cpu: 2 } },
      { entityId: rack!.entityId, lastSeen: second, stats: null },
    ]);
    expect(changed).toBe(1);
    expect(await t.store.getByEntityId(rack!.entityId)).toMatchObject({
      lastSeen: second,
      stats: { cpu: 1 },
    });
  });

  it("does nothing for an empty batch", async () => {
    await insertRacks(t.store, 1);
    const before = await snapshotTables(t.db);
    expect(await t.store.flushPresence([])).toBe(0);
    expect(await snapshotTables(t.db)).toEqual(before);
  });

  it("survives a reopen (the temp batch table is recreated on the new connection)", async () => {
    const [rack] = await insertRacks(t.store, 1);
    await t.store.flushPresence([{ entityId: rack!.entityId, lastSeen: t.clock.now(), stats: { cpu: 1 } }]);
    t = await t.reopen();
    const seen = t.clock.advance(5_000);
    expect(
      await t.store.flushPresence([{ entityId: rack!.entityId, lastSeen: seen, stats: { cpu: 3 } }]),
    ).toBe(1);
    expect(await t.store.loadPresence()).toEqual([
      {
        entityId: rack!.entityId,
        name: rack!.name,
        status: "pending",
        lastSeen: seen,
        stats: { cpu: 3 },
        flaps: 0,
      },
    ]);
  });
  it("repeated flushes do not grow DuckDB's memory: the batch table is replaced, not emptied", async () => {
    const racks = await insertRacks(t.store, 100);
    const tempTableBytes = async () => {
      const result = await t.store.db.query(
        "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT AS b FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'",
      );
      return Number(result.rows[0]?.[0] ?? 0);
    };
    const flush = (round: number) =>
      t.store.flushPresence(
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

  it("writePresenceRows takes rows from a source, and a source that throws midway changes nothing", async () => {
    const racks = await insertRacks(t.store, 3);
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
      return 2;
    });
    expect(changed).toBe(2);
    expect(await t.store.getByEntityId(racks[0]!.entityId)).toMatchObject({
      lastSeen: new Date(seen),
      stats: { cpu: 0.5 },
    });
    expect(await t.store.getByEntityId(racks[2]!.entityId)).toMatchObject({ lastSeen: new Date(seen + 1) });
    expect(await t.store.getByEntityId(racks[1]!.entityId)).toEqual(untouched);
  });
});
