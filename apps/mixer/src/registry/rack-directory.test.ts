// The directory's Rack list against the SQL listing it replaces: same order, filters, cursor and next page.
import { EntityType } from "@fluxrig/entity-id";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rackRecordFixture } from "../../test/support/rack-record-fixture.js";
import { countRacksByStatus, listRacks } from "../../test/support/registry-oracle.js";
import {
  insertPlan,
  openTestRegistry,
  openTestWriter,
  STATUS_PATHS,
  type TestRegistry,
} from "../../test/support/registry-test-harness.js";
import { RackDirectory, type RackSlot } from "./rack-directory.js";
import type { ListRacksQuery } from "./rack-queries.js";
import type { RackStatus } from "./rack-status.js";
import { InvalidInputError } from "./registry-errors.js";
import type { RackRecord } from "./registry-records.js";
import { planNodeRow, planSetStatus } from "./write-plans.js";

const by = { cause: "operator", actor: "alice" };
/** Names in a scrambled insertion order, with shared prefixes, digits and dashes. */
const NAMES = [
  "rack-b-2",
  "rack-a",
  "edge-10",
  "rack-b-10",
  "edge-1",
  "rack-b",
  "0rack",
  "edge-2",
  "rack-a-1",
  "rack-b-1",
  "z",
  "rack-c",
];
/** Status by position in NAMES (a few of each). */
const STATUS_CYCLE: RackStatus[] = ["pending", "active", "pending", "offline", "rejected", "revoked"];

let t: TestRegistry;
let directory: RackDirectory;

beforeAll(async () => {
  t = await openTestRegistry();
  const { writer } = await openTestWriter(t.db);
  const now = t.clock.now();
  for (const [i, name] of NAMES.entries()) {
    const rack = await writer.submit(insertPlan(i + 1, now, { name }));
    for (const step of STATUS_PATHS[STATUS_CYCLE[i % STATUS_CYCLE.length]!]) {
      await writer.submit((stage) => planSetStatus(stage, rack.entityId, step, { ...by, now }));
    }
  }
  // A node row holds a name but is not a Rack: listed by neither.
  await writer.submit((stage) =>
    planNodeRow(stage, {
      typeId: EntityType.Mixer,
      machineId: 100,
      name: "rack-m",
      version: "1",
      attributes: {},
      now,
    }),
  );
  await writer.close();
  directory = await RackDirectory.load(t.db);
});

afterAll(async () => {
  await t.cleanup();
});

function queries(): ListRacksQuery[] {
  const out: ListRacksQuery[] = [];
  const statuses: Array<RackStatus | undefined> = [
    undefined,
    "pending",
    "active",
    "offline",
    "rejected",
    "revoked",
  ];
  const prefixes: Array<string | undefined> = [undefined, "", "rack-b", "rack-b-1", "edge", "x"];
  const afters: Array<string | undefined> = [undefined, "edge-1", "edge-11", "rack-b", "zz"];
  for (const status of statuses) {
    for (const namePrefix of prefixes) {
      for (const after of afters) {
        for (const limit of [1, 100]) {
          out.push({
            limit,
            ...(status === undefined ? {} : { status }),
            ...(namePrefix === undefined ? {} : { namePrefix }),
            ...(after === undefined ? {} : { after }),
          });
        }
      }
    }
  }
  return out;
}

describe("RackDirectory.page", () => {
  it("answers every query exactly as the SQL listing does", async () => {
    for (const query of queries()) {
      const expected = await listRacks(t.db, query);
      const got = directory.page(query);
      expect({ query, names: got.racks.map((r) => r.name), next: got.nextAfter }).toEqual({
        query,
        names: expected.racks.map((r) => r.name),
        next: expected.nextAfter,
      });
      expect(got.racks).toEqual(expected.racks);
    }
  });

  it("counts Racks by status exactly as the SQL count does", async () => {
    expect(directory.counts()).toEqual(await countRacksByStatus(t.db));
  });

  it("pages through every Rack with the cursor, in name order", () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = directory.page({ limit: 5, ...(after === undefined ? {} : { after }) });
      seen.push(...page.racks.map((r) => r.name));
      if (page.nextAfter === null) break;
      after = page.nextAfter;
    }
    expect(seen).toEqual([...NAMES].sort());
    expect([...directory.racksByName()].map((r) => r.name)).toEqual(seen);
  });

  it("refuses a limit outside 1..10000", () => {
    expect(() => directory.page({ limit: 0 })).toThrow(InvalidInputError);
    expect(() => directory.page({ limit: 10_001 })).toThrow(InvalidInputError);
    expect(() => directory.page({ limit: 1.5 })).toThrow(InvalidInputError);
  });
});

describe("the sorted names follow every change", () => {
  function record(n: number, name: string, status: RackStatus = "pending"): RackRecord {
    const at = new Date("2030-01-01T00:00:00.000Z");
    return rackRecordFixture({
      entityId: BigInt(n),
      machineId: n,
      name,
      status,
      version: "1.0.0",
      at,
      lastSeenMs: at.getTime(),
    });
  }
  const names = (d: RackDirectory) => d.page({ limit: 100 }).racks.map((r) => `${r.name}:${r.status}`);

  it("on puts, status changes, renames, removals and hello facts", () => {
    const d = new RackDirectory();
    d.put(record(1, "b"));
    d.put(record(2, "a"));
    d.put(record(3, "c"));
    expect(names(d)).toEqual(["a:pending", "b:pending", "c:pending"]);
    d.put(record(1, "b", "active"));
    expect(names(d)).toEqual(["a:pending", "b:active", "c:pending"]);
    expect(d.page({ limit: 100, status: "active" }).racks.map((r) => r.name)).toEqual(["b"]);
    d.put(record(1, "d", "active"));
    expect(names(d)).toEqual(["a:pending", "c:pending", "d:active"]);
    expect(d.rackByName("b")).toBeUndefined();
    d.remove(2n);
    expect(names(d)).toEqual(["c:pending", "d:active"]);
    const noted = d.noteHello(3n, { version: "2.0.0", source: "10.0.0.7" });
    expect(d.page({ limit: 1 }).racks[0]).toBe(noted);
    expect(noted?.lifecycle.helloCount).toBe(2);
    expect(d.counts()).toEqual({ pending: 1, active: 1, offline: 0, rejected: 0, revoked: 0 });
    expect(d.count("pending")).toBe(1);
    d.put(record(3, "c", "revoked"));
    d.remove(99n);
    expect(d.counts()).toEqual({ pending: 0, active: 1, offline: 0, rejected: 0, revoked: 1 });
    expect(d.count("pending")).toBe(0);
  });

  it("keeps hello facts noted while a batch committed, and the same slot for as long as the Rack is in it", () => {
    const d = new RackDirectory();
    const seen: string[] = [];
    const slots: RackSlot[] = [];
    d.put(record(1, "a"));
    d.follow({
      added: (slot) => {
        slots.push(slot);
        seen.push(`added:${slot.record.name}`);
      },
      removed: (slot) => seen.push(`removed:${slot.record.name}`),
    });
    const slot = slots[0]!;
    d.noteHello(1n, { version: "2.0.0", source: "10.0.0.7" });
    // The batch was planned on the record before that hello: its commit keeps the hello's facts.
    const kept = d.put(record(1, "a", "active"));
    expect(kept).toMatchObject({
      status: "active",
      version: "2.0.0",
      lifecycle: { helloCount: 2, lastSource: "10.0.0.7" },
    });
    expect(slot.record).toBe(kept);
    expect(d.rack(1n)).toBe(kept);
    // Another key under the same entity id (a replace) is a new Rack: nothing of the old one's hellos is kept.
    d.remove(1n);
    const replaced = d.put({
      ...record(1, "a"),
      lifecycle: { ...record(1, "a").lifecycle, publicKey: "other" },
    });
    expect(replaced.lifecycle.helloCount).toBe(1);
    expect(seen).toEqual(["added:a", "removed:a", "added:a"]);
    expect(() => d.follow({ added: () => undefined, removed: () => undefined })).toThrow();
  });

  it("when a new Rack takes a name before the old holder is forgotten", () => {
    const d = new RackDirectory();
    d.put(record(1, "a"));
    d.put(record(2, "a"));
    expect(d.page({ limit: 100 }).racks.map((r) => r.entityId)).toEqual([2n]);
    // Both rows exist until the old one's removal commits, and both are counted, as the registry would.
    expect(d.counts().pending).toBe(2);
    d.remove(1n);
    expect(d.page({ limit: 100 }).racks.map((r) => r.entityId)).toEqual([2n]);
    d.remove(2n);
    expect(d.page({ limit: 100 }).racks).toEqual([]);
    expect(d.size).toBe(0);
  });
});
