// The latest metrics each Rack exported over OTLP, in memory and bounded, for the REST API to show.

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

/** The aggregate of a histogram, exponential histogram or summary point. */
export interface AggregateValue {
  count: number;
  sum: number | null;
  min: number | null;
  max: number | null;
}

export interface MetricPoint {
  attributes: Record<string, AttributeValue>;
  /** A gauge or sum value (null when it was NaN or infinite), or the aggregate of a distribution. */
  value: number | null | AggregateValue;
}

export interface MetricSummary {
  name: string;
  unit: string;
  type: MetricType;
  points: MetricPoint[];
}

/** What one Rack last exported. */
export interface RackMetrics {
  /** Decimal entity id, from the resource attribute `service.instance.id`. */
  entity_id: string;
  /** From the resource attribute `fluxrig.rack.name`; null when absent or not a Rack name. */
  rack_name: string | null;
  /** From the entity id itself, so it cannot disagree with the id. */
  machine_id: number;
  received_at: string;
  /** True when metrics, points or attributes were dropped to stay within the store's limits. */
  truncated: boolean;
  metrics: MetricSummary[];
}

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
