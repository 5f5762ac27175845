// RegistryStore as a whole: listings and counts, stale pending Racks, composed transactions, close and reopen.
import { EntityType } from "@fluxrig/entity-id";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DatabaseClosedError } from "../db/database-errors.js";
import { InvalidInputError } from "./registry-errors.js";
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

const by = { cause: "operator", actor: "alice" };

describe("listing and counting", () => {
  it("pages through Racks by name with a keyset cursor, filtered by status and prefix", async () => {
    const racks = await insertRacks(t.store, 7);
    await t.store.setStatus(racks[1]!.entityId, "active", by);
    await t.store.setStatus(racks[4]!.entityId, "active", by);
    await t.store.upsertNodeRow({
      typeId: EntityType.Mixer,
      machineId: 100,
      name: "mixer",
      version: "1",
      attributes: {},
    });

    const names: string[][] = [];
    let after: string | undefined;
    for (;;) {
      const page = await t.store.listRacks({ limit: 3, ...(after === undefined ? {} : { after }) });
      names.push(page.racks.map((rack) => rack.name));
      if (page.nextAfter === null) break;
      after = page.nextAfter;
    }
    expect(names).toEqual([
      ["rack-001", "rack-002", "rack-003"],
      ["rack-004", "rack-005", "rack-006"],
      ["rack-007"],
    ]);
    const active = await t.store.listRacks({ status: "active", limit: 10 });
    expect(active).toEqual({
      racks: [await t.store.getByName("rack-002"), await t.store.getByName("rack-005")],
      nextAfter: null,
    });
    const exact = await t.store.listRacks({ limit: 2, namePrefix: "rack-00" });
    expect(exact.nextAfter).toBe("rack-002");
    expect((await t.store.listRacks({ limit: 10, namePrefix: "rack-007" })).racks.map((r) => r.name)).toEqual(
      ["rack-007"],
    );
    await expect(t.store.listRacks({ limit: 0 })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("counts Racks by status (every status present) and counts pending ones", async () => {
    const racks = await insertRacks(t.store, 4);
    await t.store.setStatus(racks[0]!.entityId, "active", by);
    await t.store.setStatus(racks[1]!.entityId, "rejected", by);
    await t.store.upsertNodeRow({
      typeId: EntityType.Mixer,
      machineId: 100,
      name: "mixer",
      version: "1",
      attributes: {},
    });
    expect(await t.store.countByStatus()).toEqual({
      pending: 2,
      active: 1,
      offline: 0,
      rejected: 1,
      revoked: 0,
    });
    expect(await t.store.countPending()).toBe(2);
  });

  it("lists pending Racks silent since before a cutoff, by last_seen", async () => {
    const [old, fresh, adopted] = await insertRacks(t.store, 3);
    await t.store.setStatus(adopted!.entityId, "active", by);
    const cutoff = t.clock.advance(60_000);
    await t.store.flushPresence([{ entityId: fresh!.entityId, lastSeen: cutoff, stats: null }]);
    const stale = await t.store.listStalePending(cutoff);
    expect(stale.map((rack) => rack.name)).toEqual([old!.name]);
  });
});

describe("transactions across calls", () => {
  it("rolls back every store call made inside a failed transaction", async () => {
    const [rack] = await insertRacks(t.store, 1);
    const before = await snapshotTables(t.db);
    await expect(
      t.store.transaction(async () => {
        await t.store.setStatus(rack!.entityId, "active", by);
        const issuedAt = t.clock.now();
        await t.store.recordPassportIssued(rack!.entityId, {
          serial: 1,
          issuedAt,
          expiresAt: new Date(issuedAt.getTime() + 1_000),
        });
        await t.store.insertRack(rackInput(2));
        throw new Error("signing failed");
      }),
    ).rejects.toThrow("signing failed");
    expect(await snapshotTables(t.db)).toEqual(before);
  });

  it("commits an adoption and its passport together", async () => {
    const [rack] = await insertRacks(t.store, 1);
    const issuedAt = t.clock.now();
    const expiresAt = new Date(issuedAt.getTime() + 60_000);
    await t.store.transaction(async () => {
      await t.store.setStatus(rack!.entityId, "active", { ...by, expectFrom: "pending" });
      await t.store.recordPassportIssued(rack!.entityId, { serial: 1, issuedAt, expiresAt });
    });
    expect(await t.store.getByEntityId(rack!.entityId)).toMatchObject({
      status: "active",
      lifecycle: { passportSerial: 1, passportExpiresAt: expiresAt, statusChangedAt: issuedAt },
    });
  });

  it("serializes concurrent enrollments so each gets its own MachineID", async () => {
    const racks = await Promise.all([1, 2, 3, 4, 5].map((n) => t.store.insertRack(rackInput(n))));
    expect(racks.map((rack) => rack.machineId).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true, count: 5 });
  });
});

describe("close and reopen", () => {
  it("keeps every table's content across close and reopen", async () => {
    const [rack] = await insertRacks(t.store, 2);
    await t.store.setStatus(rack!.entityId, "active", by);
    await t.store.flushPresence([{ entityId: rack!.entityId, lastSeen: t.clock.now(), stats: { cpu: 1 } }]);
    await t.store.recordNameConflict({
      name: rack!.name,
      claimedPublicKey: "other",
      holderEntityId: rack!.entityId,
      source: null,
    });
    await t.store.saveScenario({ name: "s", version: "1", yaml: "y", spec: { a: 1 }, actor: "alice" });
    await t.store.deleteRack((await t.store.getByName("rack-002"))!.entityId, by);
    const before = await snapshotTables(t.db);
    t = await t.reopen();
    expect(await snapshotTables(t.db)).toEqual(before);
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true });
  });

  it("rejects calls on a closed store with DatabaseClosedError (not drizzle's wrapper)", async () => {
    await t.store.close();
    await expect(t.store.getByName("rack-001")).rejects.toBeInstanceOf(DatabaseClosedError);
    await expect(t.store.insertRack(rackInput(1))).rejects.toBeInstanceOf(DatabaseClosedError);
  });
});
