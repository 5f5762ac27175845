// Scenarios: import and re-import, at most one active, activation audited; name conflicts counted per key.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotFoundError } from "./registry-errors.js";
import { auditCount, openTestRegistry, type TestRegistry } from "./registry-test-harness.js";

let t: TestRegistry;

beforeEach(async () => {
  t = await openTestRegistry();
});

afterEach(async () => {
  await t.cleanup();
});

function scenario(name: string, version = "1") {
  return {
    name,
    version,
    yaml: `meta: {name: ${name}, version: "${version}"}`,
    spec: { meta: { name, version } },
  };
}

function save(name: string, version = "1") {
  return t.store.saveScenario({ ...scenario(name, version), actor: "alice" });
}

describe("scenarios", () => {
  it("saves, lists and re-imports without losing the active flag", async () => {
    const saved = await save("beta");
    expect(saved).toEqual({
      ...scenario("beta"),
      importedAt: t.clock.now(),
      activatedAt: null,
      active: false,
    });
    await save("alpha");
    await t.store.activateScenario("beta", { actor: "alice" });
    const reimportedAt = t.clock.advance(1_000);
    const again = await save("beta", "2");
    expect(again).toMatchObject({ version: "2", active: true, importedAt: reimportedAt });
    expect((await t.store.listScenarios()).map((s) => [s.name, s.version, s.active])).toEqual([
      ["alpha", "1", false],
      ["beta", "2", true],
    ]);
    expect(await t.store.getScenario("alpha")).toMatchObject({
      spec: { meta: { name: "alpha", version: "1" } },
    });
    expect(await t.store.getScenario("nope")).toBeUndefined();
  });

  it("keeps at most one scenario active and audits each activation", async () => {
    await save("a");
    await save("b");
    expect(await t.store.getActiveScenario()).toBeUndefined();
    const events = await auditCount(t.db);
    await t.store.activateScenario("a", { actor: "alice" });
    const when = t.clock.advance(1_000);
    const b = await t.store.activateScenario("b", { actor: "alice", cause: "cli" });
    expect(b).toMatchObject({ name: "b", active: true, activatedAt: when });
    expect(await t.store.getActiveScenario()).toEqual(b);
    const active = await t.db.query("SELECT name FROM scenarios WHERE active");
    expect(active.rows).toEqual([["b"]]);
    expect(await auditCount(t.db)).toBe(events + 2);
    const [last] = (await t.store.listAudit({ limit: 100 })).slice(-1);
    expect(last).toMatchObject({ kind: "scenario_activated", name: "b", details: { previous: "a" } });
  });

  it("answers an unknown scenario with NotFoundError and keeps the active one", async () => {
    await save("a");
    await t.store.activateScenario("a", { actor: "alice" });
    await expect(t.store.activateScenario("zzz", { actor: "alice" })).rejects.toBeInstanceOf(NotFoundError);
    expect((await t.store.getActiveScenario())?.name).toBe("a");
  });
});

describe("name conflicts", () => {
  it("counts attempts per (name, key), keeps first_at and follows last_at and source", async () => {
    const first = t.clock.now();
    const pair = { name: "rack-001", claimedPublicKey: "intruder", holderEntityId: 5n };
    const one = { ...pair, source: "10.0.0.1" };
    expect(await t.store.recordNameConflict(one)).toMatchObject({
      attempts: 1,
      firstAt: first,
      lastAt: first,
    });
    const later = t.clock.advance(30_000);
    const again = await t.store.recordNameConflict({ ...pair, source: "10.0.0.2" });
    expect(again).toEqual({ ...pair, lastSource: "10.0.0.2", firstAt: first, lastAt: later, attempts: 2 });
    t.clock.advance(1_000);
    await t.store.recordNameConflict({ ...one, name: "rack-002", claimedPublicKey: "other" });
    expect((await t.store.listConflicts()).map((c) => [c.name, c.attempts])).toEqual([
      ["rack-002", 1],
      ["rack-001", 2],
    ]);
    expect((await t.store.listConflicts("rack-001")).map((c) => c.claimedPublicKey)).toEqual(["intruder"]);
    expect(await t.store.clearConflicts("rack-001")).toBe(1);
    expect(await t.store.listConflicts("rack-001")).toEqual([]);
  });
});
