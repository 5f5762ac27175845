// The latest metrics each Rack exported over OTLP, in memory and bounded, for the REST API to show.

import { EntityIdStringSchema } from "@fluxrig/wire";
import { z } from "zod";

export const METRIC_TYPES = ["gauge", "sum", "histogram", "exponential_histogram", "summary"] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

/** An attribute value as received: scalars, or arrays and maps of them. Non-finite doubles become null. */
export type AttributeValue =
  | string
  | number
  | boolean
  | null
  | AttributeValue[]
  | { [key: string]: AttributeValue };

// Documented, not checked: the summary that builds these values already bounded them.
const AttributeValueSchema = z
  .unknown()
  .describe("A scalar, or an array or map of them") as unknown as z.ZodType<AttributeValue>;

/** The aggregate of a histogram, exponential histogram or summary point. */
const AggregateValueSchema = z.object({
  count: z.number(),
  sum: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
});
export type AggregateValue = z.infer<typeof AggregateValueSchema>;

/** What one Rack last exported, as the REST API shows it (`GET /api/v1/racks/{ref}/metrics`). */
export const RackMetricsSchema = z
  .object({
    /** Decimal entity id, from the resource attribute `service.instance.id`. */
    entity_id: EntityIdStringSchema,
    /** From the resource attribute `fluxrig.rack.name`; null when absent or not a Rack name. */
    rack_name: z.string().nullable(),
    /** From the entity id itself, so it cannot disagree with the id. */
    machine_id: z.number().int(),
    received_at: z.string().describe("ISO 8601 date-time"),
    /** True when metrics, points or attributes were dropped to stay within the store's limits. */
    truncated: z.boolean(),
    metrics: z.array(
      z.object({
        name: z.string(),
        unit: z.string(),
        type: z.enum(METRIC_TYPES),
        points: z.array(
          z.object({
            attributes: z.record(z.string(), AttributeValueSchema),
            /** A gauge or sum value (null when it was NaN or infinite), or the aggregate of a distribution. */
            value: z.union([z.number(), z.null(), AggregateValueSchema]),
          }),
        ),
      }),
    ),
  })
  .meta({ id: "RackMetrics" });
export type RackMetrics = z.infer<typeof RackMetricsSchema>;
export type MetricSummary = RackMetrics["metrics"][number];
export type MetricPoint = MetricSummary["points"][number];

/** Limits that keep one noisy or hostile exporter from growing the Mixer's memory without bound. */
export interface RackMetricsLimits {
  /** Racks kept; the one heard from longest ago is dropped first. */
  maxRacks: number;
  maxMetricsPerRack: number;
  maxPointsPerMetric: number;
  maxAttributesPerPoint: number;
  /** Longest string kept in an attribute value; longer ones are cut. */
  maxValueChars: number;
}

export const DEFAULT_RACK_METRICS_LIMITS: RackMetricsLimits = {
  maxRacks: 10_000,
  maxMetricsPerRack: 256,
  maxPointsPerMetric: 256,
  maxAttributesPerPoint: 32,
  maxValueChars: 256,
};

/**
 * Keeps the newest export per Rack, replacing the previous one whole: the OpenTelemetry SDK's periodic reader
 * sends every instrument in each export, so a metric missing from the newest export is gone from the Rack too.
 */
export class RackMetricsStore {
  readonly limits: RackMetricsLimits;
  // A Map iterates in insertion order; re-inserting on every put makes the first key the least recently heard.
  readonly #byEntityId = new Map<string, RackMetrics>();

  constructor(limits: Partial<RackMetricsLimits> = {}) {
    this.limits = { ...DEFAULT_RACK_METRICS_LIMITS, ...limits };
  }

  put(metrics: RackMetrics): void {
    this.#byEntityId.delete(metrics.entity_id);
    this.#byEntityId.set(metrics.entity_id, metrics);
    while (this.#byEntityId.size > this.limits.maxRacks) {
      const oldest = this.#byEntityId.keys().next();
      if (oldest.done === true) break;
      this.#byEntityId.delete(oldest.value);
    }
  }

  get(entityId: string): RackMetrics | undefined {
    return this.#byEntityId.get(entityId);
  }

  /** Every Rack's latest metrics, ordered by entity id (numerically) for stable output. */
  list(): RackMetrics[] {
    return [...this.#byEntityId.values()].sort((a, b) => compareDecimal(a.entity_id, b.entity_id));
  }

  delete(entityId: string): boolean {
    return this.#byEntityId.delete(entityId);
  }

  get size(): number {
    return this.#byEntityId.size;
  }
}

/** Orders canonical decimal strings as numbers without BigInt: shorter is smaller, equal lengths compare as text. */
function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
