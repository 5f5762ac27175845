// OTLP JSON exports shaped like @opentelemetry/exporter-metrics-otlp-http sends them, for the tests.
import type { OtlpExportMetricsRequest } from "../../src/telemetry/otlp-json-schema.js";

/** The node entity id of Rack MachineID 100: 0x0300640000000000. */
export const RACK_100_ID = "216282733276561408";

/** A Rack's export: a counter, a gauge with two points and a histogram, under its identity. */
export function rackExport(opts: { entityId?: string; name?: string } = {}): OtlpExportMetricsRequest {
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: [
            { key: "service.name", value: { stringValue: "fluxrig-rack" } },
            { key: "service.instance.id", value: { stringValue: opts.entityId ?? RACK_100_ID } },
            { key: "fluxrig.rack.name", value: { stringValue: opts.name ?? "rack-nyc-01" } },
            { key: "fluxrig.machine_id", value: { intValue: 100 } },
          ],
          droppedAttributesCount: 0,
        },
        scopeMetrics: [
          {
            scope: { name: "fluxrig-rack", version: "0.1.0" },
            metrics: [
              {
                name: "fluxrig.rack.heartbeats.sent",
                description: "Heartbeats published",
                unit: "",
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: [{ attributes: [], startTimeUnixNano: "1", timeUnixNano: "2", asInt: "42" }],
                },
              },
              {
                name: "fluxrig.rack.process.memory",
                unit: "By",
                gauge: {
                  dataPoints: [
                    {
                      attributes: [{ key: "process.memory.type", value: { stringValue: "rss" } }],
                      asDouble: 5.5e7,
                    },
                    {
                      attributes: [{ key: "process.memory.type", value: { stringValue: "heap_used" } }],
                      asInt: 123,
                    },
                  ],
                },
              },
              {
                name: "fluxrig.rack.gear.latency",
                unit: "ms",
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      attributes: [{ key: "fluxrig.gear.name", value: { stringValue: "tick" } }],
                      count: "3",
                      sum: 12.5,
                      min: 1,
                      max: 9,
                      bucketCounts: ["1", "2"],
                      explicitBounds: [5],
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  };
}
