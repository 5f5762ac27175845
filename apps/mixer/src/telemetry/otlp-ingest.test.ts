// OTLP JSON ingest: what a summary keeps, the limits it enforces, and that no input makes it throw.

import { jsonNestsDeeperThan } from "@fluxrig/wire/internal";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { RACK_100_ID, rackExport } from "../../test/support/otlp-fixtures.js";
import { ingestOtlpJson } from "./otlp-ingest.js";
import type { OtlpExportMetricsRequest } from "./otlp-json-schema.js";
import { RackMetricsStore } from "./rack-metrics-store.js";

const NOW = new Date("2025-06-01T12:00:00.000Z");

function ingest(request: unknown, store = new RackMetricsStore()) {
  return { result: ingestOtlpJson({ text: JSON.stringify(request), store, now: NOW }), store };
}

function withMetrics(metrics: unknown[]): OtlpExportMetricsRequest {
  const request = rackExport();
  (request.resourceMetrics![0]!.scopeMetrics![0]! as { metrics: unknown[] }).metrics = metrics;
  return request;
}

describe("ingestOtlpJson", () => {
  test("keys the summary by the canonical decimal id, also when the Rack sends hex", () => {
    const { result, store } = ingest(rackExport({ entityId: "0x0300640000000000" }));
    expect(result).toEqual({ ok: true, accepted: [RACK_100_ID], rejectedDataPoints: 0, errorMessage: "" });
    expect(store.get(RACK_100_ID)).toMatchObject({ machine_id: 100, rack_name: "rack-nyc-01" });
  });

  test.each([
    ["a Mixer id (type 2)", "144115192370823168"],
    ["a Rack id with a sequence", "216282733276561409"],
    ["MachineID 0", "216172782113783808"],
    ["a negative number", "-1"],
  ])("refuses %s as service.instance.id", (_what, id) => {
    const { result } = ingest(rackExport({ entityId: id }));
    expect(result).toMatchObject({
      ok: false,
      reason: "schema",
      message: expect.stringMatching(/not a Rack entity id/),
    });
  });

  test("a rack name that is not a DNS label is dropped, the metrics kept", () => {
    const { store } = ingest(rackExport({ name: "Rack NYC" }));
    expect(store.get(RACK_100_ID)?.rack_name).toBeNull();
  });

  test("non-finite doubles become null; ints sent as text or numbers become numbers", () => {
    const { store } = ingest(
      withMetrics([
        {
          name: "g",
          gauge: {
            dataPoints: [{ asDouble: "NaN" }, { asDouble: "-Infinity" }, { asInt: "7" }, { asInt: 8 }, {}],
          },
        },
        { name: "s", summary: { dataPoints: [{ sum: 2 }] } },
        { name: "e", exponentialHistogram: { dataPoints: [{ count: 4, sum: "Infinity" }] } },
      ]),
    );
    const [g, s, e] = store.get(RACK_100_ID)!.metrics;
    expect(g?.points.map((p) => p.value)).toEqual([null, null, 7, 8, null]);
    expect(s).toMatchObject({
      type: "summary",
      points: [{ value: { count: 0, sum: 2, min: null, max: null } }],
    });
    expect(e).toMatchObject({ type: "exponential_histogram", points: [{ value: { count: 4, sum: null } }] });
  });

  test("attribute values of every kind are summarised; __proto__ is just a key", () => {
    const attributes = [
      { key: "s", value: { stringValue: "x" } },
      { key: "b", value: { boolValue: true } },
      { key: "i", value: { intValue: "12" } },
      { key: "d", value: { doubleValue: 1.5 } },
      { key: "bytes", value: { bytesValue: "AAE=" } },
      { key: "arr", value: { arrayValue: { values: [{ stringValue: "a" }, { intValue: 1 }] } } },
      { key: "kv", value: { kvlistValue: { values: [{ key: "k", value: { boolValue: false } }] } } },
      { key: "empty" },
      { key: "__proto__", value: { stringValue: "p" } },
    ];
    const { store } = ingest(withMetrics([{ name: "m", gauge: { dataPoints: [{ attributes, asInt: 1 }] } }]));
    const point = store.get(RACK_100_ID)!.metrics[0]!.points[0]!;
    expect(point.attributes).toEqual({
      s: "x",
      b: true,
      i: 12,
      d: 1.5,
      bytes: "AAE=",
      arr: ["a", 1],
      kv: { k: false },
      empty: null,
      ["__proto__"]: "p",
    });
    expect(Object.getPrototypeOf(point.attributes)).toBe(Object.prototype);
  });

  test("metrics, points and attributes past the limits are dropped and the summary says so", () => {
    const store = new RackMetricsStore({
      maxMetricsPerRack: 2,
      maxPointsPerMetric: 1,
      maxAttributesPerPoint: 1,
    });
    const attributes = [
      { key: "a", value: { stringValue: "y".repeat(1000) } },
      { key: "b", value: { stringValue: "z" } },
    ];
    const metrics = ["m1", "m2", "m3"].map((name) => ({
      name,
      gauge: { dataPoints: [{ attributes, asInt: 1 }, { asInt: 2 }] },
    }));
    ingest(withMetrics(metrics), store);
    const summary = store.get(RACK_100_ID)!;
    expect(summary.truncated).toBe(true);
    expect(summary.metrics.map((m) => m.name)).toEqual(["m1", "m2"]);
    expect(summary.metrics[0]!.points).toHaveLength(1);
    expect(summary.metrics[0]!.points[0]!.attributes).toEqual({ a: "y".repeat(256) });
  });

  test("a data kind this Mixer does not know is skipped, the rest kept", () => {
    const { store } = ingest(
      withMetrics([
        { name: "future", hologram: {} },
        { name: "now", gauge: { dataPoints: [] } },
      ]),
    );
    expect(store.get(RACK_100_ID)!.metrics.map((m) => m.name)).toEqual(["now"]);
  });

  test("two resources of one Rack in one export are kept together", () => {
    const request = rackExport();
    request.resourceMetrics!.push(rackExport().resourceMetrics![0]!);
    const { store } = ingest(request);
    expect(store.get(RACK_100_ID)!.metrics).toHaveLength(6);
  });

  test("an empty export is accepted and stores nothing", () => {
    expect(ingest({}).result).toMatchObject({ ok: true, accepted: [] });
    expect(ingest({ resourceMetrics: [] }).result).toMatchObject({ ok: true, accepted: [] });
  });

  test("never throws, whatever the text or the JSON", () => {
    const store = new RackMetricsStore();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ resourceMetrics: [v] })),
        ),
        (text) => {
          const result = ingestOtlpJson({ text, store, now: NOW });
          expect(typeof result.ok).toBe("boolean");
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("jsonNestsDeeperThan", () => {
  test("counts brackets outside strings only", () => {
    expect(jsonNestsDeeperThan('[[["[[[[["]]]', 3)).toBe(false);
    expect(jsonNestsDeeperThan("[[[[]]]]", 3)).toBe(true);
    expect(jsonNestsDeeperThan('{"a\\"[[[[": [1]}', 2)).toBe(false);
  });
});
