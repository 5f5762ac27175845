// The audit log: a hash chain that verifies, and breaks at exactly the row someone edited or removed.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  insertPlan,
  openTestRegistry,
  openTestWriter,
  type TestRegistry,
} from "../../test/support/registry-test-harness.js";
import { canonicalJson, GENESIS_HASH } from "./audit-chain.js";
import type { RegistryWriter } from "./registry-writer.js";
import { planImportScenario, planSetStatus } from "./write-plans.js";

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

const by = { cause: "operator", actor: "alice" };

/**
 * Enrolls two Racks, adopts and revokes one, rejects the other (each cut-off with its bus revocation), imports a
 * scenario and notes something: 9 events.
 */
async function someHistory(): Promise<bigint[]> {
  const a = await writer.submit(insertPlan(1, t.clock.now()));
  const b = await writer.submit(insertPlan(2, t.clock.now()));
  const later = t.clock.advance(1_000);
  await writer.submit((stage) => planSetStatus(stage, a.entityId, "active", { ...by, now: later }));
  await writer.submit((stage) => planSetStatus(stage, b.entityId, "rejected", { ...by, now: later }));
  const latest = t.clock.advance(1_000);
  await writer.submit((stage) =>
    planSetStatus(stage, a.entityId, "revoked", {
      ...by,
      now: latest,
      details: { reason: "key leaked", n: 1n },
    }),
  );
  await writer.submit((stage) =>
    planImportScenario(stage, {
      name: "demo",
      version: "1",
      yaml: "meta: {}",
      spec: {},
      now: latest,
      actor: "alice",
    }),
  );
  await writer.submit((stage) =>
    stage.appendAudit({
      at: latest,
      kind: "note",
      cause: "test",
      actor: "bob",
      details: { nested: { z: 1, a: [1, 2] } },
    }),
  );
  return [a.entityId, b.entityId];
}

describe("canonicalJson", () => {
  it("sorts keys at every depth, drops undefined members and writes bigints as strings", () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null], c: "x" }, u: undefined, n: 10n })).toBe(
      '{"a":{"c":"x","d":[true,null]},"b":1,"n":"10"}',
    );
  });

  it("refuses values JSON cannot carry", () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(TypeError);
  });
});

describe("the audit chain", () => {
  it("chains every event to the one before, starting from 64 zeros, and verifies", async () => {
    await someHistory();
    const events = await t.store.listAudit({ limit: 100 });
    expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(events[0]?.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < events.length; i++) expect(events[i]?.prevHash).toBe(events[i - 1]?.hash);
    expect(events[5]?.details).toEqual({ reason: "key leaked", n: "1" });
    expect(await t.store.verifyAuditChain()).toEqual({
      ok: true,
      count: 9,
      head: { seq: 9, hash: events[8]?.hash },
    });
    await writer.close();
    t = await t.reopen();
    ({ writer } = await openTestWriter(t.db));
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true, count: 9 });
  });

  it("verifies an empty log", async () => {
    expect(await t.store.verifyAuditChain()).toEqual({ ok: true, count: 0, head: null });
  });

  it("breaks at exactly the seq whose row was edited by hand", async () => {
    await someHistory();
    await t.db.run("UPDATE audit_events SET cause = 'x' WHERE seq = 4");
    expect(await t.store.verifyAuditChain()).toEqual({
      ok: false,
      brokenAt: 4,
      reason: "the event's fields do not match its hash: the row was changed",
    });
  });

  it("breaks when a JSON detail or a timestamp is edited", async () => {
    await someHistory();
    await t.db.run(`UPDATE audit_events SET details = '{"reason":"nothing to see","n":"1"}' WHERE seq = 6`);
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: false, brokenAt: 6 });
    await t.db.run(`UPDATE audit_events SET details = '{"n":"1","reason":"key leaked"}' WHERE seq = 6`);
    // Same JSON value with other key order: canonical JSON makes it verify again.
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true });
    await t.db.run(`UPDATE audit_events SET "at" = "at" + INTERVAL 1 SECOND WHERE seq = 2`);
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: false, brokenAt: 2 });
  });

  it("breaks at the event that follows a removed row", async () => {
    await someHistory();
    await t.db.run("DELETE FROM audit_events WHERE seq = 3");
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: false, brokenAt: 4 });
  });

  it("refuses an event without cause or actor before anything is written", async () => {
    await someHistory();
    const refused = writer.submit((stage) => {
      stage.appendAudit({ at: t.clock.now(), kind: "note", cause: "", actor: "bob" });
    });
    await expect(refused).rejects.toMatchObject({ name: "InvalidInputError" });
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true, count: 9 });
  });
});

describe("listAudit", () => {
  it("filters by entity and time and pages by seq", async () => {
    const [a] = await someHistory();
    const forA = await t.store.listAudit({ entityId: a!, limit: 10 });
    expect(forA.map((event) => [event.seq, event.kind, event.toStatus])).toEqual([
      [1, "rack_enrolled", "pending"],
      [3, "status_changed", "active"],
      [6, "status_changed", "revoked"],
      [7, "bus_key_revoked", null],
    ]);
    const since = await t.store.listAudit({ since: new Date("2030-01-01T00:00:02.000Z"), limit: 10 });
    expect(since.map((event) => event.seq)).toEqual([6, 7, 8, 9]);
    const page = await t.store.listAudit({ afterSeq: 2, limit: 2 });
    expect(page.map((event) => event.seq)).toEqual([3, 4]);
  });
});
