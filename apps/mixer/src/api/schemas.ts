// The REST API's inputs, and the outputs only the Mixer has, as zod schemas: the routes validate with them, the OpenAPI
// doc is made of them. The bodies the CLI reads too (Rack, ClusterInfo, ...) are declared in @fluxrig/wire.
// A schema named with `.meta({ id })` is an OpenAPI component (`#/components/schemas/<id>`).
import {
  NameConflictViewSchema,
  PublicKeySchema,
  RackStatusSchema,
  ScenarioSummarySchema,
} from "@fluxrig/wire";
import { NameSchema } from "@fluxrig/wire/internal";
import { z } from "zod";
import { MAX_SCENARIO_BYTES } from "../scenarios/scenario-spec.js";
import {
  OtlpAnyValueSchema,
  OtlpExportMetricsRequestSchema,
  OtlpKeyValueSchema,
} from "../telemetry/otlp-json-schema.js";
import { RackMetricsSchema } from "../telemetry/rack-metrics-store.js";

const REF_PATTERN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|0x[0-9a-fA-F]{1,16})$/;
const GLOB_PATTERN = /^[a-z0-9*?-]{1,63}$/;

// ---- primitives -------------------------------------------------------------------------------------------

/** A Rack reference in a path: a name, a decimal entity id or a 0x-hex entity id. The operations resolve it. */
export const RackRefSchema = z
  .string()
  .max(63)
  .regex(REF_PATTERN, "expected a Rack name, a decimal entity id or a 0x-hex entity id");
const Reason = z.string().max(1024).describe("Why, for the audit log");
/** A boolean in a query string. */
const QueryBool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const Limit = z.coerce.number().int().min(1).max(1000).default(100).describe("Page size (1..1000)");

// ---- path parameters and queries --------------------------------------------------------------------------

export const RefParams = z.strictObject({ ref: RackRefSchema });
export const NameParams = z.strictObject({ name: NameSchema });

export const RackListQuery = z.strictObject({
  status: RackStatusSchema.optional(),
  prefix: z
    .string()
    .max(63)
    .regex(/^[a-z0-9-]+$/, "expected the start of a Rack name")
    .optional(),
  limit: Limit,
  after: NameSchema.optional().describe("The `next` of the previous page"),
});
export const ConflictQuery = z.strictObject({ name: NameSchema.optional() });
export const ScenarioHistoryQuery = z.strictObject({ name: NameSchema.optional() });
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
/** The event stream's filters: those of the event list, without paging; `after` is where to resume. */
export const EventStreamQuery = z.strictObject({
  rack: EventQuery.shape.rack,
  since: EventQuery.shape.since,
  after: EventQuery.shape.after.describe(
    "Start after this seq (the `id` of the last message received); the `Last-Event-ID` header wins over it",
  ),
});

// ---- request bodies ---------------------------------------------------------------------------------------

export const StateChangeBody = z
  .strictObject({ reason: Reason.optional() })
  .meta({ id: "StateChangeRequest", description: "Optional body of a lifecycle change" });
/** A key fingerprint as `racks show` prints it: `SHA256:` and 43 characters of unpadded standard base64. */
export const KeyFingerprint = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, "expected a key fingerprint as racks show prints it (SHA256:...)");
export const AdoptBody = z
  .strictObject({
    reason: Reason.optional(),
    expect_key: KeyFingerprint.optional().describe(
      "refuse (409 conflict) unless the Rack's key has this fingerprint, so the key the operator checked is the one adopted",
    ),
  })
  .meta({ id: "AdoptRequest", description: "Optional body of an adoption" });
export const BulkAdoptBody = z
  .strictObject({
    refs: z.array(RackRefSchema).min(1).max(1000).optional(),
    pattern: z.string().regex(GLOB_PATTERN, "expected a glob over names: [a-z0-9-] with * and ?").optional(),
    dry_run: z.boolean().default(false),
    reason: Reason.optional(),
  })
  .refine((b) => b.refs !== undefined || b.pattern !== undefined, { message: "give refs, pattern or both" })
  .meta({ id: "BulkAdoptRequest" });
export const ReplaceBody = z
  .strictObject({
    public_key: PublicKeySchema.optional().describe(
      "The key to hand the name to; default: the newest conflict",
    ),
    keep_machine_id: z.boolean().default(false),
    reason: Reason.optional(),
  })
  .meta({ id: "ReplaceRequest" });
export const ScenarioPlanBody = z
  .strictObject({
    yaml: z.string().min(1).describe(`The scenario YAML, at most ${MAX_SCENARIO_BYTES} bytes of UTF-8`),
  })
  .meta({ id: "ScenarioPlanRequest" });
export const ScenarioImportBody = z
  .strictObject({
    yaml: z.string().min(1).describe(`The scenario YAML, at most ${MAX_SCENARIO_BYTES} bytes of UTF-8`),
    dry_run: z.boolean().optional(),
    activate: z.boolean().optional(),
    reason: Reason.optional(),
  })
  .meta({ id: "ScenarioImportRequest" });
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

export const HealthResponse = z.object({ status: z.literal("ok") }).meta({ id: "Health" });

export const ConflictListResponse = z
  .object({ items: z.array(NameConflictViewSchema) })
  .meta({ id: "NameConflictList" });

export const ScenarioListResponse = z
  .object({ items: z.array(ScenarioSummarySchema) })
  .meta({ id: "ScenarioList" });
export const RackMetricsListResponse = z
  .object({ items: z.array(RackMetricsSchema) })
  .meta({ id: "RackMetricsList" });
export const OtlpExportResponse = z
  .object({
    partialSuccess: z
      .object({ rejectedDataPoints: z.string().optional(), errorMessage: z.string().optional() })
      .optional(),
  })
  .meta({
    id: "OtlpExportMetricsResponse",
    description: "`{}` on full success; `partialSuccess` when some resources named no Rack",
  });
export const OpenApiDocumentResponse = z.record(z.string(), z.unknown());
