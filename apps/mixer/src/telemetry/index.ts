// Public surface of the telemetry module: the OTLP JSON ingest and the bounded per-Rack metrics store.
export { ingestOtlpJson, OTLP_MAX_JSON_DEPTH, type OtlpIngestResult } from "./otlp-ingest.js";
export { RESOURCE_ATTRIBUTES } from "./otlp-metrics-summary.js";
export {
  type AggregateValue,
  type AttributeValue,
  DEFAULT_RACK_METRICS_LIMITS,
  METRIC_TYPES,
  type MetricPoint,
  type MetricSummary,
  type MetricType,
  type RackMetrics,
  type RackMetricsLimits,
  RackMetricsStore,
} from "./rack-metrics-store.js";
