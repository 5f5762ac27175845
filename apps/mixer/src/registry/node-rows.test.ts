// The Mixer's and Snake Tunnel's rows: own entity ids, own MachineIDs, stable across restarts.
import { EntityType, nodeEntityId } from "@fluxrig/entity-id";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MachineIdInUseError, NameTakenError } from "./registry-errors.js";
import {
  auditCount,
  insertRacks,
  openTestRegistry,
  rackInput,
  type TestRegistry,
} from "./registry-test-harness.js";

let t: TestRegistry;

beforeEach(async () => {
  t = await openTestRegistry();
});

afterEach(async () => {
  await t.cleanup();
});

const mixer = {
  typeId: EntityType.Mixer,
  machineId: 1,
  name: "mixer-1",
  version: "0.1.0",
  attributes: { os: "linux" },
};
const snake = { typeId: EntityType.SnakeTunnel, name: "mixer-1-snake", version: "0.1.0", attributes: {} };

describe("upsertNodeRow", () => {
  it("writes the Mixer (type 2) and a Snake Tunnel (type 8) with a MachineID of its own", async () => {
    const m = await t.store.upsertNodeRow(mixer);
    const s = await t.store.upsertNodeRow(snake);
    expect(m).toMatchObject({ entityId: nodeEntityId(2, 1), typeId: 2, machineId: 1, status: "active" });
    expect(s).toMatchObject({ entityId: nodeEntityId(8, 2), typeId: 8, machineId: 2, status: "active" });
    expect(await t.store.listNodeRows()).toEqual([m, s]);
    // Node rows are not Racks.
    expect(await t.store.getByName("mixer-1")).toBeUndefined();
    expect(await t.store.loadPresence()).toEqual([]);
  });

  it("keeps both ids on the next start and audits only what changed", async () => {
    await t.store.upsertNodeRow(mixer);
    await t.store.upsertNodeRow(snake);
    await insertRacks(t.store, 1);
    const events = await auditCount(t.db);
    t = await t.reopen();
    const later = t.clock.advance(60_000);
    await t.store.upsertNodeRow(mixer);
    const s = await t.store.upsertNodeRow(snake);
    expect(s).toMatchObject({ machineId: 2, lastSeen: later });
    expect(await auditCount(t.db)).toBe(events);
    await t.store.upsertNodeRow({ ...mixer, version: "0.2.0" });
    expect(await auditCount(t.db)).toBe(events + 1);
  });

  it("replaces the Mixer row when its configured MachineID changes", async () => {
    await t.store.upsertNodeRow(mixer);
    const moved = await t.store.upsertNodeRow({ ...mixer, machineId: 7 });
    expect(moved.entityId).toBe(nodeEntityId(2, 7));
    expect((await t.store.listNodeRows()).map((row) => row.machineId)).toEqual([7]);
  });

  it("refuses a configured MachineID that a Rack holds, and a name a Rack holds", async () => {
    const [rack] = await insertRacks(t.store, 1);
    const held = await t.store
      .upsertNodeRow({ ...mixer, machineId: rack!.machineId })
      .catch((error: unknown) => error);
    expect(held).toBeInstanceOf(MachineIdInUseError);
    await expect(t.store.upsertNodeRow({ ...mixer, machineId: 9, name: rack!.name })).rejects.toBeInstanceOf(
      NameTakenError,
    );
    expect(await t.store.listNodeRows()).toEqual([]);
  });

  it("makes a Rack claiming the Mixer's name fail with NameTakenError", async () => {
    const m = await t.store.upsertNodeRow(mixer);
    const refused = await t.store
      .insertRack(rackInput(1, { name: "mixer-1" }))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(NameTakenError);
    expect(refused).toMatchObject({ holderEntityId: m.entityId });
  });
});
