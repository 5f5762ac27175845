// The status machine as the store enforces it, and deletion with its tombstone and audit event.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isLegalTransition, RACK_STATUSES, type RackStatus } from "./rack-status.js";
import { IllegalTransitionError, NotFoundError, UnexpectedStatusError } from "./registry-errors.js";
import type { RackRecord } from "./registry-records.js";
import {
  auditCount,
  openTestRegistry,
  rackInput,
  snapshotTables,
  type TestRegistry,
} from "./registry-test-harness.js";

let t: TestRegistry;

/** A fresh registry per test. */
function freshRegistryPerTest(): void {
  beforeEach(async () => {
    t = await openTestRegistry();
  });
  afterEach(async () => {
    await t.cleanup();
  });
}

const by = { cause: "operator", actor: "alice" };

/** Paths from a new (pending) Rack to each status through legal steps only. */
const PATHS: Record<RackStatus, RackStatus[]> = {
  pending: [],
  active: ["active"],
  offline: ["active", "offline"],
  rejected: ["rejected"],
  revoked: ["active", "revoked"],
};

async function rackIn(status: RackStatus, n = RACK_STATUSES.indexOf(status) + 1): Promise<RackRecord> {
  let rack = await t.store.insertRack(rackInput(n));
  for (const step of PATHS[status]) rack = await t.store.setStatus(rack.entityId, step, by);
  return rack;
}

const LEGAL: Array<[RackStatus, RackStatus]> = [
  ["pending", "active"],
  ["pending", "rejected"],
  ["active", "offline"],
  ["active", "revoked"],
  ["offline", "active"],
  ["offline", "revoked"],
  ["revoked", "active"],
];

const ILLEGAL = RACK_STATUSES.flatMap((from) =>
  RACK_STATUSES.filter((to) => to !== from && !LEGAL.some(([f, x]) => f === from && x === to)).map(
    (to) => [from, to] as [RackStatus, RackStatus],
  ),
);

describe("the status machine", () => {
  freshRegistryPerTest();

  it("allows exactly the documented transitions", () => {
    for (const from of RACK_STATUSES) {
      for (const to of RACK_STATUSES) {
        expect(isLegalTransition(from, to), `${from} -> ${to}`).toBe(
          LEGAL.some(([f, x]) => f === from && x === to),
        );
      }
    }
    expect(ILLEGAL).toContainEqual(["pending", "offline"]);
    expect(ILLEGAL).toContainEqual(["rejected", "active"]);
  });

  it.each(LEGAL)("%s -> %s writes the status, status_changed_at and one audit event", async (from, to) => {
    const rack = await rackIn(from);
    const events = await auditCount(t.db);
    const when = t.clock.advance(1_000);
    const changed = await t.store.setStatus(rack.entityId, to, { ...by, details: { why: "test" } });
    expect(changed.status).toBe(to);
    expect(changed.lifecycle.statusChangedAt).toEqual(when);
    expect(await t.store.getByEntityId(rack.entityId)).toEqual(changed);
    expect(await auditCount(t.db)).toBe(events + 1);
    const [event] = await t.store.listAudit({ afterSeq: events, limit: 1 });
    expect(event).toMatchObject({
      kind: "status_changed",
      fromStatus: from,
      toStatus: to,
      details: { why: "test" },
    });
  });

  it("refuses a stale compare-and-set with UnexpectedStatusError", async () => {
    const rack = await rackIn("revoked");
    const before = await snapshotTables(t.db);
    const refused = await t.store
      .setStatus(rack.entityId, "offline", { ...by, expectFrom: "active" })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnexpectedStatusError);
    expect(refused).toMatchObject({ expected: "active", actual: "revoked" });
    expect(await snapshotTables(t.db)).toEqual(before);
  });

  it("counts a flap each time an offline Rack comes back", async () => {
    const rack = await rackIn("offline");
    const back = await t.store.setStatus(rack.entityId, "active", { cause: "presence", actor: "mixer" });
    expect(back.lifecycle.flaps).toBe(1);
    await t.store.setStatus(rack.entityId, "offline", { cause: "presence", actor: "mixer" });
    await t.store.setStatus(rack.entityId, "active", { cause: "presence", actor: "mixer" });
    expect((await t.store.getByEntityId(rack.entityId))?.lifecycle.flaps).toBe(2);
  });

  it("answers an unknown entity id with NotFoundError", async () => {
    await expect(t.store.setStatus(123n, "active", by)).rejects.toBeInstanceOf(NotFoundError);
  });
});

// A refused or no-op change writes nothing, so these share one registry holding one Rack in each status.
describe("changes that write nothing", () => {
  const racks = new Map<RackStatus, RackRecord>();
  beforeAll(async () => {
    t = await openTestRegistry();
    for (const status of RACK_STATUSES) racks.set(status, await rackIn(status));
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it.each(ILLEGAL)(
    "%s -> %s is refused with IllegalTransitionError and nothing written",
    async (from, to) => {
      const rack = racks.get(from)!;
      const before = await snapshotTables(t.db);
      const refused = await t.store.setStatus(rack.entityId, to, by).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(IllegalTransitionError);
      expect(refused).toMatchObject({ from, to, entityId: rack.entityId });
      expect(await snapshotTables(t.db)).toEqual(before);
    },
  );

  it.each(RACK_STATUSES)("%s -> %s is a no-op that returns the row", async (status) => {
    const rack = racks.get(status)!;
    const before = await snapshotTables(t.db);
    expect(await t.store.setStatus(rack.entityId, status, by)).toEqual(
      await t.store.getByEntityId(rack.entityId),
    );
    expect(await snapshotTables(t.db)).toEqual(before);
  });
});

describe("deleteRack", () => {
  freshRegistryPerTest();

  it("tombstones the MachineID, audits, and removes the registry and lifecycle rows in one go", async () => {
    const rack = await rackIn("rejected", 1);
    const now = t.clock.advance(5_000);
    const deleted = await t.store.deleteRack(rack.entityId, { cause: "operator", actor: "alice" });
    expect(deleted).toEqual({ entityId: rack.entityId, name: "rack-001", machineId: 1, reusableAfter: now });
    expect(await t.store.getByEntityId(rack.entityId)).toBeUndefined();
    const left = await t.db.query("SELECT count(*) FROM rack_lifecycle");
    expect(Number(left.rows[0]?.[0])).toBe(0);
    const tombstones = await t.db.query("SELECT machine_id, entity_id, name FROM machine_id_tombstones");
    expect(tombstones.rows).toEqual([[1, rack.entityId, "rack-001"]]);
    const events = await t.store.listAudit({ entityId: rack.entityId, limit: 10 });
    expect(events.at(-1)).toMatchObject({ kind: "rack_deleted", fromStatus: "rejected", toStatus: null });
  });

  it("holds the MachineID until the last passport naming it has expired", async () => {
    const rack = await rackIn("active");
    const issuedAt = t.clock.now();
    const expiresAt = new Date(issuedAt.getTime() + 86_400_000);
    await t.store.recordPassportIssued(rack.entityId, { serial: 1, issuedAt, expiresAt });
    const deleted = await t.store.deleteRack(rack.entityId, { cause: "operator", actor: "alice" });
    expect(deleted.reusableAfter).toEqual(expiresAt);
  });
});
