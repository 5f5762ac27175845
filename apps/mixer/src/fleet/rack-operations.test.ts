// Operator operations served from the in-memory directory: listing in step with every commit, current hello and
// heartbeat facts, and bulk adopt as one batch with a hash chain that still verifies.
import { generateKeyPair, publicKeyToBase64url } from "@fluxrig/passport";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LifecycleHarness, openLifecycleHarness } from "../../test/support/lifecycle-test-harness.js";
import { heartbeatFixture, NULL_PRESENCE_SINK } from "../../test/support/presence-fixtures.js";
import { listRacks } from "../../test/support/registry-oracle.js";
import type { TestRegistry } from "../../test/support/registry-test-harness.js";
import { OperationError } from "../errors/wire-refusal.js";
import { PresenceTracker } from "../presence/presence-tracker.js";
import type { RackDirectory } from "../registry/rack-directory.js";
import type { RackRecord } from "../registry/registry-records.js";
import type { RegistryWriter } from "../registry/registry-writer.js";
import { RackOperationsService } from "./rack-operations.js";
import type { RackStatusChanges } from "./rack-status-changes.js";

const alice = { actor: "api:alice" };

let h: LifecycleHarness;
let t: TestRegistry;
let directory: RackDirectory;
let writer: RegistryWriter;
let lifecycle: RackStatusChanges;
let ops: RackOperationsService;
let pushes: string[];
let presence: PresenceTracker;

beforeEach(async () => {
  h = await openLifecycleHarness();
  ({ t, directory, writer, lifecycle, pushes } = h);
  presence = new PresenceTracker(
    { heartbeatIntervalMs: 1000, missedHeartbeats: 3, startedAtMs: t.clock.now().getTime() },
    {
      directory,
      sink: NULL_PRESENCE_SINK,
    },
  );
  ops = new RackOperationsService({ db: t.db, lifecycle, directory, presence, clock: () => t.clock.now() });
});

afterEach(async () => {
  await h.close();
});

async function enroll(n: number): Promise<RackRecord> {
  const { rack } = await lifecycle.enroll({
    name: `rack-${String(n).padStart(3, "0")}`,
    publicKey: publicKeyToBase64url(generateKeyPair().publicKey),
    version: "1.0.0",
    attributes: { hostname: `host-${n}` },
    source: "10.0.0.1",
    machineIdRange: { min: 1, max: 65_535 },
  });
  return rack;
}

async function names(query: { status?: "pending" | "active" } = {}): Promise<string[]> {
  return (await ops.list({ limit: 1000, ...query })).items.map((r) => r.name);
}

describe("listing from the directory", () => {
  it("lists a Rack as soon as its enrollment commits, and never after its removal commits", async () => {
    const rack = await enroll(1);
    expect(await names()).toEqual(["rack-001"]);
    await ops.remove("rack-001", alice);
    expect(await names()).toEqual([]);
    await expect(ops.show(rack.entityId.toString())).rejects.toMatchObject({ code: "not_found" });
  });

  it("gives the same items and cursor as the SQL listing, with the same shape as show", async () => {
    for (const n of [5, 3, 1, 4, 2]) await enroll(n);
    await ops.adopt("rack-002", alice);
    await ops.reject("rack-004", alice);
    const first = await ops.list({ limit: 2 });
    const sql = await listRacks(t.db, { limit: 2 });
    expect(first.items.map((r) => r.name)).toEqual(sql.racks.map((r) => r.name));
    expect(first.next).toBe(sql.nextAfter);
    const second = await ops.list({ limit: 2, after: first.next! });
    expect(second.items.map((r) => r.name)).toEqual(["rack-003", "rack-004"]);
    expect(await names({ status: "active" })).toEqual(["rack-002"]);
    expect((await ops.list({ limit: 10, namePrefix: "rack-00", after: "rack-004" })).items).toHaveLength(1);
    const { evidence: _, gears: __, ...shown } = await ops.show("rack-002");
    expect(second.items.length + first.items.length).toBe(4);
    expect(first.items[1]).toEqual(shown);
    expect(shown).toMatchObject({ status: "active", passport: { serial: 1 } });
  });

  it("shows hello facts before they are flushed", async () => {
    const rack = await enroll(1);
    const later = t.clock.advance(5_000);
    // What the hello handler does with a known Rack's hello: its facts to the directory, the sighting to presence.
    await lifecycle.noteHello(rack, {
      version: "1.2.0",
      attributes: { hostname: "host-1" },
      source: "10.0.0.9",
      now: later,
    });
    presence.touch(rack.name, later.getTime());
    const shown = await ops.show("rack-001");
    expect(shown).toMatchObject({
      version: "1.2.0",
      last_seen: later.toISOString(),
      evidence: { hello_count: 2, last_source: "10.0.0.9", conflicts: [] },
    });
    const [listed] = (await ops.list({ limit: 10 })).items;
    expect(listed).toMatchObject({ version: "1.2.0", last_seen: later.toISOString() });
    // The database still has the enrollment's facts: the flush has not run.
    expect((await listRacks(t.db, { limit: 10 })).racks[0]).toMatchObject({ version: "1.0.0" });
  });

  it("shows presence's heartbeat time and stats; an adoption is not a sighting", async () => {
    const rack = await enroll(1);
    const enrolledAt = t.clock.now().toISOString();
    t.clock.advance(30_000);
    await ops.adopt("rack-001", alice);
    expect((await ops.show("rack-001")).last_seen).toBe(enrolledAt);
    const later = t.clock.advance(1_000).getTime();
    const hb = heartbeatFixture({ name: rack.name, entity_id: rack.entityId.toString() });
    expect(presence.heartbeat(hb, rack.entityId, later)).toMatchObject({ accepted: true });
    expect(await ops.show("rack-001")).toMatchObject({
      last_seen: new Date(later).toISOString(),
      stats: { ...hb.stats, presence: { session: "s1", seq: 1 } },
    });
    expect((await ops.list({ limit: 1 })).items[0]).toMatchObject({
      last_seen: new Date(later).toISOString(),
    });
  });

  it("flags a pending Rack silent for interval x missed (3 s here) as stale, until it is heard again", async () => {
    const rack = await enroll(1);
    t.clock.advance(3_000);
    expect(await ops.show("rack-001")).toMatchObject({ status: "pending", stale: false });
    t.clock.advance(1);
    expect(await ops.show("rack-001")).toMatchObject({ status: "pending", stale: true });
    expect((await ops.list({ limit: 10 })).items[0]).toMatchObject({ name: "rack-001", stale: true });
    const hb = heartbeatFixture({ name: rack.name, entity_id: rack.entityId.toString(), status: "pending" });
    presence.heartbeat(hb, rack.entityId, t.clock.now().getTime());
    expect(await ops.show("rack-001")).toMatchObject({ stale: false });
    t.clock.advance(10_000);
    // Adopted Racks are never stale: presence's own verdict (offline) says it.
    expect(await ops.adopt("rack-001", alice)).toMatchObject({ status: "active", stale: false });
  });

  it("shows a record presence does not hold (another Rack of the same name) with its own facts", async () => {
    const rack = await enroll(1);
    const enrolledAt = t.clock.now().toISOString();
    const facts = new RackOperationsService({
      db: t.db,
      lifecycle,
      directory,
      presence: { get: () => ({ entityId: rack.entityId + 1n, lastSeenMs: Date.now(), stats: { cpu: 1 } }) },
    });
    expect(await facts.show("rack-001")).toMatchObject({ last_seen: enrolledAt, stats: null });
  });

  it("resolves names, decimal and hex ids from the directory", async () => {
    const rack = await enroll(7);
    const hex = `0x${rack.entityId.toString(16)}`;
    expect((await ops.resolve(hex)).name).toBe("rack-007");
    expect((await ops.resolve(rack.entityId.toString())).name).toBe("rack-007");
    await expect(ops.resolve("rack-404")).rejects.toMatchObject({ code: "not_found" });
    await expect(ops.resolve("Not A Name")).rejects.toBeInstanceOf(OperationError);
  });

  it("reads every digits-only or 0x-hex ref as an entity id, and refuses one that is ambiguous", async () => {
    const rack = await enroll(7);
    // 17 hex digits is not an entity id: a clear error, not a lookup of a Rack named so.
    await expect(ops.resolve("0x03000400000000000")).rejects.toMatchObject({
      code: "bad_request",
      message: expect.stringMatching(/not a valid entity id/),
    });
    // A Rack enrolled under an id-like name before names were checked: reachable by that name while no Rack has
    // the id, and never silently mistaken for the Rack that does.
    const { rack: legacy } = await lifecycle.enroll({
      name: rack.entityId.toString(),
      publicKey: publicKeyToBase64url(generateKeyPair().publicKey),
      version: "1.0.0",
      attributes: {},
      source: null,
      machineIdRange: { min: 1, max: 65_535 },
    });
    await expect(ops.resolve(rack.entityId.toString())).rejects.toMatchObject({
      code: "bad_request",
      message: expect.stringContaining(`is ambiguous: it is the entity id of rack-007`),
    });
    expect((await ops.resolve(`0x${legacy.entityId.toString(16).padStart(16, "0")}`)).entityId).toBe(
      legacy.entityId,
    );
    const { rack: orphan } = await lifecycle.enroll({
      name: "123",
      publicKey: publicKeyToBase64url(generateKeyPair().publicKey),
      version: "1.0.0",
      attributes: {},
      source: null,
      machineIdRange: { min: 1, max: 65_535 },
    });
    expect((await ops.resolve("123")).entityId).toBe(orphan.entityId);
  });
});

describe("refs not found and changes that change nothing", () => {
  it("answers a typo'd name with the closest names, only when close, and an unknown id with none", async () => {
    for (const n of [1, 2, 30]) await enroll(n);
    const typo = await ops.resolve("rack-0001").catch((err: unknown) => err);
    expect(typo).toMatchObject({
      code: "not_found",
      message: "no Rack rack-0001; did you mean rack-001?",
      details: { suggestions: ["rack-001"] },
    });
    await expect(ops.adopt("rack-00", alice)).rejects.toMatchObject({
      message: "no Rack rack-00; did you mean rack-001, rack-002 or rack-030?",
    });
    const far = (await ops.show("web-frontend").catch((err: unknown) => err)) as OperationError;
    expect(far).toMatchObject({ code: "not_found", message: "no Rack web-frontend" });
    expect(far.details).toBeUndefined();
    await expect(ops.resolve("0x0300ff0000000000")).rejects.toMatchObject({
      code: "not_found",
      message: "no Rack 0x0300ff0000000000",
    });
  });

  it("says when an adopt, reject or revoke found the Rack already so", async () => {
    await enroll(1);
    await enroll(2);
    const adopted = await ops.adopt("rack-001", alice);
    expect(adopted.status).toBe("active");
    expect(adopted.unchanged).toBeUndefined();
    const again = await ops.adopt("rack-001", alice);
    expect(again).toMatchObject({ status: "active", unchanged: true });
    expect(again.passport?.serial).toBe(adopted.passport?.serial);
    expect((await ops.revoke("rack-001", alice)).unchanged).toBeUndefined();
    expect(await ops.revoke("rack-001", alice)).toMatchObject({ status: "revoked", unchanged: true });
    expect((await ops.reject("rack-002", alice)).unchanged).toBeUndefined();
    expect(await ops.reject("rack-002", alice)).toMatchObject({ status: "rejected", unchanged: true });
  });
});

describe("bulk adopt", () => {
  it("adopts by refs and pattern in one write batch, and the audit chain verifies", async () => {
    for (let n = 1; n <= 30; n++) await enroll(n);
    await ops.reject("rack-030", alice);
    const auditBefore = (await t.store.verifyAuditChain()) as { ok: true; count: number };
    const batchesBefore = writer.stats.batches;
    pushes.length = 0;

    const result = await ops.adoptMany({
      actor: "api:alice",
      reason: "OPS-1",
      refs: ["rack-001", "rack-404", "rack-030"],
      pattern: "rack-0??",
      dryRun: false,
    });
    expect(result.adopted).toHaveLength(29);
    expect(result.skipped).toEqual([
      { ref: "rack-404", reason: "no Rack rack-404; did you mean rack-004?", code: "not_found" },
      { ref: "rack-030", reason: "already rejected", code: "invalid_transition" },
    ]);
    expect(writer.stats.batches).toBe(batchesBefore + 1);
    expect(await names({ status: "active" })).toHaveLength(29);
    expect(pushes.filter((s) => s.endsWith(".passport"))).toHaveLength(29);

    const verdict = await t.store.verifyAuditChain();
    expect(verdict).toMatchObject({ ok: true, count: auditBefore.count + 29 * 2 });
    const events = await t.store.listAudit({ afterSeq: auditBefore.count, limit: 100 });
    expect(events.filter((e) => e.kind === "status_changed")).toHaveLength(29);
    expect(events.filter((e) => e.kind === "passport_issued")).toHaveLength(29);
    expect(events[0]).toMatchObject({ actor: "api:alice", cause: "operator", details: { reason: "OPS-1" } });
  });

  it("refuses one activation on its own: a Rack rejected after it was picked fails, its neighbours commit", async () => {
    const racks = [await enroll(1), await enroll(2), await enroll(3)];
    await ops.reject("rack-002", alice);
    const outcomes = await lifecycle.activateMany(racks, { cause: "operator", actor: "api:alice" });
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(directory.rackByName("rack-002")?.status).toBe("rejected");
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true });
  });

  it("changes nothing on a dry run", async () => {
    await enroll(1);
    const result = await ops.adoptMany({ actor: "api", pattern: "rack-*", dryRun: true });
    expect(result.adopted).toEqual([{ name: "rack-001", entity_id: expect.any(String), from: "pending" }]);
    expect(await names({ status: "pending" })).toEqual(["rack-001"]);
  });
});
