// MachineID allocation: lowest free id, tombstones honoured until reusable_after, node rows skipped, exhaustion clean.
import { EntityType } from "@fluxrig/entity-id";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MachineIdInUseError, RegistryFullError } from "./registry-errors.js";
import {
  insertRacks,
  openTestRegistry,
  rackInput,
  snapshotTables,
  type TestRegistry,
} from "./registry-test-harness.js";

let t: TestRegistry;

beforeEach(async () => {
  t = await openTestRegistry();
});

afterEach(async () => {
  await t.cleanup();
});

const DAY = 86_400_000;
const by = { cause: "operator", actor: "alice" };

describe("allocateMachineId", () => {
  it("hands out the lowest free id and fills holes left by expired tombstones first", async () => {
    const racks = await insertRacks(t.store, 4);
    expect(racks.map((rack) => rack.machineId)).toEqual([1, 2, 3, 4]);
    await t.store.deleteRack(racks[1]!.entityId, by);
    // Never had a passport: reusable from the moment it was retired.
    const next = await t.store.insertRack(rackInput(5));
    expect(next.machineId).toBe(2);
  });

  it("skips a tombstoned id until reusable_after, then reuses it", async () => {
    const [first] = await insertRacks(t.store, 2);
    const issuedAt = t.clock.now();
    await t.store.recordPassportIssued(first!.entityId, {
      serial: 1,
      issuedAt,
      expiresAt: new Date(issuedAt.getTime() + DAY),
    });
    await t.store.deleteRack(first!.entityId, by);

    expect((await t.store.insertRack(rackInput(3))).machineId).toBe(3);
    t.clock.advance(DAY - 1);
    expect(await t.store.allocateMachineId({ min: 1, max: 100 })).toBe(4);
    t.clock.advance(1);
    expect((await t.store.insertRack(rackInput(4))).machineId).toBe(1);
  });

  it("refuses an explicit id that is tombstoned or held, and accepts a free one", async () => {
    const [first] = await insertRacks(t.store, 1);
    const issuedAt = t.clock.now();
    await t.store.recordPassportIssued(first!.entityId, {
      serial: 1,
      issuedAt,
      expiresAt: new Date(issuedAt.getTime() + DAY),
    });
    await t.store.deleteRack(first!.entityId, by);
    await expect(t.store.insertRack(rackInput(2, { machineId: 1 }))).rejects.toMatchObject({
      name: "MachineIdInUseError",
      machineId: 1,
      holderEntityId: undefined,
    });
    const placed = await t.store.insertRack(rackInput(3, { machineId: 500 }));
    expect(placed.machineId).toBe(500);
    const held = await t.store.insertRack(rackInput(4, { machineId: 500 })).catch((error: unknown) => error);
    expect(held).toBeInstanceOf(MachineIdInUseError);
    expect(held).toMatchObject({ holderEntityId: placed.entityId });
  });

  it("skips the ids of the Mixer and its Snake Tunnel", async () => {
    await t.store.upsertNodeRow({
      typeId: EntityType.Mixer,
      machineId: 1,
      name: "mixer",
      version: "1",
      attributes: {},
    });
    const snake = await t.store.upsertNodeRow({
      typeId: EntityType.SnakeTunnel,
      name: "mixer-snake",
      version: "1",
      attributes: {},
    });
    expect(snake.machineId).toBe(2);
    const racks = await insertRacks(t.store, 2);
    expect(racks.map((rack) => rack.machineId)).toEqual([3, 4]);
  });

  it("answers an exhausted range with RegistryFullError and leaves every table as it was", async () => {
    const range = { min: 10, max: 12 };
    for (let n = 1; n <= 3; n++) {
      expect((await t.store.insertRack(rackInput(n, { machineIdRange: range }))).machineId).toBe(9 + n);
    }
    const before = await snapshotTables(t.db);
    const refused = await t.store
      .insertRack(rackInput(4, { machineIdRange: range }))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RegistryFullError);
    expect(refused).toMatchObject({ min: 10, max: 12, code: "registry_full" });
    expect(await snapshotTables(t.db)).toEqual(before);
  });

  it("refuses ranges outside 1..65535", async () => {
    await expect(t.store.allocateMachineId({ min: 0, max: 10 })).rejects.toMatchObject({
      name: "InvalidInputError",
    });
    await expect(t.store.allocateMachineId({ min: 5, max: 4 })).rejects.toMatchObject({
      name: "InvalidInputError",
    });
    await expect(t.store.allocateMachineId({ min: 1, max: 65_536 })).rejects.toMatchObject({
      name: "InvalidInputError",
    });
  });

  it("finds the lowest hole among many used ids", async () => {
    // Rows written directly: 5,000 Racks through insertRack would only slow the test down.
    await t.db.run(
      `INSERT INTO registry (entity_id, type_id, machine_id, name, status, version, attributes)
       SELECT (3::UBIGINT << 56) | (i::UBIGINT << 40), 3, i, 'bulk-' || i, 'active', '1', '{}'
       FROM range(1, 5001) AS r(i) WHERE i <> 4321`,
    );
    expect(await t.store.allocateMachineId({ min: 1, max: 65_535 })).toBe(4321);
    expect(await t.store.allocateMachineId({ min: 4322, max: 65_535 })).toBe(5001);
    expect(await t.store.allocateMachineId({ min: 65_535, max: 65_535 })).toBe(65_535);
  });
});
