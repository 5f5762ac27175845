// Turns one OTLP resource's metrics into the compact per-Rack summary the API serves, within the store's limits.
import { decodeEntityId, EntityType, formatEntityId, tryParseEntityId } from "@fluxrig/entity-id";
import { isValidRackName } from "@fluxrig/wire";
import type {
  OtlpAggregatePoint,
  OtlpAnyValue,
  OtlpKeyValue,
  OtlpMetric,
  OtlpNumberDataPoint,
  OtlpResourceMetrics,
} from "./otlp-json-schema.js";
import type {
  AggregateValue,
  AttributeValue,
  MetricPoint,
  MetricSummary,
  MetricType,
  RackMetrics,
  RackMetricsLimits,
} from "./rack-metrics-store.js";

/** The resource attributes that say which Rack exported (set by the Rack's telemetry). */
export const RESOURCE_ATTRIBUTES = {
  instanceId: "service.instance.id",
  rackName: "fluxrig.rack.name",
} as const;

/** An int64 or double as JSON gives it (number or text, "NaN" included); null when absent or not finite. */
function toNumber(value: string | number | undefined): number | null {
  if (value === undefined) return null;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

/** A bounded copy of an attribute value; nesting is already bounded by the JSON depth check. */
function attributeValue(value: OtlpAnyValue | undefined, limits: RackMetricsLimits): AttributeValue {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue.slice(0, limits.maxValueChars);
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return toNumber(value.intValue);
  if (value.doubleValue !== undefined) return toNumber(value.doubleValue);
  if (value.bytesValue !== undefined) return value.bytesValue.slice(0, limits.maxValueChars);
  if (value.arrayValue !== undefined) {
    return (value.arrayValue.values ?? [])
      .slice(0, limits.maxAttributesPerPoint)
      .map((v) => attributeValue(v, limits));
  }
  if (value.kvlistValue !== undefined) return attributeMap(value.kvlistValue.values, limits).attributes;
  return null;
}

function attributeMap(
  kvs: OtlpKeyValue[] | undefined,
  limits: RackMetricsLimits,
): { attributes: Record<string, AttributeValue>; truncated: boolean } {
  const list = kvs ?? [];
  // A null-prototype object: a key such as "__proto__" is then just a key.
  const attributes: Record<string, AttributeValue> = Object.create(null);
  for (const kv of list.slice(0, limits.maxAttributesPerPoint)) {
    attributes[kv.key] = attributeValue(kv.value, limits);
  }
  // Spread back into a plain object for serializers; spreading defines "__proto__" as an own key, never a prototype.
  return { attributes: { ...attributes }, truncated: list.length > limits.maxAttributesPerPoint };
}

function stringAttribute(kvs: OtlpKeyValue[] | undefined, key: string): string | undefined {
  return kvs?.find((kv) => kv.key === key)?.value?.stringValue;
}

function aggregateValue(point: OtlpAggregatePoint): AggregateValue {
  return {
    // count is a proto3 scalar: omitted from the JSON when it is zero.
    count: toNumber(point.count) ?? 0,
    sum: toNumber(point.sum),
    min: toNumber(point.min),
    max: toNumber(point.max),
  };
}

function numberValue(point: OtlpNumberDataPoint): number | null {
  return point.asDouble !== undefined ? toNumber(point.asDouble) : toNumber(point.asInt);
}

function summarisePoints<P extends { attributes?: OtlpKeyValue[] | undefined }>(
  list: P[] | undefined,
  value: (point: P) => MetricPoint["value"],
  limits: RackMetricsLimits,
): { points: MetricPoint[]; truncated: boolean } {
  const all = list ?? [];
  let truncated = all.length > limits.maxPointsPerMetric;
  const points = all.slice(0, limits.maxPointsPerMetric).map((point) => {
    const attrs = attributeMap(point.attributes, limits);
    truncated ||= attrs.truncated;
    return { attributes: attrs.attributes, value: value(point) };
  });
  return { points, truncated };
}

function summariseMetric(
  metric: OtlpMetric,
  limits: RackMetricsLimits,
): { summary: MetricSummary; truncated: boolean } | undefined {
  let type: MetricType;
  let result: { points: MetricPoint[]; truncated: boolean };
  // OTLP allows exactly one data kind per metric; the first one present wins.
  if (metric.gauge !== undefined || metric.sum !== undefined) {
    type = metric.gauge !== undefined ? "gauge" : "sum";
    result = summarisePoints((metric.gauge ?? metric.sum)?.dataPoints, numberValue, limits);
  } else if (metric.histogram !== undefined) {
    type = "histogram";
    result = summarisePoints(metric.histogram.dataPoints, aggregateValue, limits);
  } else if (metric.exponentialHistogram !== undefined) {
    type = "exponential_histogram";
    result = summarisePoints(metric.exponentialHistogram.dataPoints, aggregateValue, limits);
  } else if (metric.summary !== undefined) {
    type = "summary";
    result = summarisePoints(metric.summary.dataPoints, aggregateValue, limits);
  } else {
    // A data kind newer than this Mixer: skipped rather than refused, the rest of the export is still good.
    return undefined;
  }
  const summary: MetricSummary = { name: metric.name, unit: metric.unit ?? "", type, points: result.points };
  return { summary, truncated: result.truncated };
}

/** Data points in a resource, for OTLP's `rejectedDataPoints` when the resource is refused. */
export function countDataPoints(resource: OtlpResourceMetrics): number {
  let n = 0;
  for (const scope of resource.scopeMetrics ?? []) {
    for (const metric of scope.metrics ?? []) {
      const data =
        metric.gauge ?? metric.sum ?? metric.histogram ?? metric.exponentialHistogram ?? metric.summary;
      n += data?.dataPoints?.length ?? 0;
    }
  }
  return n;
}

export type ResourceSummaryResult = { ok: true; rack: RackMetrics } | { ok: false; reason: string };

/**
 * Summarises one resource, or says why it cannot be attributed to a Rack.
 *
 * @example
 * const r = summariseResource(resourceMetrics, { limits: store.limits, receivedAt: new Date() });
 */
export function summariseResource(
  resource: OtlpResourceMetrics,
  opts: { limits: RackMetricsLimits; receivedAt: Date },
): ResourceSummaryResult {
  const attrs = resource.resource?.attributes;
  const instanceId = stringAttribute(attrs, RESOURCE_ATTRIBUTES.instanceId);
  if (instanceId === undefined) {
    return { ok: false, reason: `resource has no string attribute ${RESOURCE_ATTRIBUTES.instanceId}` };
  }
  const id = tryParseEntityId(instanceId, { types: [EntityType.Rack], node: true });
  if (id === undefined) {
    return {
      ok: false,
      reason: `${RESOURCE_ATTRIBUTES.instanceId} ${JSON.stringify(instanceId.slice(0, 40))} is not a Rack entity id`,
    };
  }
  const name = stringAttribute(attrs, RESOURCE_ATTRIBUTES.rackName);
  const { limits } = opts;
  let truncated = false;
  const metrics: MetricSummary[] = [];
  for (const scope of resource.scopeMetrics ?? []) {
    for (const metric of scope.metrics ?? []) {
      if (metrics.length >= limits.maxMetricsPerRack) {
        truncated = true;
        break;
      }
      const summary = summariseMetric(metric, limits);
      if (summary === undefined) continue;
      truncated ||= summary.truncated;
      metrics.push(summary.summary);
    }
  }
  return {
    ok: true,
    rack: {
      entity_id: formatEntityId(id),
      rack_name: name !== undefined && isValidRackName(name) ? name : null,
      machine_id: decodeEntityId(id).machineId,
      received_at: opts.receivedAt.toISOString(),
      truncated,
      metrics,
    },
  };
}
