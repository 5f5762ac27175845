// The lifecycle over the group-commit writer and a real DuckDB file: adoption with its passport, replace, hello facts.
import { generateKeyPair, publicKeyToBase64url, verifyPassport } from "@fluxrig/passport";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DAY,
  type LifecycleHarness,
  openLifecycleHarness,
  TEST_CLUSTER_KEY,
} from "../../test/support/lifecycle-test-harness.js";
import type { TestRegistry } from "../../test/support/registry-test-harness.js";
import type { RackDirectory } from "../registry/rack-directory.js";
import { UnexpectedStatusError } from "../registry/registry-errors.js";
import type { RegistryWriter } from "../registry/registry-writer.js";
import type { EnrollInput, RackStatusChanges } from "./rack-status-changes.js";

let h: LifecycleHarness;
let t: TestRegistry;
let directory: RackDirectory;
let writer: RegistryWriter;
let lifecycle: RackStatusChanges;
let pushes: string[];

beforeEach(async () => {
  h = await openLifecycleHarness();
  ({ t, directory, writer, lifecycle, pushes } = h);
});

afterEach(async () => {
  await h.close();
});

const rackKeys = new Map<number, string>();
/** A real Ed25519 public key per Rack number (passports name it, and the issuer checks its form). */
function rackKey(n: number): string {
  let key = rackKeys.get(n);
  if (key === undefined) {
    key = publicKeyToBase64url(generateKeyPair().publicKey);
    rackKeys.set(n, key);
  }
  return key;
}

function enrollInput(n: number, adopt = true): EnrollInput {
  return {
    name: `rack-${n}`,
    publicKey: rackKey(n),
    version: "1.0.0",
    attributes: { hostname: `host-${n}` },
    source: "test",
    machineIdRange: { min: 1, max: 65_535 },
    ...(adopt ? { adopt: { cause: "auto_adopt", actor: "mixer" } } : {}),
  };
}

describe("RackStatusChanges over the writer", () => {
  it("enrolls and adopts in ONE transaction: never active without its passport recorded", async () => {
    const { rack, passport } = await lifecycle.enroll(enrollInput(1));
    expect(writer.stats.batches).toBe(1);
    expect(
      verifyPassport(passport!, {
        clusterPublicKey: TEST_CLUSTER_KEY.publicKey,
        rackPublicKey: rackKey(1),
        name: "rack-1",
        now: t.clock.now(),
      }),
    ).toMatchObject({ serial: 1, status: "active" });
    expect(await t.store.getByEntityId(rack.entityId)).toMatchObject({
      status: "active",
      lifecycle: { passportSerial: 1, passportsValidUntil: new Date(t.clock.now().getTime() + DAY) },
    });
    const events = await t.store.listAudit({ limit: 10 });
    expect(events.map((e) => [e.kind, e.toStatus, e.cause])).toEqual([
      ["rack_enrolled", "pending", "enrollment"],
      ["status_changed", "active", "auto_adopt"],
      ["passport_issued", null, "auto_adopt"],
    ]);
    expect(pushes).toEqual(["fluxrig.rack.rack-1.passport"]);
  });

  it("commits a burst of enrollments together, each with a distinct MachineID and a valid chain", async () => {
    const enrolled = await Promise.all(
      Array.from({ length: 100 }, (_, i) => lifecycle.enroll(enrollInput(i))),
    );
    expect(writer.stats).toMatchObject({ batches: 1, writes: 100 });
    expect(new Set(enrolled.map((e) => e.rack.machineId)).size).toBe(100);
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true, count: 300 });
    expect(await t.store.countByStatus()).toMatchObject({ active: 100 });
  });

  it("replaces a Rack's key in one write, keeping its MachineID and clearing the name's conflicts", async () => {
    const { rack: old } = await lifecycle.enroll(enrollInput(1));
    await lifecycle.recordNameConflict({
      name: "rack-1",
      claimedPublicKey: rackKey(99),
      holderEntityId: old.entityId,
      source: "x",
    });
    expect(await t.store.listConflicts("rack-1")).toHaveLength(1);
    pushes.length = 0;
    const created = await lifecycle.replace(old, {
      publicKey: rackKey(99),
      source: "x",
      attributes: { hostname: "rebuilt", os: "linux", arch: "arm64" },
      version: "2.0.0",
      keepMachineId: true,
      why: { cause: "operator", actor: "alice" },
    });
    expect(created).toMatchObject({ entityId: old.entityId, machineId: old.machineId, status: "pending" });
    // The claimant's report becomes the new row's evidence (adopted attributes never change afterwards).
    expect(directory.rackByName("rack-1")).toMatchObject({
      version: "2.0.0",
      attributes: { hostname: "rebuilt", os: "linux", arch: "arm64", public_key: rackKey(99) },
    });
    expect(directory.rackByName("rack-1")?.lifecycle.publicKey).toBe(rackKey(99));
    expect(directory.rackByPublicKey(rackKey(1))).toBeUndefined();
    expect(await t.store.listConflicts("rack-1")).toEqual([]);
    expect((await t.db.query("SELECT count(*) FROM machine_id_tombstones")).rows).toEqual([[0n]]);
    const kinds = (await t.store.listAudit({ afterSeq: 3, limit: 10 })).map((e) => `${e.kind}:${e.toStatus}`);
    expect(kinds).toEqual([
      "status_changed:revoked",
      "bus_key_revoked:null",
      "rack_deleted:null",
      "rack_enrolled:pending",
    ]);
    expect(pushes).toEqual(["fluxrig.rack.rack-1.passport", "fluxrig.rack.rack-1.passport"]);
  });

  it("an adopted Rack with no host evidence (replaced before schema 2) records its first report, once", async () => {
    const { rack: old } = await lifecycle.enroll(enrollInput(1));
    const created = await lifecycle.replace(old, {
      publicKey: rackKey(99),
      source: null,
      keepMachineId: false,
      why: { cause: "operator", actor: "alice" },
    });
    const { rack } = await lifecycle.activate(created, { cause: "replaced", actor: "alice", kind: "issued" });
    expect(rack.attributes).toEqual({ public_key: rackKey(99) });
    const report = { hostname: "rebuilt", os: "linux", arch: "arm64" };
    const now = new Date();
    await lifecycle.noteHello(rack, { version: "2.0.0", attributes: report, source: null, now });
    expect(directory.rackByName("rack-1")?.attributes).toEqual({ ...report, public_key: rackKey(99) });
    const events = await t.store.listAudit({ limit: 100 });
    expect(events.filter((e) => e.kind === "attributes_recorded")).toHaveLength(1);
    // From then on they are immutable like any adopted Rack's.
    const recorded = directory.rackByName("rack-1")!;
    await lifecycle.noteHello(recorded, {
      version: "2.0.0",
      attributes: { ...report, hostname: "x" },
      source: null,
      now,
    });
    expect(directory.rackByName("rack-1")?.attributes.hostname).toBe("rebuilt");
  });

  it("removes only what it expects: a Rack adopted meanwhile is left alone", async () => {
    const { rack } = await lifecycle.enroll(enrollInput(1, false));
    await lifecycle.activate(rack, { cause: "operator", actor: "alice" });
    const refused = await lifecycle
      .remove(rack, { cause: "pending_ttl", actor: "mixer", expectFrom: "pending" })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnexpectedStatusError);
    expect(directory.rack(rack.entityId)?.status).toBe("active");
  });

  it("keeps hello facts in memory until the flush; a pending Rack's new attributes are written at once", async () => {
    const { rack } = await lifecycle.enroll(enrollInput(1, false));
    const later = t.clock.advance(1_000);
    const same = { hostname: "host-1" };
    await lifecycle.noteHello(rack, { version: "1.1.0", attributes: same, source: "y", now: later });
    expect(await t.store.getByEntityId(rack.entityId)).toMatchObject({
      version: "1.0.0",
      lifecycle: { helloCount: 1 },
    });
    expect(await lifecycle.flushHelloFacts()).toBe(1);
    expect(await t.store.getByEntityId(rack.entityId)).toMatchObject({
      version: "1.1.0",
      lifecycle: { helloCount: 2, lastSource: "y" },
    });
    const moved = { hostname: "moved" };
    const noted = await lifecycle.noteHello(rack, {
      version: "1.1.0",
      attributes: moved,
      source: "y",
      now: later,
    });
    expect(noted.attributes).toEqual({ hostname: "moved", public_key: rackKey(1) });
    expect(await t.store.getByEntityId(rack.entityId)).toMatchObject({ attributes: { hostname: "moved" } });
    // Adopted: attributes are immutable, a hello cannot change them any more.
    const { rack: adopted } = await lifecycle.activate(rack, { cause: "operator", actor: "alice" });
    const evil = { hostname: "evil" };
    const after = await lifecycle.noteHello(adopted, {
      version: "1.1.0",
      attributes: evil,
      source: "y",
      now: later,
    });
    expect(after.attributes.hostname).toBe("moved");
    await lifecycle.flushHelloFacts();
    expect(await t.store.getByEntityId(rack.entityId)).toMatchObject({
      attributes: { hostname: "moved" },
      lifecycle: { helloCount: 4 },
    });
  });
});
