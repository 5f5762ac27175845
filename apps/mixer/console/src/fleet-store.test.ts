// The fleet page's rows: kept sorted through pages, live inserts and removals; filtered by status and search.
import { describe, expect, test } from "vitest";
import { type FleetRow, FleetStore, matches } from "./fleet-store.js";

const row = (
  name: string,
  status = "active",
  id = "216176080648667136",
  hex = "0x0300030000000000",
): FleetRow => ({
  name,
  entity_id: id,
  entity_id_hex: hex,
  status,
  last_seen: null,
  version: "0.1.0",
  host: "h",
  gears: "no gears",
  gearsBad: false,
});

describe("FleetStore", () => {
  test("pages append; a late enrollment is inserted in name order; a status changes in place", () => {
    const store = new FleetStore();
    store.add([row("rack-a"), row("rack-c")]);
    store.add([row("rack-e")]);
    store.upsert(row("rack-b", "pending"));
    store.upsert(row("rack-0"));
    expect(store.rows.map((r) => r.name)).toEqual(["rack-0", "rack-a", "rack-b", "rack-c", "rack-e"]);
    expect(store.setStatus("rack-b", "active")).toBe(true);
    expect(store.rows[2]?.status).toBe("active");
    expect(store.setStatus("rack-x", "active")).toBe(false);
    store.upsert(row("rack-c", "offline"));
    expect(store.rows.map((r) => r.status)).toEqual(["active", "active", "active", "offline", "active"]);
    expect(store.remove("rack-a")).toBe(true);
    expect(store.remove("rack-a")).toBe(false);
    expect(store.find("rack-c")).toBe(2);
  });

  test("10,000 rows filter fast enough to run on every keystroke", () => {
    const store = new FleetStore();
    store.add(
      Array.from({ length: 10_000 }, (_, i) =>
        row(`rack-${String(i).padStart(5, "0")}`, i % 10 === 0 ? "offline" : "active"),
      ),
    );
    expect(store.filter({ status: "offline", search: "" })).toHaveLength(1000);
    expect(store.filter({ status: "", search: "rack-0999" })).toHaveLength(10);
  });
});

describe("matches", () => {
  const r = row("rack-nyc-01", "pending");
  test.each([
    [{ status: "", search: "" }, true],
    [{ status: "pending", search: "" }, true],
    [{ status: "active", search: "" }, false],
    [{ status: "", search: "nyc" }, true],
    [{ status: "", search: " NYC " }, true],
    [{ status: "", search: "lon" }, false],
    [{ status: "", search: "2161760806" }, true],
    [{ status: "", search: "999" }, false],
    [{ status: "", search: "0x03000300" }, true],
    [{ status: "", search: "0x0400" }, false],
  ])("%o is %s", (filter, expected) => {
    expect(matches(r, filter)).toBe(expected);
  });
});
