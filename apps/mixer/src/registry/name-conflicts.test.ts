// Name conflicts: attempts are counted per key, and a flood of fresh keys at one name keeps only the recent ones.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestRegistry, type TestRegistry } from "../../test/support/registry-test-harness.js";
import {
  clearNameConflicts,
  listNameConflicts,
  MAX_CONFLICTS_PER_NAME,
  recordNameConflict,
} from "./name-conflicts.js";

let t: TestRegistry;
beforeEach(async () => {
  t = await openTestRegistry();
});
afterEach(async () => {
  await t.cleanup();
});

const at = (second: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, second));

describe("recordNameConflict", () => {
  it("counts repeated attempts of one key and keeps its first time", async () => {
    const input = { name: "rack-a", claimedPublicKey: "k1", holderEntityId: 1n, source: "s" };
    await recordNameConflict(t.db, { ...input, now: at(1) });
    const again = await recordNameConflict(t.db, { ...input, source: "s2", now: at(2) });
    expect(again).toMatchObject({ attempts: 2, firstAt: at(1), lastAt: at(2), lastSource: "s2" });
  });

  it("keeps what the latest attempt reported (attributes, version): the evidence racks replace records", async () => {
    const input = { name: "rack-a", claimedPublicKey: "k1", holderEntityId: 1n, source: "s" };
    await recordNameConflict(t.db, { ...input, attributes: { hostname: "old" }, version: "1", now: at(1) });
    const attributes = { hostname: "edge-1", os: "linux", arch: "arm64", mac: ["02:00:00:00:00:01"] };
    await recordNameConflict(t.db, { ...input, attributes, version: "2", now: at(2) });
    const [stored] = await listNameConflicts(t.db, "rack-a");
    expect(stored).toMatchObject({ lastAttributes: attributes, lastVersion: "2" });
  });

  it("lists attempts newest first, per name when asked, and clears a name's attempts", async () => {
    const pair = { name: "rack-001", claimedPublicKey: "intruder", holderEntityId: 5n };
    await recordNameConflict(t.db, { ...pair, source: "10.0.0.1", now: at(1) });
    const again = await recordNameConflict(t.db, { ...pair, source: "10.0.0.2", now: at(30) });
    expect(again).toEqual({
      ...pair,
      lastSource: "10.0.0.2",
      firstAt: at(1),
      lastAt: at(30),
      attempts: 2,
      lastAttributes: null,
      lastVersion: null,
    });
    await recordNameConflict(t.db, {
      ...pair,
      name: "rack-002",
      claimedPublicKey: "other",
      source: null,
      now: at(31),
    });
    expect((await listNameConflicts(t.db)).map((c) => [c.name, c.attempts])).toEqual([
      ["rack-002", 1],
      ["rack-001", 2],
    ]);
    expect((await listNameConflicts(t.db, "rack-001")).map((c) => c.claimedPublicKey)).toEqual(["intruder"]);
    expect(await clearNameConflicts(t.db, "rack-001")).toBe(1);
    expect(await listNameConflicts(t.db, "rack-001")).toEqual([]);
  });

  it(`keeps at most ${MAX_CONFLICTS_PER_NAME} keys per name, the most recent, and never drops the newest`, async () => {
    for (let i = 0; i < MAX_CONFLICTS_PER_NAME + 8; i++) {
      await recordNameConflict(t.db, {
        name: "rack-a",
        claimedPublicKey: `key-${String(i).padStart(3, "0")}`,
        holderEntityId: 1n,
        source: null,
        // Several keys share a timestamp: the newest must survive a tie.
        now: at(Math.floor(i / 4)),
      });
    }
    await recordNameConflict(t.db, {
      name: "rack-b",
      claimedPublicKey: "x",
      holderEntityId: 2n,
      source: null,
      now: at(0),
    });
    const kept = await listNameConflicts(t.db, "rack-a");
    expect(kept).toHaveLength(MAX_CONFLICTS_PER_NAME);
    const keys = kept.map((c) => c.claimedPublicKey);
    expect(keys).toContain(`key-${String(MAX_CONFLICTS_PER_NAME + 7).padStart(3, "0")}`);
    expect(keys).not.toContain("key-000");
    // Other names are untouched.
    expect(await listNameConflicts(t.db, "rack-b")).toHaveLength(1);
  }, 60_000);
});
