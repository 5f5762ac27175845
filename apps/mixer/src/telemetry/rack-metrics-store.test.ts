// The metrics store: newest export per Rack, bounded by Rack count with the longest-silent Rack dropped first.
import { describe, expect, test } from "vitest";
import { type RackMetrics, RackMetricsStore } from "./rack-metrics-store.js";

function rack(entityId: string, at = "2025-01-01T00:00:00.000Z"): RackMetrics {
  return {
    entity_id: entityId,
    rack_name: null,
    machine_id: 1,
    received_at: at,
    truncated: false,
    metrics: [],
  };
}

describe("RackMetricsStore", () => {
  test("keeps the newest export per Rack", () => {
    const store = new RackMetricsStore();
    store.put(rack("5", "a"));
    store.put(rack("5", "b"));
    expect(store.size).toBe(1);
    expect(store.get("5")?.received_at).toBe("b");
  });

  test("lists in numeric entity id order, not text order", () => {
    const store = new RackMetricsStore();
    for (const id of ["100", "9", "20", "216282733276561408"]) store.put(rack(id));
    expect(store.list().map((r) => r.entity_id)).toEqual(["9", "20", "100", "216282733276561408"]);
  });

  test("past maxRacks, drops the Rack heard from longest ago", () => {
    const store = new RackMetricsStore({ maxRacks: 2 });
    store.put(rack("1"));
    store.put(rack("2"));
    store.put(rack("1"));
    store.put(rack("3"));
    expect(store.list().map((r) => r.entity_id)).toEqual(["1", "3"]);
  });

  test("delete forgets a Rack", () => {
    const store = new RackMetricsStore();
    store.put(rack("1"));
    expect(store.delete("1")).toBe(true);
    expect(store.get("1")).toBeUndefined();
  });
});
