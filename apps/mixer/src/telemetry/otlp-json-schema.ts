// The OTLP/HTTP JSON ExportMetricsServiceRequest, as far as the Mixer reads it: loose on fields it ignores.
import { z } from "zod";

// Objects are loose because OTLP grows new fields; only the fields read below are typed and checked.
// Keys are the lowerCamelCase of the OTLP protobuf-JSON mapping, as the OpenTelemetry exporters send them.

/** An int64/uint64 field: protobuf JSON sends it as a decimal string, some encoders as a number. */
export const OtlpInt64Schema = z.union([
  z.string().regex(/^-?[0-9]{1,20}$/, "expected an integer"),
  z.number().int(),
]);

/** A double field: a JSON number, or the protobuf-JSON spellings of the non-finite values. */
export const OtlpDoubleSchema = z.union([z.number(), z.enum(["NaN", "Infinity", "-Infinity"])]);

/** An attribute value (AnyValue). Nested arrays and key-value lists refer back to it. */
export const OtlpAnyValueSchema = z.looseObject({
  stringValue: z.string().optional(),
  boolValue: z.boolean().optional(),
  intValue: OtlpInt64Schema.optional(),
  doubleValue: OtlpDoubleSchema.optional(),
  bytesValue: z.string().optional(),
  get arrayValue() {
    return z.looseObject({ values: z.array(OtlpAnyValueSchema).max(1000).optional() }).optional();
  },
  get kvlistValue() {
    return z.looseObject({ values: z.array(OtlpKeyValueSchema).max(1000).optional() }).optional();
  },
});

export const OtlpKeyValueSchema = z.looseObject({
  key: z.string().max(256),
  value: OtlpAnyValueSchema.optional(),
});

const Attributes = z.array(OtlpKeyValueSchema).max(1000).optional();

/** A point of a gauge or a sum. */
export const OtlpNumberDataPointSchema = z.looseObject({
  attributes: Attributes,
  timeUnixNano: OtlpInt64Schema.optional(),
  asDouble: OtlpDoubleSchema.optional(),
  asInt: OtlpInt64Schema.optional(),
});

/** A point of a histogram, an exponential histogram or a summary: only the aggregate fields are read. */
export const OtlpAggregatePointSchema = z.looseObject({
  attributes: Attributes,
  timeUnixNano: OtlpInt64Schema.optional(),
  count: OtlpInt64Schema.optional(),
  sum: OtlpDoubleSchema.optional(),
  min: OtlpDoubleSchema.optional(),
  max: OtlpDoubleSchema.optional(),
});

const numberPoints = z.looseObject({ dataPoints: z.array(OtlpNumberDataPointSchema).max(10_000).optional() });
const aggregatePoints = z.looseObject({
  dataPoints: z.array(OtlpAggregatePointSchema).max(10_000).optional(),
});

export const OtlpMetricSchema = z.looseObject({
  name: z.string().min(1).max(256),
  description: z.string().max(1024).optional(),
  unit: z.string().max(64).optional(),
  gauge: numberPoints.optional(),
  sum: numberPoints.optional(),
  histogram: aggregatePoints.optional(),
  exponentialHistogram: aggregatePoints.optional(),
  summary: aggregatePoints.optional(),
});

export const OtlpResourceMetricsSchema = z.looseObject({
  resource: z.looseObject({ attributes: Attributes }).optional(),
  scopeMetrics: z
    .array(z.looseObject({ metrics: z.array(OtlpMetricSchema).max(10_000).optional() }))
    .max(1000)
    .optional(),
});

/** The body of `POST /v1/metrics` in its JSON encoding. */
export const OtlpExportMetricsRequestSchema = z.looseObject({
  resourceMetrics: z.array(OtlpResourceMetricsSchema).max(1000).optional(),
});

export type OtlpAnyValue = z.output<typeof OtlpAnyValueSchema>;
export type OtlpKeyValue = z.output<typeof OtlpKeyValueSchema>;
export type OtlpMetric = z.output<typeof OtlpMetricSchema>;
export type OtlpResourceMetrics = z.output<typeof OtlpResourceMetricsSchema>;
export type OtlpExportMetricsRequest = z.output<typeof OtlpExportMetricsRequestSchema>;
export type OtlpNumberDataPoint = z.output<typeof OtlpNumberDataPointSchema>;
export type OtlpAggregatePoint = z.output<typeof OtlpAggregatePointSchema>;
