// Every input and output of the REST API as zod schemas: the routes validate with them, the OpenAPI doc is made of them.
// A schema named with `.openapi("<id>")` is an OpenAPI component (`#/components/schemas/<id>`).
// Each response schema `satisfies` its body type from @fluxrig/wire, the one the CLI reads: they cannot drift apart.
import {
  type ActiveScenario,
  type ApiErrorBody,
  type AuditEventPage,
  type AuditEventView,
  type AuditVerifyResult,
  type BulkAdoptResult,
  type ClusterInfo,
  EntityIdStringSchema,
  type NameConflictView,
  PublicKeySchema,
  RACK_NAME_PATTERN,
  RACK_STATUSES,
  type RackPage,
  type RackRemoved,
  type RackReplaced,
  type RackStatus,
  type RackView,
  type ScenarioImportResult,
  type ScenarioSummary,
  WIRE_ERROR_CODE_LIST,
} from "@fluxrig/wire";
import { z } from "@hono/zod-openapi";
import { MAX_SCENARIO_BYTES } from "../scenarios/scenario-spec.js";
import {
  OtlpAnyValueSchema,
  OtlpExportMetricsRequestSchema,
  OtlpKeyValueSchema,
} from "../telemetry/otlp-json-schema.js";
import { METRIC_TYPES } from "../telemetry/rack-metrics-store.js";

const REF_PATTERN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|0x[0-9a-fA-F]{1,16})$/;
const GLOB_PATTERN = /^[a-z0-9*?-]{1,63}$/;

// ---- primitives -------------------------------------------------------------------------------------------

/** A Rack reference in a path: a name, a decimal entity id or a 0x-hex entity id. The operations resolve it. */
export const RackRefSchema = z
  .string()
  .max(63)
  .regex(REF_PATTERN, "expected a Rack name, a decimal entity id or a 0x-hex entity id");
export const NameParamSchema = z.string().max(63).regex(RACK_NAME_PATTERN, "expected a lowercase DNS label");
export const RackStatusSchema = z.enum(RACK_STATUSES as [RackStatus, ...RackStatus[]]);
const Timestamp = z.string().describe("ISO 8601 date-time");
const Reason = z.string().max(1024).describe("Why, for the audit log");
/** A boolean in a query string. */
const QueryBool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const Limit = z.coerce.number().int().min(1).max(1000).default(100).describe("Page size (1..1000)");

// ---- path parameters and queries --------------------------------------------------------------------------

export const RefParams = z.strictObject({ ref: RackRefSchema });
export const NameParams = z.strictObject({ name: NameParamSchema });

export const RackListQuery = z.strictObject({
  status: RackStatusSchema.optional(),
  prefix: z
    .string()
    .max(63)
    .regex(/^[a-z0-9-]+$/, "expected the start of a Rack name")
    .optional(),
  limit: Limit,
  after: NameParamSchema.optional().describe("The `next` of the previous page"),
});
export const ConflictQuery = z.strictObject({ name: NameParamSchema.optional() });
export const ScenarioImportQuery = z.strictObject({
  dry_run: QueryBool.optional(),
  activate: QueryBool.optional(),
});
export const EventQuery = z.strictObject({
  rack: RackRefSchema.optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: Limit,
  after: z
    .string()
    .regex(/^[0-9]{1,15}$/, "expected an event seq")
    .optional()
    .describe("The `next` of the previous page"),
});

// ---- request bodies ---------------------------------------------------------------------------------------

export const StateChangeBody = z
  .strictObject({ reason: Reason.optional() })
  .openapi("StateChangeRequest", { description: "Optional body of a lifecycle change" });
export const BulkAdoptBody = z
  .strictObject({
    refs: z.array(RackRefSchema).min(1).max(1000).optional(),
    pattern: z.string().regex(GLOB_PATTERN, "expected a glob over names: [a-z0-9-] with * and ?").optional(),
    dry_run: z.boolean().default(false),
    reason: Reason.optional(),
  })
  .refine((b) => b.refs !== undefined || b.pattern !== undefined, { message: "give refs, pattern or both" })
  .openapi("BulkAdoptRequest");
export const ReplaceBody = z
  .strictObject({
    public_key: PublicKeySchema.optional().describe(
      "The key to hand the name to; default: the newest conflict",
    ),
    keep_machine_id: z.boolean().default(false),
    reason: Reason.optional(),
  })
  .openapi("ReplaceRequest");
export const ScenarioImportBody = z
  .strictObject({
    yaml: z.string().min(1).describe(`The scenario YAML, at most ${MAX_SCENARIO_BYTES} bytes of UTF-8`),
    dry_run: z.boolean().optional(),
    activate: z.boolean().optional(),
    reason: Reason.optional(),
  })
  .openapi("ScenarioImportRequest");
/**
 * The OTLP export's components, written by zod's own JSON Schema: zod-to-openapi 9.1 recurses until the stack
 * overflows on AnyValue's getters (a value holds arrays and maps of values). The receiver reads the body itself.
 */
export function otlpRequestComponents(): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string }>();
  registry.add(OtlpExportMetricsRequestSchema, { id: "OtlpExportMetricsRequest" });
  registry.add(OtlpKeyValueSchema, { id: "OtlpKeyValue" });
  registry.add(OtlpAnyValueSchema, { id: "OtlpAnyValue" });
  const uri = (id: string) => `#/components/schemas/${id}`;
  const { schemas } = z.toJSONSchema(registry, { uri, io: "input", unrepresentable: "any" });
  // Both keys are about standalone JSON Schema files; inside components they only confuse tools.
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest]),
  );
}

// ---- responses --------------------------------------------------------------------------------------------

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.enum(WIRE_ERROR_CODE_LIST),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi("Error") satisfies z.ZodType<ApiErrorBody>;
export const HealthResponse = z.object({ status: z.literal("ok") }).openapi("Health");

export const NameConflictSchema = z
  .object({
    name: z.string(),
    claimed_key_fingerprint: z.string(),
    claimed_public_key: z.string(),
    first_at: Timestamp,
    last_at: Timestamp,
    attempts: z.number().int(),
    last_source: z.string().nullable(),
  })
  .openapi("NameConflict") satisfies z.ZodType<NameConflictView>;
export const ConflictListResponse = z
  .object({ items: z.array(NameConflictSchema) })
  .openapi("NameConflictList");

export const RackSchema = z
  .object({
    entity_id: EntityIdStringSchema,
    entity_id_hex: z.string(),
    type_id: z.number().int(),
    machine_id: z.number().int(),
    name: z.string(),
    status: RackStatusSchema,
    version: z.string(),
    attributes: z.record(z.string(), z.unknown()),
    stats: z.record(z.string(), z.unknown()).nullable(),
    last_seen: Timestamp.nullable(),
    stale: z.boolean(),
    first_seen: Timestamp.nullable(),
    status_changed_at: Timestamp.nullable(),
    key_fingerprint: z.string(),
    passport: z.object({ serial: z.number().int(), issued_at: Timestamp, expires_at: Timestamp }).nullable(),
    evidence: z
      .object({
        hello_count: z.number().int(),
        last_source: z.string().nullable(),
        conflicts: z.array(NameConflictSchema),
      })
      .optional(),
    unchanged: z
      .literal(true)
      .optional()
      .openapi({ description: "On adopt, reject and revoke only: the Rack already was so, nothing changed" }),
  })
  .openapi("Rack") satisfies z.ZodType<RackView>;
export const RackPageResponse = z
  .object({ items: z.array(RackSchema), next: z.string().nullable() })
  .openapi("RackPage") satisfies z.ZodType<RackPage>;
export const RackRemovedResponse = z
  .object({ name: z.string(), entity_id: EntityIdStringSchema, machine_id: z.number().int() })
  .openapi("RackRemoved") satisfies z.ZodType<RackRemoved>;
export const BulkAdoptResponse = z
  .object({
    dry_run: z.boolean(),
    adopted: z.array(z.object({ name: z.string(), entity_id: EntityIdStringSchema, from: RackStatusSchema })),
    skipped: z.array(z.object({ ref: z.string(), reason: z.string(), code: z.enum(WIRE_ERROR_CODE_LIST) })),
  })
  .openapi("BulkAdoptResult") satisfies z.ZodType<BulkAdoptResult>;
export const RackReplacedResponse = z
  .object({ old: RackSchema, new: RackSchema })
  .openapi("RackReplaced") satisfies z.ZodType<RackReplaced>;

export const ScenarioSummarySchema = z
  .object({
    name: z.string(),
    version: z.string(),
    active: z.boolean(),
    imported_at: Timestamp,
    activated_at: Timestamp.nullable(),
    racks: z.array(z.string()),
    gears: z.number().int(),
    wires: z.number().int(),
  })
  .openapi("ScenarioSummary") satisfies z.ZodType<ScenarioSummary>;
export const ScenarioListResponse = z
  .object({ items: z.array(ScenarioSummarySchema) })
  .openapi("ScenarioList");
export const ActiveScenarioResponse = ScenarioSummarySchema.extend({ yaml: z.string() }).openapi(
  "ActiveScenario",
) satisfies z.ZodType<ActiveScenario>;
export const ScenarioImportResponse = z
  .object({
    dry_run: z.boolean(),
    scenario: ScenarioSummarySchema,
    activation: z
      .object({ adopted: z.array(z.string()), pushed: z.array(z.string()), waiting: z.array(z.string()) })
      .optional(),
  })
  .openapi("ScenarioImportResult") satisfies z.ZodType<ScenarioImportResult>;

const statusCounts = Object.fromEntries(RACK_STATUSES.map((s) => [s, z.number().int()])) as Record<
  RackStatus,
  z.ZodNumber
>;
export const ClusterInfoResponse = z
  .object({
    cluster: z.string(),
    public_key: z.string(),
    key_id: z.string(),
    mixer: z.object({
      entity_id: EntityIdStringSchema,
      entity_id_hex: z.string(),
      machine_id: z.number().int(),
      name: z.string(),
      version: z.string(),
    }),
    counts: z.object({ ...statusCounts, total: z.number().int() }),
    heartbeat_interval_ms: z.number().int(),
    counters: z.record(z.string(), z.number()),
    memory: z
      .object({
        rss_bytes: z.number().int(),
        heap_used_bytes: z.number().int(),
        heap_total_bytes: z.number().int(),
        external_bytes: z.number().int(),
        db_bytes: z.number().int(),
        db_by_tag: z.record(z.string(), z.number().int()),
      })
      .describe(
        "The Mixer's memory now: RSS, V8's heap, and DuckDB's own accounting (duckdb_memory()) by tag. RSS also " +
          "holds code and allocator free lists, which neither counts.",
      ),
  })
  .openapi("ClusterInfo") satisfies z.ZodType<ClusterInfo>;

export const AuditEventSchema = z
  .object({
    seq: z.number().int(),
    at: Timestamp,
    entity_id: z.string().nullable(),
    name: z.string().nullable(),
    kind: z.string(),
    from_status: z.string().nullable(),
    to_status: z.string().nullable(),
    cause: z.string(),
    actor: z.string(),
    details: z.record(z.string(), z.unknown()).nullable(),
    prev_hash: z.string(),
    hash: z.string(),
  })
  .openapi("AuditEvent") satisfies z.ZodType<AuditEventView>;
export const AuditEventPageResponse = z
  .object({ items: z.array(AuditEventSchema), next: z.string().nullable() })
  .openapi("AuditEventPage") satisfies z.ZodType<AuditEventPage>;
export const AuditVerifyResponse = z
  .discriminatedUnion("ok", [
    z.object({ ok: z.literal(true), count: z.number().int() }),
    z.object({ ok: z.literal(false), broken_at: z.number().int(), reason: z.string() }),
  ])
  .openapi("AuditVerifyResult") satisfies z.ZodType<AuditVerifyResult>;

const AttributeValueSchema = z.unknown().describe("A scalar, or an array or map of them");
const AggregateValueSchema = z.object({
  count: z.number(),
  sum: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
});
export const RackMetricsSchema = z
  .object({
    entity_id: EntityIdStringSchema,
    rack_name: z.string().nullable(),
    machine_id: z.number().int(),
    received_at: Timestamp,
    truncated: z.boolean(),
    metrics: z.array(
      z.object({
        name: z.string(),
        unit: z.string(),
        type: z.enum(METRIC_TYPES),
        points: z.array(
          z.object({
            attributes: z.record(z.string(), AttributeValueSchema),
            value: z.union([z.number(), z.null(), AggregateValueSchema]),
          }),
        ),
      }),
    ),
  })
  .openapi("RackMetrics");
export const RackMetricsListResponse = z
  .object({ items: z.array(RackMetricsSchema) })
  .openapi("RackMetricsList");
export const OtlpExportResponse = z
  .object({
    partialSuccess: z
      .object({ rejectedDataPoints: z.string().optional(), errorMessage: z.string().optional() })
      .optional(),
  })
  .openapi("OtlpExportMetricsResponse", {
    description: "`{}` on full success; `partialSuccess` when some resources named no Rack",
  });
export const OpenApiDocumentResponse = z.record(z.string(), z.unknown());
