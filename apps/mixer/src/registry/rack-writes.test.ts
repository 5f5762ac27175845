// Enrollment writes: one transaction per Rack, identity by key, names unique, hellos and passports recorded.
import { EntityType, nodeEntityId } from "@fluxrig/entity-id";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  InvalidInputError,
  NameTakenError,
  PublicKeyTakenError,
  StalePassportSerialError,
} from "./registry-errors.js";
import {
  auditCount,
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

const HOUR = 3_600_000;

describe("insertRack", () => {
  it("writes the registry row, the lifecycle row and one audit event, and reads back the same Rack", async () => {
    const now = t.clock.now();
    const rack = await t.store.insertRack(rackInput(1));
    expect(rack).toEqual({
      entityId: nodeEntityId(EntityType.Rack, 1),
      typeId: EntityType.Rack,
      machineId: 1,
      name: "rack-001",
      status: "pending",
      version: "1.0.0",
      attributes: { hostname: "host-1", os: "linux", arch: "x64", public_key: "test-key-1" },
      stats: null,
      lastSeen: now,
      lifecycle: {
        publicKey: "test-key-1",
        firstSeen: now,
        statusChangedAt: now,
        passportSerial: 0,
        passportIssuedAt: null,
        passportExpiresAt: null,
        passportsValidUntil: null,
        lastSource: "test",
        helloCount: 1,
        flaps: 0,
      },
    });
    expect(await t.store.getByName("rack-001")).toEqual(rack);
    expect(await t.store.getByEntityId(rack.entityId)).toEqual(rack);
    expect(await t.store.getByPublicKey("test-key-1")).toEqual(rack);
    const [event] = await t.store.listAudit({ limit: 10 });
    expect(event).toMatchObject({
      seq: 1,
      kind: "rack_enrolled",
      entityId: rack.entityId,
      toStatus: "pending",
    });
  });

  it("refuses a taken name with NameTakenError and changes nothing", async () => {
    const holder = await t.store.insertRack(rackInput(1));
    const before = await snapshotTables(t.db);
    const refused = await t.store
      .insertRack(rackInput(2, { name: "rack-001" }))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(NameTakenError);
    expect(refused).toMatchObject({ takenName: "rack-001", holderEntityId: holder.entityId });
    expect(await snapshotTables(t.db)).toEqual(before);
  });

  it("refuses a key that already enrolled under another name with PublicKeyTakenError", async () => {
    const holder = await t.store.insertRack(rackInput(1));
    const before = await snapshotTables(t.db);
    const refused = await t.store
      .insertRack(rackInput(2, { publicKey: "test-key-1" }))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PublicKeyTakenError);
    expect(refused).toMatchObject({ holderEntityId: holder.entityId, holderName: "rack-001" });
    expect(await snapshotTables(t.db)).toEqual(before);
  });

  it.each([["Rack-1"], ["-rack"], ["rack_1"], [""], ["a".repeat(64)]])(
    "refuses the name %j before touching the database",
    async (name) => {
      await expect(t.store.insertRack(rackInput(1, { name }))).rejects.toBeInstanceOf(InvalidInputError);
      expect(await auditCount(t.db)).toBe(0);
    },
  );

  it("refuses attributes whose public_key differs from the enrolling key", async () => {
    const input = rackInput(1, { attributes: { public_key: "someone-else" } });
    await expect(t.store.insertRack(input)).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe("recordHello", () => {
  it("counts hellos and refreshes version and last_seen; attributes change only while pending", async () => {
    const rack = await t.store.insertRack(rackInput(1));
    const later = t.clock.advance(60_000);
    const hello = await t.store.recordHello(rack.entityId, {
      version: "1.1.0",
      attributes: { hostname: "renamed" },
      source: "10.0.0.9",
    });
    expect(hello).toMatchObject({ version: "1.1.0", lastSeen: later });
    expect(hello.attributes).toEqual({ hostname: "renamed", public_key: "test-key-1" });
    expect(hello.lifecycle).toMatchObject({ helloCount: 2, lastSource: "10.0.0.9" });
    expect(await t.store.getByEntityId(rack.entityId)).toEqual(hello);

    await t.store.setStatus(rack.entityId, "active", { cause: "operator", actor: "alice" });
    const adopted = await t.store.recordHello(rack.entityId, {
      version: "1.2.0",
      attributes: { hostname: "tampered" },
      source: "x",
    });
    expect(adopted.attributes.hostname).toBe("renamed");
    expect((await t.store.getByEntityId(rack.entityId))?.attributes.hostname).toBe("renamed");
  });
});

describe("passports", () => {
  it("records serials in order and keeps the latest expiry ever issued", async () => {
    const rack = await t.store.insertRack(rackInput(1));
    const now = t.clock.now();
    expect(await t.store.nextPassportSerial(rack.entityId)).toBe(1);
    const long = new Date(now.getTime() + 48 * HOUR);
    await t.store.recordPassportIssued(rack.entityId, { serial: 1, issuedAt: now, expiresAt: long });
    const short = new Date(now.getTime() + HOUR);
    const second = await t.store.recordPassportIssued(rack.entityId, {
      serial: 2,
      issuedAt: now,
      expiresAt: short,
    });
    expect(second.lifecycle).toMatchObject({
      passportSerial: 2,
      passportIssuedAt: now,
      passportExpiresAt: short,
      passportsValidUntil: long,
    });
    expect((await t.store.getByEntityId(rack.entityId))?.lifecycle).toEqual(second.lifecycle);
    expect(await t.store.nextPassportSerial(rack.entityId)).toBe(3);
    expect(await auditCount(t.db)).toBe(3);
  });

  it("refuses a serial that is not above the last one, writing nothing", async () => {
    const rack = await t.store.insertRack(rackInput(1));
    const now = t.clock.now();
    const expiresAt = new Date(now.getTime() + HOUR);
    await t.store.recordPassportIssued(rack.entityId, { serial: 1, issuedAt: now, expiresAt });
    const before = await snapshotTables(t.db);
    const refused = await t.store
      .recordPassportIssued(rack.entityId, { serial: 1, issuedAt: now, expiresAt })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StalePassportSerialError);
    expect(refused).toMatchObject({ serial: 1, current: 1 });
    expect(await snapshotTables(t.db)).toEqual(before);
  });
});
