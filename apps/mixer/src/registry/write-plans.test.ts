// The registry's rules as plans enforce them, in memory: no database, a stage over an empty (or seeded) registry.
import { EntityType, nodeEntityId } from "@fluxrig/entity-id";
import { beforeEach, describe, expect, it } from "vitest";
import {
  emptyRegistry,
  insertPlan,
  MIXER_ROW,
  rackInput,
  SNAKE_ROW,
  STATUS_PATHS,
} from "../../test/support/registry-test-harness.js";
import { isLegalTransition, RACK_STATUSES, type RackStatus } from "./rack-status.js";
import {
  IllegalTransitionError,
  InvalidInputError,
  MachineIdInUseError,
  NameTakenError,
  NotFoundError,
  PublicKeyTakenError,
  RegistryFullError,
  ScenarioVersionTakenError,
  StalePassportSerialError,
  UnexpectedStatusError,
} from "./registry-errors.js";
import type { RackRecord } from "./registry-records.js";
import {
  planActivateScenario,
  planAttributes,
  planDeleteRack,
  planImportScenario,
  planInsertRack,
  planNodeRow,
  planPassportIssued,
  planPruneRevocations,
  planRollbackScenario,
  planSetStatus,
  rollbackTarget,
} from "./write-plans.js";
import { WriteStage } from "./write-stage.js";

const T0 = new Date("2030-01-01T00:00:00.000Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const by = { cause: "operator", actor: "alice" };
const at = (ms: number) => new Date(T0.getTime() + ms);

let stage: WriteStage;
let registry: ReturnType<typeof emptyRegistry>;

beforeEach(() => {
  registry = emptyRegistry();
  stage = new WriteStage(registry.base);
});

/** Runs `plan` on a fork of the stage: merged when it succeeds; when it throws, the fork must hold nothing. */
function attempt<T>(plan: (s: WriteStage) => T): T {
  const child = stage.fork();
  try {
    const result = plan(child);
    child.merge();
    return result;
  } catch (error) {
    expect(child.empty, "a refused plan stages nothing").toBe(true);
    throw error;
  }
}

function refusal(plan: (s: WriteStage) => unknown): unknown {
  try {
    attempt(plan);
  } catch (error) {
    return error;
  }
  throw new Error("the plan was not refused");
}

const insert = (n: number, overrides = {}) => attempt(insertPlan(n, T0, overrides));

describe("planInsertRack", () => {
  it("stages the registry and lifecycle record and one rack_enrolled event", () => {
    const rack = insert(1);
    expect(rack).toEqual({
      entityId: nodeEntityId(EntityType.Rack, 1),
      typeId: EntityType.Rack,
      machineId: 1,
      name: "rack-001",
      status: "pending",
      version: "1.0.0",
      attributes: { hostname: "host-1", os: "linux", arch: "x64", public_key: "test-key-1" },
      stats: null,
      lastSeen: T0,
      lifecycle: {
        publicKey: "test-key-1",
        firstSeen: T0,
        statusChangedAt: T0,
        passportSerial: 0,
        passportIssuedAt: null,
        passportExpiresAt: null,
        passportsValidUntil: null,
        lastSource: "test",
        helloCount: 1,
        flaps: 0,
      },
    });
    expect(stage.rack(rack.entityId)).toEqual(rack);
    expect(stage.audits).toEqual([
      expect.objectContaining({ kind: "rack_enrolled", entityId: rack.entityId, toStatus: "pending" }),
    ]);
  });

  it("refuses a taken name with NameTakenError naming the holder", () => {
    const holder = insert(1);
    expect(refusal(insertPlan(2, T0, { name: "rack-001" }))).toMatchObject({
      name: "NameTakenError",
      takenName: "rack-001",
      holderEntityId: holder.entityId,
    });
  });

  it("refuses a key that already enrolled under another name with PublicKeyTakenError", () => {
    const holder = insert(1);
    const refused = refusal(insertPlan(2, T0, { publicKey: "test-key-1" }));
    expect(refused).toBeInstanceOf(PublicKeyTakenError);
    expect(refused).toMatchObject({ holderEntityId: holder.entityId, holderName: "rack-001" });
  });

  it.each([["Rack-1"], ["-rack"], ["rack_1"], [""], ["a".repeat(64)]])("refuses the name %j", (name) => {
    expect(refusal(insertPlan(1, T0, { name }))).toBeInstanceOf(InvalidInputError);
    expect(stage.empty).toBe(true);
  });

  it("refuses attributes whose public_key differs from the enrolling key", () => {
    expect(refusal(insertPlan(1, T0, { attributes: { public_key: "someone-else" } }))).toBeInstanceOf(
      InvalidInputError,
    );
  });
});

describe("MachineID allocation", () => {
  it("hands out the lowest free id and fills the hole a deletion without passport left", () => {
    const racks = [1, 2, 3, 4].map((n) => insert(n));
    expect(racks.map((rack) => rack.machineId)).toEqual([1, 2, 3, 4]);
    attempt((s) => planDeleteRack(s, racks[1]!.entityId, { ...by, now: T0 }));
    expect(insert(5).machineId).toBe(2);
  });

  it("skips a tombstoned id until reusable_after, then reuses it", () => {
    const [first] = [insert(1), insert(2)];
    attempt((s) => planPassportIssued(s, first!.entityId, { serial: 1, issuedAt: T0, expiresAt: at(DAY) }));
    attempt((s) => planDeleteRack(s, first!.entityId, { ...by, now: T0 }));
    expect(insert(3).machineId).toBe(3);
    expect(attempt(insertPlan(4, at(DAY - 1))).machineId).toBe(4);
    expect(attempt(insertPlan(5, at(DAY))).machineId).toBe(1);
  });

  it("refuses an explicit id that is tombstoned or held, and accepts a free one", () => {
    const first = insert(1);
    attempt((s) => planPassportIssued(s, first.entityId, { serial: 1, issuedAt: T0, expiresAt: at(DAY) }));
    attempt((s) => planDeleteRack(s, first.entityId, { ...by, now: T0 }));
    expect(refusal(insertPlan(2, T0, { machineId: 1 }))).toMatchObject({
      name: "MachineIdInUseError",
      machineId: 1,
      holderEntityId: undefined,
    });
    const placed = insert(3, { machineId: 500 });
    expect(placed.machineId).toBe(500);
    const held = refusal(insertPlan(4, T0, { machineId: 500 }));
    expect(held).toBeInstanceOf(MachineIdInUseError);
    expect(held).toMatchObject({ holderEntityId: placed.entityId });
  });

  it("skips the ids of the Mixer and its Snake Tunnel", () => {
    attempt((s) => planNodeRow(s, mixer));
    expect(attempt((s) => planNodeRow(s, snake)).machineId).toBe(2);
    expect([insert(1), insert(2)].map((rack) => rack.machineId)).toEqual([3, 4]);
  });

  it("answers an exhausted range with RegistryFullError", () => {
    const machineIdRange = { min: 10, max: 12 };
    for (let n = 1; n <= 3; n++) expect(insert(n, { machineIdRange }).machineId).toBe(9 + n);
    const refused = refusal(insertPlan(4, T0, { machineIdRange }));
    expect(refused).toBeInstanceOf(RegistryFullError);
    expect(refused).toMatchObject({ min: 10, max: 12, code: "registry_full" });
  });

  it.each([
    [0, 10],
    [5, 4],
    [1, 65_536],
  ])("refuses the range %i..%i", (min, max) => {
    expect(refusal(insertPlan(1, T0, { machineIdRange: { min, max } }))).toBeInstanceOf(InvalidInputError);
  });

  it("finds the lowest hole among many used ids", () => {
    for (let id = 1; id <= 5000; id++) {
      if (id !== 4321) registry.pool.markLive(id, nodeEntityId(EntityType.Rack, id));
    }
    expect(insert(1).machineId).toBe(4321);
    expect(insert(2, { machineIdRange: { min: 4322, max: 65_535 } }).machineId).toBe(5001);
    expect(insert(3, { machineIdRange: { min: 65_535, max: 65_535 } }).machineId).toBe(65_535);
  });
});

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

function rackIn(status: RackStatus): RackRecord {
  let rack = insert(1);
  for (const step of STATUS_PATHS[status])
    rack = attempt((s) => planSetStatus(s, rack.entityId, step, { ...by, now: T0 }));
  return rack;
}

describe("planSetStatus: the status machine", () => {
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

  it.each(LEGAL)("%s -> %s stages the status, status_changed_at and its audit events", (from, to) => {
    const rack = rackIn(from);
    const events = stage.audits.length;
    const key = rack.lifecycle.publicKey;
    const revokedBefore = stage.revocation(key);
    const when = at(1_000);
    const changed = attempt((s) =>
      planSetStatus(s, rack.entityId, to, { ...by, now: when, details: { why: "test" } }),
    );
    expect(changed.status).toBe(to);
    expect(changed.lifecycle.statusChangedAt).toEqual(when);
    expect(stage.rack(rack.entityId)).toEqual(changed);
    // Reject and revoke cut the key off the bus in the same write; no other change touches the revocation list.
    const cutOff = to === "rejected" || to === "revoked";
    expect(stage.audits.slice(events)).toEqual([
      expect.objectContaining({
        kind: "status_changed",
        fromStatus: from,
        toStatus: to,
        details: { why: "test" },
      }),
      ...(cutOff
        ? [
            expect.objectContaining({
              kind: "bus_key_revoked",
              entityId: rack.entityId,
              cause: "operator",
              actor: "alice",
              details: {
                public_key: key,
                change: to,
                revoked_at: when.toISOString(),
                revoked_second: 1_893_456_001,
              },
            }),
          ]
        : []),
    ]);
    if (cutOff) {
      expect(stage.revocation(key)).toEqual({ publicKey: key, revokedAt: when, name: "rack-001", cause: to });
    } else {
      expect(stage.revocation(key)).toEqual(revokedBefore);
    }
  });

  it.each(ILLEGAL)("%s -> %s is refused with IllegalTransitionError", (from, to) => {
    const rack = rackIn(from);
    const refused = refusal((s) => planSetStatus(s, rack.entityId, to, { ...by, now: T0 }));
    expect(refused).toBeInstanceOf(IllegalTransitionError);
    expect(refused).toMatchObject({ from, to, entityId: rack.entityId });
  });

  it.each(RACK_STATUSES)("%s -> %s is a no-op that returns the record and stages nothing", (status) => {
    const rack = rackIn(status);
    const child = stage.fork();
    expect(planSetStatus(child, rack.entityId, status, { ...by, now: at(5) })).toEqual(rack);
    expect(child.empty).toBe(true);
  });

  it("refuses a stale compare-and-set with UnexpectedStatusError", () => {
    const rack = rackIn("revoked");
    const refused = refusal((s) =>
      planSetStatus(s, rack.entityId, "offline", { ...by, now: T0, expectFrom: "active" }),
    );
    expect(refused).toBeInstanceOf(UnexpectedStatusError);
    expect(refused).toMatchObject({ expected: "active", actual: "revoked" });
  });

  it("counts a flap each time an offline Rack comes back", () => {
    const rack = rackIn("offline");
    const presence = { cause: "presence", actor: "mixer", now: T0 };
    expect(attempt((s) => planSetStatus(s, rack.entityId, "active", presence)).lifecycle.flaps).toBe(1);
    attempt((s) => planSetStatus(s, rack.entityId, "offline", presence));
    expect(attempt((s) => planSetStatus(s, rack.entityId, "active", presence)).lifecycle.flaps).toBe(2);
  });

  it("answers an unknown entity id with NotFoundError", () => {
    expect(refusal((s) => planSetStatus(s, 123n, "active", { ...by, now: T0 }))).toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe("planPassportIssued", () => {
  it("records serials in order and keeps the latest expiry ever issued", () => {
    const rack = insert(1);
    const long = at(48 * HOUR);
    attempt((s) => planPassportIssued(s, rack.entityId, { serial: 1, issuedAt: T0, expiresAt: long }));
    const short = at(HOUR);
    const second = attempt((s) =>
      planPassportIssued(s, rack.entityId, { serial: 2, issuedAt: T0, expiresAt: short }),
    );
    expect(second.lifecycle).toMatchObject({
      passportSerial: 2,
      passportIssuedAt: T0,
      passportExpiresAt: short,
      passportsValidUntil: long,
    });
    expect(stage.audits.map((event) => event.kind)).toEqual([
      "rack_enrolled",
      "passport_issued",
      "passport_issued",
    ]);
  });

  it("refuses a serial that is not above the last one", () => {
    const rack = insert(1);
    const passport = { serial: 1, issuedAt: T0, expiresAt: at(HOUR) };
    attempt((s) => planPassportIssued(s, rack.entityId, passport));
    const refused = refusal((s) => planPassportIssued(s, rack.entityId, passport));
    expect(refused).toBeInstanceOf(StalePassportSerialError);
    expect(refused).toMatchObject({ serial: 1, current: 1 });
  });
});

describe("planDeleteRack", () => {
  it("tombstones the MachineID, audits, and removes the Rack", () => {
    const rack = rackIn("rejected");
    const now = at(5_000);
    const deleted = attempt((s) => planDeleteRack(s, rack.entityId, { ...by, now }));
    expect(deleted).toEqual({ entityId: rack.entityId, name: "rack-001", machineId: 1, reusableAfter: now });
    expect(stage.rack(rack.entityId)).toBeUndefined();
    expect(stage.nameHolder("rack-001")).toBeUndefined();
    expect(stage.tombstones.get(1)).toMatchObject({ entityId: rack.entityId, name: "rack-001" });
    expect(stage.audits.slice(-2)).toMatchObject([
      { kind: "rack_deleted", fromStatus: "rejected", toStatus: null },
      { kind: "bus_key_revoked", details: { public_key: "test-key-1", change: "removed" } },
    ]);
  });

  it("holds the MachineID until the last passport naming it has expired", () => {
    const rack = rackIn("active");
    const expiresAt = at(DAY);
    attempt((s) => planPassportIssued(s, rack.entityId, { serial: 1, issuedAt: T0, expiresAt }));
    expect(attempt((s) => planDeleteRack(s, rack.entityId, { ...by, now: T0 })).reusableAfter).toEqual(
      expiresAt,
    );
  });
});

describe("planAttributes", () => {
  it("replaces a pending Rack's attributes and leaves an adopted Rack's alone", () => {
    const rack = insert(1);
    const renamed = attempt((s) =>
      planAttributes(s, rack.entityId, { hostname: "renamed" }, { now: T0, actor: "rack" }),
    );
    expect(renamed.attributes).toEqual({ hostname: "renamed", public_key: "test-key-1" });
    attempt((s) => planSetStatus(s, rack.entityId, "active", { ...by, now: T0 }));
    expect(
      attempt((s) => planAttributes(s, rack.entityId, { hostname: "tampered" }, { now: T0, actor: "rack" }))
        .attributes.hostname,
    ).toBe("renamed");
  });
});

const mixer = MIXER_ROW;
const snake = SNAKE_ROW;

describe("planNodeRow", () => {
  it("stages the Mixer (type 2) and a Snake Tunnel (type 8) with a MachineID of its own, not as Racks", () => {
    const m = attempt((s) => planNodeRow(s, mixer));
    const s8 = attempt((s) => planNodeRow(s, snake));
    expect(m).toMatchObject({ entityId: nodeEntityId(2, 1), typeId: 2, machineId: 1, status: "active" });
    expect(s8).toMatchObject({ entityId: nodeEntityId(8, 2), typeId: 8, machineId: 2, status: "active" });
    expect([...stage.nodeRecords()]).toEqual([m, s8]);
    expect(stage.rack(m.entityId)).toBeUndefined();
    expect(stage.audits.map((event) => [event.kind, event.cause])).toEqual([
      ["node_registered", "node_created"],
      ["node_registered", "node_created"],
    ]);
  });

  it("replaces the Mixer row when its configured MachineID changes, freeing the old id", () => {
    attempt((s) => planNodeRow(s, mixer));
    const moved = attempt((s) => planNodeRow(s, { ...mixer, machineId: 7 }));
    expect(moved.entityId).toBe(nodeEntityId(2, 7));
    expect([...stage.nodeRecords()].map((node) => node.machineId)).toEqual([7]);
    expect(stage.audits.at(-1)).toMatchObject({ details: { replaced: [nodeEntityId(2, 1).toString()] } });
    expect(insert(1).machineId).toBe(1);
  });

  it("refuses a configured MachineID that a Rack holds, and a name a Rack holds", () => {
    const rack = insert(1);
    expect(refusal((s) => planNodeRow(s, { ...mixer, machineId: rack.machineId }))).toBeInstanceOf(
      MachineIdInUseError,
    );
    expect(refusal((s) => planNodeRow(s, { ...mixer, machineId: 9, name: rack.name }))).toBeInstanceOf(
      NameTakenError,
    );
    expect([...stage.nodeRecords()]).toEqual([]);
  });

  it("makes a Rack claiming the Mixer's name fail with NameTakenError", () => {
    const m = attempt((s) => planNodeRow(s, mixer));
    expect(refusal(insertPlan(1, T0, { name: "mixer-1" }))).toMatchObject({
      name: "NameTakenError",
      holderEntityId: m.entityId,
    });
  });
});

function scenario(name: string, version = "1") {
  return {
    name,
    version,
    yaml: `meta: {name: ${name}, version: "${version}"}`,
    spec: { meta: { name, version } },
  };
}

const importScenario = (name: string, version = "1", now = T0) =>
  attempt((s) => planImportScenario(s, { ...scenario(name, version), now, actor: "alice" }));

describe("scenarios", () => {
  it("imports, and a re-import keeps the active flag", () => {
    expect(importScenario("beta")).toEqual({
      ...scenario("beta"),
      importedAt: T0,
      activatedAt: null,
      active: false,
    });
    importScenario("alpha");
    attempt((s) => planActivateScenario(s, "beta", { actor: "alice", now: T0 }));
    const again = importScenario("beta", "2", at(1_000));
    expect(again).toMatchObject({ version: "2", active: true, importedAt: at(1_000), activatedAt: T0 });
    expect([...stage.scenarioRecords()].map((s) => [s.name, s.version, s.active])).toEqual([
      ["beta", "2", true],
      ["alpha", "1", false],
    ]);
    expect(stage.audits.map((event) => event.kind)).toEqual([
      "scenario_imported",
      "scenario_imported",
      "scenario_activated",
      "scenario_imported",
    ]);
  });

  it("never changes a stored version: the same content again is a no-op, other content is refused", () => {
    const first = importScenario("gamma");
    const events = stage.audits.length;
    expect(importScenario("gamma", "1", at(5_000))).toEqual(first);
    expect(stage.audits.length).toBe(events);
    const changed = refusal((s) =>
      planImportScenario(s, {
        ...scenario("gamma"),
        spec: { meta: { name: "gamma", version: "1" }, gears: [] },
        now: at(6_000),
        actor: "alice",
      }),
    );
    expect(changed).toBeInstanceOf(ScenarioVersionTakenError);
    expect(changed).toMatchObject({ scenario: "gamma", version: "1" });
    expect(stage.scenario("gamma")).toEqual(first);
    // A new version is the way to change it.
    expect(importScenario("gamma", "2", at(7_000))).toMatchObject({ version: "2" });
  });

  it("keeps at most one scenario active and audits each activation with the one it replaced", () => {
    importScenario("a");
    importScenario("b");
    attempt((s) => planActivateScenario(s, "a", { actor: "alice", now: T0 }));
    const b = attempt((s) => planActivateScenario(s, "b", { actor: "alice", cause: "cli", now: at(1_000) }));
    expect(b).toMatchObject({ name: "b", active: true, activatedAt: at(1_000) });
    expect([...stage.scenarioRecords()].filter((s) => s.active).map((s) => s.name)).toEqual(["b"]);
    expect(stage.audits.at(-1)).toMatchObject({
      kind: "scenario_activated",
      name: "b",
      cause: "cli",
      details: { version: "1", previous: "a" },
    });
  });

  it("answers an unknown scenario with NotFoundError and keeps the active one", () => {
    importScenario("a");
    attempt((s) => planActivateScenario(s, "a", { actor: "alice", now: T0 }));
    expect(refusal((s) => planActivateScenario(s, "zzz", { actor: "alice", now: T0 }))).toBeInstanceOf(
      NotFoundError,
    );
    expect(stage.scenario("a")?.active).toBe(true);
  });

  it("records every activation with its version; a rollback re-activates the previous version as it was", () => {
    importScenario("lab", "1");
    attempt((s) => planActivateScenario(s, "lab", { actor: "alice", reason: "first", now: T0 }));
    importScenario("lab", "2", at(1_000));
    attempt((s) => planActivateScenario(s, "lab", { actor: "bob", now: at(2_000) }));
    expect(
      stage.scenarioActivations().map((a) => [a.seq, a.name, a.version, a.actor, a.cause, a.reason]),
    ).toEqual([
      [1, "lab", "1", "alice", "operator", "first"],
      [2, "lab", "2", "bob", "operator", null],
    ]);
    // Version 1 is gone from `scenarios` (re-imported as 2) but kept with its activation: the rollback brings it back.
    const { record, from } = attempt((s) =>
      planRollbackScenario(s, { actor: "carol", reason: "bad", now: at(3_000) }),
    );
    expect(from.seq).toBe(1);
    expect(record).toMatchObject({ ...scenario("lab", "1"), active: true, activatedAt: at(3_000) });
    expect(stage.scenario("lab")).toEqual(record);
    expect(stage.scenarioActivations().at(-1)).toMatchObject({
      seq: 3,
      version: "1",
      actor: "carol",
      cause: "rollback",
    });
    expect(stage.audits.at(-1)).toMatchObject({
      kind: "scenario_activated",
      name: "lab",
      cause: "rollback",
      actor: "carol",
      details: { version: "1", activation: 3, rollback_to: 1, reason: "bad" },
    });
    // A second rollback goes back to version 2, not further.
    expect(attempt((s) => planRollbackScenario(s, { actor: "carol", now: at(4_000) })).record.version).toBe(
      "2",
    );
  });

  it("a version once activated never changes, even after its name was imported again with another version", () => {
    importScenario("lab", "1");
    attempt((s) => planActivateScenario(s, "lab", { actor: "alice", now: T0 }));
    importScenario("lab", "2", at(1_000));
    const changed = refusal((s) =>
      planImportScenario(s, {
        ...scenario("lab", "1"),
        spec: { meta: { name: "lab", version: "1" }, gears: [] },
        now: at(2_000),
        actor: "alice",
      }),
    );
    expect(changed).toBeInstanceOf(ScenarioVersionTakenError);
    // The same content again is fine: it is that version.
    expect(importScenario("lab", "1", at(3_000))).toMatchObject({ version: "1", importedAt: at(3_000) });
  });

  it("refuses a rollback with no other version ever activated, staging nothing", () => {
    expect(refusal((s) => planRollbackScenario(s, { actor: "alice", now: T0 }))).toBeInstanceOf(
      InvalidInputError,
    );
    importScenario("lab");
    attempt((s) => planActivateScenario(s, "lab", { actor: "alice", now: T0 }));
    attempt((s) => planActivateScenario(s, "lab", { actor: "alice", now: at(1_000) }));
    expect(refusal((s) => planRollbackScenario(s, { actor: "alice", now: at(2_000) }))).toBeInstanceOf(
      InvalidInputError,
    );
    expect(rollbackTarget(stage.scenarioActivations(), { name: "lab", version: "1" })).toBeUndefined();
    // Another scenario counts as another version.
    expect(rollbackTarget(stage.scenarioActivations(), { name: "other", version: "1" })?.seq).toBe(2);
  });

  it("stores the spec as a later read gives it back (bigints as decimal strings)", () => {
    const record = attempt((s) =>
      planImportScenario(s, { ...scenario("a"), spec: { n: 2n ** 63n }, now: T0, actor: "alice" }),
    );
    expect(record.spec).toEqual({ n: "9223372036854775808" });
  });
});

describe("bus revocations", () => {
  const key = "test-key-1";

  it("reject, revoke and rm each revoke the Rack's key as of the change, with one event of its own", () => {
    const pending = insert(1);
    attempt((s) => planSetStatus(s, pending.entityId, "rejected", { ...by, now: at(1_000) }));
    expect(stage.revocation(key)).toEqual({
      publicKey: key,
      revokedAt: at(1_000),
      name: "rack-001",
      cause: "rejected",
    });
    const active = insert(2);
    attempt((s) => planSetStatus(s, active.entityId, "active", { ...by, now: at(1_000) }));
    expect(stage.revocation("test-key-2")).toBeUndefined();
    attempt((s) => planSetStatus(s, active.entityId, "offline", { ...by, now: at(2_000) }));
    attempt((s) => planSetStatus(s, active.entityId, "active", { ...by, now: at(3_000) }));
    expect(stage.revocation("test-key-2")).toBeUndefined();
    attempt((s) => planSetStatus(s, active.entityId, "revoked", { ...by, now: at(4_000) }));
    expect(stage.revocation("test-key-2")).toMatchObject({ revokedAt: at(4_000), cause: "revoked" });
    const third = insert(3);
    attempt((s) =>
      planDeleteRack(s, third.entityId, { cause: "pending_ttl", actor: "mixer", now: at(5_000) }),
    );
    expect(stage.revocation("test-key-3")).toMatchObject({
      revokedAt: at(5_000),
      cause: "removed",
      name: "rack-003",
    });
    const revoked = stage.audits.filter((e) => e.kind === "bus_key_revoked");
    expect(revoked.map((e) => [e.name, e.cause, (e.details as { change: string }).change])).toEqual([
      ["rack-001", "operator", "rejected"],
      ["rack-002", "operator", "revoked"],
      ["rack-003", "pending_ttl", "removed"],
    ]);
    expect(stage.revokesKeys).toBe(true);
  });

  it("replace (revoke, then remove, in one write) records one revocation of the old key", () => {
    const old = insert(1);
    attempt((s) => planSetStatus(s, old.entityId, "active", { ...by, now: T0 }));
    const events = stage.audits.length;
    const now = at(1_500);
    attempt((s) => {
      planSetStatus(s, old.entityId, "revoked", { cause: "replaced", actor: "alice", now });
      planDeleteRack(s, old.entityId, { cause: "replaced", actor: "alice", now });
      return planInsertRack(s, { ...rackInput(9), name: "rack-001", now, cause: "replaced" });
    });
    expect(stage.audits.slice(events).map((e) => e.kind)).toEqual([
      "status_changed",
      "bus_key_revoked",
      "rack_deleted",
      "rack_enrolled",
    ]);
    expect(stage.revocation(key)).toEqual({
      publicKey: key,
      revokedAt: now,
      name: "rack-001",
      cause: "revoked",
    });
    expect(stage.revocation("test-key-9")).toBeUndefined();
  });

  it("a key revoked again keeps the later second, also when the clock was set back", () => {
    const rack = insert(1);
    attempt((s) => planSetStatus(s, rack.entityId, "rejected", { ...by, now: at(10_000) }));
    attempt((s) => planDeleteRack(s, rack.entityId, { ...by, now: at(5_000) }));
    expect(stage.revocation(key)).toMatchObject({ revokedAt: at(10_000), cause: "removed" });
    // Enrolling again with the same key is allowed; its old revocation stays (a credential issued after it is valid).
    const again = insert(1, { now: at(20_000) });
    expect(again.lifecycle.publicKey).toBe(key);
    expect(stage.revocation(key)).toMatchObject({ revokedAt: at(10_000) });
    attempt((s) => planSetStatus(s, again.entityId, "rejected", { ...by, now: at(30_000) }));
    expect(stage.revocation(key)).toMatchObject({ revokedAt: at(30_000), cause: "rejected" });
  });

  it("a refused change revokes nothing", () => {
    const rack = insert(1);
    expect(
      refusal((s) => planSetStatus(s, rack.entityId, "revoked", { ...by, now: at(1_000) })),
    ).toBeInstanceOf(IllegalTransitionError);
    expect(
      refusal((s) =>
        planSetStatus(s, rack.entityId, "rejected", { ...by, now: at(1_000), expectFrom: "active" }),
      ),
    ).toBeInstanceOf(UnexpectedStatusError);
    expect(stage.revocation(key)).toBeUndefined();
    expect(stage.revokesKeys).toBe(false);
  });

  it("prunes revocations older than the horizon, in whole seconds, with one event; none left is a no-op", () => {
    for (const n of [1, 2, 3]) {
      const rack = insert(n);
      attempt((s) => planSetStatus(s, rack.entityId, "rejected", { ...by, now: at(n * HOUR) }));
    }
    const events = stage.audits.length;
    // Horizon one day: at 1 day + 2 h + 0.5 s, the revocation at 1 h is older, the one at exactly 2 h is not yet.
    const now = at(DAY + 2 * HOUR + 500);
    expect(attempt((s) => planPruneRevocations(s, { horizonMs: DAY, now }))).toBe(1);
    expect([...stage.revocationRecords()].map((r) => r.publicKey).sort()).toEqual([
      "test-key-2",
      "test-key-3",
    ]);
    expect(stage.revocations.get("test-key-1")).toBeNull();
    expect(stage.audits.slice(events)).toEqual([
      expect.objectContaining({
        kind: "bus_revocations_pruned",
        cause: "expired",
        actor: "mixer",
        details: { count: 1, before: at(2 * HOUR + 500).toISOString() },
      }),
    ]);
    const child = stage.fork();
    expect(planPruneRevocations(child, { horizonMs: DAY, now })).toBe(0);
    expect(child.empty).toBe(true);
    expect(refusal((s) => planPruneRevocations(s, { horizonMs: -1, now }))).toBeInstanceOf(InvalidInputError);
  });

  it("reads committed revocations through the stage and prunes them", () => {
    registry.revocations.put({ publicKey: "old", revokedAt: T0, name: "gone", cause: "removed" });
    registry.revocations.put({ publicKey: "new", revokedAt: at(DAY), name: "kept", cause: "revoked" });
    expect(stage.revocation("old")).toMatchObject({ name: "gone" });
    expect(attempt((s) => planPruneRevocations(s, { horizonMs: DAY, now: at(DAY + 1_000) }))).toBe(1);
    expect(stage.revocation("old")).toBeUndefined();
    expect([...stage.revocationRecords()].map((r) => r.publicKey)).toEqual(["new"]);
    expect(stage.revokesKeys).toBe(false);
  });
});
