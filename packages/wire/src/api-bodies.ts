// The Mixer's REST API bodies (docs/api.md), declared once as zod schemas with their types inferred: the Mixer checks
// every reply with them and writes its OpenAPI document from them; the CLI reads the types. `.meta({ id })` names a
// body: it is the component `#/components/schemas/<id>` in the OpenAPI document (and the `$defs` key of a JSON Schema).
import { z } from "zod";
import { GearHealthSchema } from "./heartbeat-schema.js";
import { RACK_STATUSES } from "./rack-statuses.js";
import { EntityIdStringSchema } from "./schema-primitives.js";
import { WIRE_ERROR_CODE_LIST } from "./wire-error-codes.js";

export const RackStatusSchema = z.enum(RACK_STATUSES);
export type RackStatus = z.infer<typeof RackStatusSchema>;

const Timestamp = z.string().describe("ISO 8601 date-time");
const Int = z.number().int();
const Names = z.array(z.string());

/** Another key that claimed a Rack's name. */
export const NameConflictViewSchema = z
  .object({
    name: z.string(),
    claimed_key_fingerprint: z.string(),
    claimed_public_key: z.string(),
    first_at: Timestamp,
    last_at: Timestamp,
    attempts: Int,
    last_source: z.string().nullable(),
  })
  .meta({ id: "NameConflict" });
export type NameConflictView = z.infer<typeof NameConflictViewSchema>;

/**
 * One gear deployed to a Rack as the Rack's latest heartbeat reported it: the heartbeat's own fields
 * (`GearHealthSchema`), read as an API body.
 */
export const GearHealthViewSchema = z.object(GearHealthSchema.shape).meta({
  id: "GearHealth",
  description:
    "One gear as its Rack last reported it: state (running, restarting, failed for good, stopped), restarts, " +
    "messages in and out since this gear started, and its last error (cut to 200 characters) with its time",
});
export type GearHealthView = z.infer<typeof GearHealthViewSchema>;

/** One Rack as operators see it. Entity ids are decimal strings (they do not fit a JS number). */
export const RackViewSchema = z
  .object({
    entity_id: EntityIdStringSchema,
    entity_id_hex: z.string(),
    type_id: Int,
    machine_id: Int,
    name: z.string(),
    status: RackStatusSchema,
    version: z.string(),
    attributes: z.record(z.string(), z.unknown()),
    stats: z.record(z.string(), z.unknown()).nullable(),
    last_seen: Timestamp.nullable(),
    /** A pending Rack that has sent no hello or heartbeat for heartbeat_interval x missed_heartbeats: likely gone. */
    stale: z.boolean(),
    first_seen: Timestamp.nullable(),
    status_changed_at: Timestamp.nullable(),
    /** sha256 fingerprint of the Rack's public key, `SHA256:` + base64, as ssh prints them. */
    key_fingerprint: z.string(),
    passport: z.object({ serial: Int, issued_at: Timestamp, expires_at: Timestamp }).nullable(),
    /** Evidence for a decision on a pending Rack; on `GET /racks/{ref}` only. */
    evidence: z
      .object({
        hello_count: Int,
        last_source: z.string().nullable(),
        /** Other keys that claimed this name. */
        conflicts: z.array(NameConflictViewSchema),
      })
      .optional(),
    /**
     * Each gear deployed to the Rack, from its latest heartbeat; on `GET /racks/{ref}` only. Null when the Rack
     * reports no per-gear list (a Rack older than the list, or one that runs no gears): its `stats.gears` totals
     * are all there is. Lists keep their `stats` without it.
     */
    gears: z
      .array(GearHealthViewSchema)
      .nullable()
      .optional()
      .meta({
        description:
          "On GET /racks/{ref} only: each gear as the Rack's latest heartbeat reported it; null when the Rack " +
          "reports no per-gear list (older Rack, or no gears running): stats.gears holds the totals",
      }),
    /** Set on an adopt, reject or revoke answer when the Rack already was so and nothing changed. */
    unchanged: z
      .literal(true)
      .optional()
      .meta({ description: "On adopt, reject and revoke only: the Rack already was so, nothing changed" }),
  })
  .meta({ id: "Rack" });
export type RackView = z.infer<typeof RackViewSchema>;

export const RackPageSchema = z
  .object({
    items: z.array(RackViewSchema),
    /** Pass as `after` to get the next page; null on the last page. */
    next: z.string().nullable(),
  })
  .meta({ id: "RackPage" });
export type RackPage = z.infer<typeof RackPageSchema>;

/** `DELETE /racks/{ref}`. */
export const RackRemovedSchema = z
  .object({ name: z.string(), entity_id: EntityIdStringSchema, machine_id: Int })
  .meta({ id: "RackRemoved" });
export type RackRemoved = z.infer<typeof RackRemovedSchema>;

/** `POST /racks/{name}/replace`: the old key's Rack (revoked) and the new one. */
export const RackReplacedSchema = z
  .object({ old: RackViewSchema, new: RackViewSchema })
  .meta({ id: "RackReplaced" });
export type RackReplaced = z.infer<typeof RackReplacedSchema>;

export const BulkAdoptResultSchema = z
  .object({
    dry_run: z.boolean(),
    adopted: z.array(z.object({ name: z.string(), entity_id: EntityIdStringSchema, from: RackStatusSchema })),
    skipped: z.array(z.object({ ref: z.string(), reason: z.string(), code: z.enum(WIRE_ERROR_CODE_LIST) })),
  })
  .meta({ id: "BulkAdoptResult" });
export type BulkAdoptResult = z.infer<typeof BulkAdoptResultSchema>;

export const ScenarioSummarySchema = z
  .object({
    name: z.string(),
    version: z.string(),
    active: z.boolean(),
    imported_at: Timestamp,
    activated_at: Timestamp.nullable(),
    racks: Names,
    gears: Int,
    wires: Int,
  })
  .meta({ id: "ScenarioSummary" });
export type ScenarioSummary = z.infer<typeof ScenarioSummarySchema>;

/** `GET /scenarios/active`: the summary and the YAML (an intersection, so the document refers to the summary). */
export const ActiveScenarioSchema = z
  .intersection(ScenarioSummarySchema, z.object({ yaml: z.string() }))
  .meta({ id: "ActiveScenario" });
export type ActiveScenario = z.infer<typeof ActiveScenarioSchema>;

/** One validation issue of a refused scenario (`details.issues` of a 422). */
export interface ScenarioIssueView {
  path: string;
  message: string;
  line?: number | undefined;
  column?: number | undefined;
}

export const ScenarioImportResultSchema = z
  .object({
    dry_run: z.boolean(),
    scenario: ScenarioSummarySchema,
    /** What activation would do / did: Racks adopted and pushes sent. */
    activation: z.object({ adopted: Names, pushed: Names, waiting: Names }).optional(),
  })
  .meta({ id: "ScenarioImportResult" });
export type ScenarioImportResult = z.infer<typeof ScenarioImportResultSchema>;

/** One Rack in a scenario plan: what activating the planned scenario would do to it. */
export const ScenarioPlanRackSchema = z
  .object({
    name: z.string(),
    /** Its registry status now; null when no Rack of that name has said hello yet. */
    status: RackStatusSchema.nullable(),
    /** adopt: pending, adopted at activation; push: told at once; wait: gets its gears when it enrolls; drop: no
     * longer named, told at once and stops its gears. */
    action: z.enum(["adopt", "push", "wait", "drop"]),
    gears: z.object({ start: Names, stop: Names, restart: Names, unchanged: Names }),
  })
  .meta({ id: "ScenarioPlanRack" });
export type ScenarioPlanRack = z.infer<typeof ScenarioPlanRackSchema>;

/** `POST /scenarios/plan`: what activating a scenario would do, compared with the active one; nothing is written. */
export const ScenarioPlanSchema = z
  .object({
    scenario: z.object({ name: z.string(), version: z.string() }),
    /** The scenario active now, the plan's baseline; null when none is. */
    active: z.object({ name: z.string(), version: z.string() }).nullable(),
    /** Whether this exact version is already stored (importing it again changes nothing). */
    stored: z.boolean(),
    /** Every Rack the change touches, by name: the planned scenario's and those it no longer names. */
    racks: z.array(ScenarioPlanRackSchema),
  })
  .meta({ id: "ScenarioPlan" });
export type ScenarioPlan = z.infer<typeof ScenarioPlanSchema>;

/** One activation of a scenario version: kept for good, the version's YAML with it. */
export const ScenarioActivationSchema = z
  .object({
    /** 1, 2, 3, ...: the order of activations. */
    seq: Int,
    name: z.string(),
    version: z.string(),
    at: Timestamp,
    /** The audit actor: the named API token's name (or the bootstrap admin's). */
    actor: z.string(),
    /** operator (activate, apply --activate) or rollback. */
    cause: z.string(),
    reason: z.string().nullable(),
    /** True for the activation in force now. */
    current: z.boolean(),
  })
  .meta({ id: "ScenarioActivation" });
export type ScenarioActivation = z.infer<typeof ScenarioActivationSchema>;

export const ScenarioHistorySchema = z
  .object({ items: z.array(ScenarioActivationSchema) })
  .meta({ id: "ScenarioHistory" });
export type ScenarioHistory = z.infer<typeof ScenarioHistorySchema>;

/** The Mixer's memory when asked: the process (RSS), V8's heap, and DuckDB's own accounting by component. */
export const MemoryViewSchema = z
  .object({
    rss_bytes: Int,
    heap_used_bytes: Int,
    heap_total_bytes: Int,
    /** Memory of JavaScript objects held outside the heap (buffers). */
    external_bytes: Int,
    /** The sum of `db_by_tag`: what DuckDB's buffer manager holds, within `[mixer] db_memory_limit`. */
    db_bytes: Int,
    /** `duckdb_memory()` by tag (BASE_TABLE, ART_INDEX, ...), the ones above zero. */
    db_by_tag: z.record(z.string(), Int),
  })
  .describe(
    "The Mixer's memory now: RSS, V8's heap, and DuckDB's own accounting (duckdb_memory()) by tag. RSS also " +
      "holds code and allocator free lists, which neither counts.",
  );
export type MemoryView = z.infer<typeof MemoryViewSchema>;

const statusCounts = Object.fromEntries(RACK_STATUSES.map((s) => [s, Int])) as Record<RackStatus, typeof Int>;
export const ClusterInfoSchema = z
  .object({
    cluster: z.string(),
    public_key: z.string(),
    key_id: z.string(),
    mixer: z.object({
      entity_id: EntityIdStringSchema,
      entity_id_hex: z.string(),
      machine_id: Int,
      name: z.string(),
      version: z.string(),
    }),
    counts: z.object({ ...statusCounts, total: Int }),
    heartbeat_interval_ms: Int,
    /** True while this Mixer leads the work done once (always, for a single Mixer); absent from older Mixers. */
    leading: z.boolean().optional(),
    counters: z.record(z.string(), z.number()),
    memory: MemoryViewSchema,
  })
  .meta({ id: "ClusterInfo" });
export type ClusterInfo = z.infer<typeof ClusterInfoSchema>;

export const AuditEventViewSchema = z
  .object({
    seq: Int,
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
  .meta({ id: "AuditEvent" });
export type AuditEventView = z.infer<typeof AuditEventViewSchema>;

export const AuditEventPageSchema = z
  .object({ items: z.array(AuditEventViewSchema), next: z.string().nullable() })
  .meta({ id: "AuditEventPage" });
export type AuditEventPage = z.infer<typeof AuditEventPageSchema>;

export const AuditVerifyResultSchema = z
  .discriminatedUnion("ok", [
    z.object({ ok: z.literal(true), count: Int }),
    z.object({ ok: z.literal(false), broken_at: Int, reason: z.string() }),
  ])
  .meta({ id: "AuditVerifyResult" });
export type AuditVerifyResult = z.infer<typeof AuditVerifyResultSchema>;

/** What a named API token may do: `viewer` reads, `operator` also adopts, rejects and runs scenarios, `admin` all. */
export const API_TOKEN_ROLES = ["viewer", "operator", "admin"] as const;
export const ApiTokenRoleSchema = z.enum(API_TOKEN_ROLES);
export type ApiTokenRole = z.infer<typeof ApiTokenRoleSchema>;

/** A token's name: the actor of every audit event its requests cause. */
export const ApiTokenNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    "lower-case letters, digits, '.', '_' and '-', 1 to 63, starting alphanumeric",
  );

/** One named API token as listed: never its secret. */
export const ApiTokenViewSchema = z
  .object({
    name: z.string(),
    role: ApiTokenRoleSchema,
    created_at: Timestamp,
    created_by: z.string(),
  })
  .meta({ id: "ApiToken" });
export type ApiTokenView = z.infer<typeof ApiTokenViewSchema>;

/** `POST /api/v1/tokens`. */
export const ApiTokenCreateBodySchema = z
  .strictObject({ name: ApiTokenNameSchema, role: ApiTokenRoleSchema })
  .meta({ id: "ApiTokenCreate" });
export type ApiTokenCreateBody = z.infer<typeof ApiTokenCreateBodySchema>;

/** A token just created: the only answer that ever carries its secret. */
export const ApiTokenCreatedSchema = ApiTokenViewSchema.extend({
  secret: z.string().describe("the bearer token; shown once, stored only as its SHA-256"),
}).meta({ id: "ApiTokenCreated" });
export type ApiTokenCreated = z.infer<typeof ApiTokenCreatedSchema>;

/** `DELETE /api/v1/tokens/{name}`: the token that stopped working. */
export const ApiTokenRevokedSchema = ApiTokenViewSchema.extend({ revoked_at: Timestamp }).meta({
  id: "ApiTokenRevoked",
});
export type ApiTokenRevoked = z.infer<typeof ApiTokenRevokedSchema>;

/** A name pattern an enrollment token admits: a Rack name with `*` (any run) and `?` (one character) wildcards. */
export const EnrollmentTokenPatternSchema = z
  .string()
  .regex(
    /^[a-z0-9*?][a-z0-9*?-]{0,62}$/,
    "lower-case letters, digits, '-', and the wildcards '*' and '?', 1 to 63 (like edge-* or rack-??)",
  );

/** Why an enrollment token adopts nobody now; `usable` when it would. */
export const ENROLLMENT_TOKEN_STATES = ["usable", "used_up", "expired"] as const;

/** One enrollment token as listed: never its secret. */
export const EnrollmentTokenViewSchema = z
  .object({
    id: z
      .string()
      .describe("12 hex digits; also the second part of the secret, so a leaked secret names its token"),
    pattern: EnrollmentTokenPatternSchema,
    uses: z.number().int().describe("adoptions it allows in all"),
    used: z.number().int().describe("adoptions it made"),
    expires_at: Timestamp,
    state: z.enum(ENROLLMENT_TOKEN_STATES),
    created_at: Timestamp,
    created_by: z.string(),
  })
  .meta({ id: "EnrollmentToken" });
export type EnrollmentTokenView = z.infer<typeof EnrollmentTokenViewSchema>;

/** `POST /api/v1/enrollment-tokens`. */
export const EnrollmentTokenCreateBodySchema = z
  .strictObject({
    pattern: EnrollmentTokenPatternSchema,
    uses: z.number().int().min(1).max(100_000),
    expires_in_seconds: z
      .number()
      .int()
      .min(60)
      .max(366 * 24 * 3600)
      .describe("from now; a minute to a year"),
  })
  .meta({ id: "EnrollmentTokenCreate" });
export type EnrollmentTokenCreateBody = z.infer<typeof EnrollmentTokenCreateBodySchema>;

/** An enrollment token just created: the only answer that ever carries its secret. */
export const EnrollmentTokenCreatedSchema = EnrollmentTokenViewSchema.extend({
  secret: z
    .string()
    .describe("what a Rack sets as [rack] enrollment_token; shown once, stored only as its SHA-256"),
}).meta({ id: "EnrollmentTokenCreated" });
export type EnrollmentTokenCreated = z.infer<typeof EnrollmentTokenCreatedSchema>;

/** `DELETE /api/v1/enrollment-tokens/{id}`: the token that stopped working. */
export const EnrollmentTokenRevokedSchema = EnrollmentTokenViewSchema.extend({ revoked_at: Timestamp }).meta({
  id: "EnrollmentTokenRevoked",
});
export type EnrollmentTokenRevoked = z.infer<typeof EnrollmentTokenRevokedSchema>;

/** An enrollment token's id in a path. */
export const EnrollmentTokenIdSchema = z
  .string()
  .regex(/^[0-9a-f]{12}$/, "expected the token's 12 hex digit id");

/** A name that may only be adopted with one key (`racks expect`). */
export const ExpectedKeyViewSchema = z
  .object({
    name: z.string(),
    key_fingerprint: z.string().describe("SHA256: and base64, as racks show prints a key"),
    created_at: Timestamp,
    created_by: z.string(),
  })
  .meta({ id: "ExpectedKey" });
export type ExpectedKeyView = z.infer<typeof ExpectedKeyViewSchema>;

/** `POST /api/v1/expected-keys/{name}`. */
export const ExpectedKeyBodySchema = z
  .strictObject({
    key: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, "expected a key fingerprint as racks show prints it (SHA256:...)"),
    reason: z.string().max(1024).optional(),
  })
  .meta({ id: "ExpectedKeyRequest" });
export type ExpectedKeyBody = z.infer<typeof ExpectedKeyBodySchema>;

/** The error body of every failed request. */
export const ApiErrorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(WIRE_ERROR_CODE_LIST),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: "Error" });
export type ApiErrorBody = z.infer<typeof ApiErrorBodySchema>;
