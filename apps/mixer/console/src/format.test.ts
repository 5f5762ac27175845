// What people read: times, sizes, counts, gear health, event lines.
import { describe, expect, test } from "vitest";
import {
  absoluteTime,
  countRacks,
  describeEvent,
  formatBytes,
  gearSummary,
  gearsUnhealthy,
  nameList,
  namesRack,
  relativeTime,
} from "./format.js";

const NOW = Date.parse("2025-06-01T12:00:00.000Z");

describe("format", () => {
  test.each([
    ["2025-06-01T12:00:00.000Z", "0 s ago"],
    ["2025-06-01T11:59:55.000Z", "5 s ago"],
    ["2025-06-01T11:57:00.000Z", "3 min ago"],
    ["2025-06-01T10:00:00.000Z", "2 h ago"],
    ["2025-05-28T12:00:00.000Z", "4 d ago"],
    ["2025-06-01T15:00:00.000Z", "in 3 h"],
    [null, "never"],
    ["yesterday", "unknown"],
  ])("relativeTime(%s) is %s", (iso, text) => {
    expect(relativeTime(iso, NOW)).toBe(text);
  });

  test("absoluteTime is UTC to the second", () => {
    expect(absoluteTime("2025-06-01T12:00:01.234+02:00")).toBe("2025-06-01 10:00:01 UTC");
    expect(absoluteTime(null)).toBe("never");
  });

  test("formatBytes", () => {
    expect([0, 512, 1536, 55_000_000, 3 * 1024 ** 4].map(formatBytes)).toEqual([
      "0 B",
      "512 B",
      "1.5 KiB",
      "52.5 MiB",
      "3.0 TiB",
    ]);
  });

  test("countRacks says 10000 Racks in every locale", () => {
    expect([0, 1, 2, 10000].map(countRacks)).toEqual(["0 Racks", "1 Rack", "2 Racks", "10000 Racks"]);
  });

  test("gear health in words", () => {
    expect(gearSummary(null)).toBe("no gears");
    expect(gearSummary({ gears: { running: 3, failed: 0, restarts: 1 } })).toBe("3 running");
    expect(gearSummary({ gears: { running: 2, failed: 1, restarts: 4 } })).toBe("2 running, 1 failed");
    expect(gearsUnhealthy({ gears: { running: 2, failed: 1 } })).toBe(true);
    expect(gearsUnhealthy({ gears: { running: 2, failed: 0 } })).toBe(false);
  });

  test("nameList names a few and counts the rest", () => {
    expect(nameList([])).toBe("nothing");
    expect(nameList(["a"])).toBe("a");
    expect(nameList(["a", "b"])).toBe("a and b");
    expect(nameList(["a", "b", "c"])).toBe("a, b and c");
    expect(nameList(["a", "b", "c", "d", "e"])).toBe("a, b, c and 2 more");
  });

  test("describeEvent: a status change, or the kind in words", () => {
    const base = { cause: "operator", actor: "alice" };
    expect(
      describeEvent({ ...base, kind: "status_changed", from_status: "pending", to_status: "active" }),
    ).toBe("pending → active (operator, by alice)");
    expect(describeEvent({ ...base, kind: "passport_issued", from_status: null, to_status: null })).toBe(
      "passport issued (operator, by alice)",
    );
  });

  test("only a Rack's event names a Rack: a scenario, node or token event does not", () => {
    expect(namesRack({ kind: "status_changed", name: "rack-a" })).toBe(true);
    expect(namesRack({ kind: "enrollment_token_refused", name: "rack-a" })).toBe(true);
    expect(namesRack({ kind: "status_changed", name: null })).toBe(false);
    for (const kind of ["scenario_activated", "scenario_imported", "node_registered", "api_token_created"]) {
      expect(namesRack({ kind, name: "x" }), kind).toBe(false);
    }
  });
});
