// Schema of the heartbeat a Rack publishes on fluxrig.event.heartbeat.<name>, and of its stats (SPEC §5).
import { z } from "zod";
import { ScenarioGearSchema } from "./push-schemas.js";
import {
  CountSchema,
  EntityIdStringSchema,
  GaugeSchema,
  NameSchema,
  TimestampSchema,
  VersionSchema,
  WIRE_LIMITS,
} from "./schema-primitives.js";

/**
 * Where a gear is: `running`; `restarting` (it failed and waits for its next try); `failed` (for good: an invalid
 * config or a type this Rack does not know); `stopped` (being taken down).
 */
export const GEAR_STATES = ["running", "restarting", "failed", "stopped"] as const;
export type GearState = (typeof GEAR_STATES)[number];

/**
 * One gear deployed to a Rack, as its heartbeat reports it: counts since this gear (this spec, on this Rack) started,
 * and its last error, cut to `WIRE_LIMITS.gearErrorChars`, with when it happened.
 *
 * @example
 * GearHealthSchema.parse({ name: "tick", type: "ticker", state: "running", restarts: 0, in: 0, out: 42 });
 */
export const GearHealthSchema = z.strictObject({
  name: NameSchema,
  type: ScenarioGearSchema.shape.type,
  state: z.enum(GEAR_STATES),
  restarts: CountSchema,
  in: CountSchema,
  out: CountSchema,
  last_error: z
    .strictObject({ message: z.string().max(WIRE_LIMITS.gearErrorChars), at: TimestampSchema })
    .optional(),
});

/** A gear's health in a heartbeat. */
export type GearHealth = z.infer<typeof GearHealthSchema>;

/**
 * Runtime health of a Rack: the Node counterparts of the seed's goroutine counts, and gear counts once running.
 *
 * @example
 * RackStatsSchema.parse({ cpu: { process_pct: 3.2, host_pct: 11 }, mem: { rss_bytes: 5e7, heap_used_bytes: 2e7 },
 *   event_loop_lag_ms: 0.4, active_handles: 7, uptime_s: 360 });
 */
export const RackStatsSchema = z.strictObject({
  cpu: z.strictObject({ process_pct: GaugeSchema, host_pct: GaugeSchema }),
  mem: z.strictObject({ rss_bytes: CountSchema, heap_used_bytes: CountSchema }),
  event_loop_lag_ms: GaugeSchema,
  active_handles: CountSchema,
  uptime_s: GaugeSchema,
  gears: z.strictObject({ running: CountSchema, failed: CountSchema, restarts: CountSchema }).optional(),
  messages: z.strictObject({ in: CountSchema, out: CountSchema }).optional(),
  /**
   * Each gear deployed to the Rack, in scenario order, at most as many as a scenario push may deploy to one Rack.
   * Optional: Racks older than this field send only the totals above, and a Mixer accepts heartbeats with or without
   * it (a Mixer older than the field refuses them: strict schema, upgrade the Mixer first).
   */
  gear_list: z.array(GearHealthSchema).max(WIRE_LIMITS.scenarioGears).optional(),
});

/** A Rack's runtime stats. */
export type RackStats = z.infer<typeof RackStatsSchema>;

/**
 * The Rack's own view of its status; `stopping` is sent once on a clean shutdown.
 *
 * @example
 * HEARTBEAT_STATUSES.includes(hb.status); // true for any decoded heartbeat
 */
export const HEARTBEAT_STATUSES = ["pending", "active", "rejected", "revoked", "stopping"] as const;
export type HeartbeatStatus = (typeof HEARTBEAT_STATUSES)[number];

/**
 * A per-process session id: 8 to 64 base64url characters, e.g. 16 random bytes.
 *
 * @example
 * SessionIdSchema.parse(randomBytes(16).toString("base64url"));
 */
export const SessionIdSchema = z
  .string()
  .regex(
    new RegExp(`^[A-Za-z0-9_-]{8,${WIRE_LIMITS.sessionChars}}$`),
    "expected 8 to 64 base64url characters",
  );

/**
 * Rack to Mixer. `seq` starts at 1 in each `session` and grows by one per heartbeat, so the Mixer can count gaps
 * and tell a restart (new session) from a replay.
 *
 * @example
 * encodeMessage({ v: 1, entity_id, name, status: "pending", seq: 1, session, version, stats, ts });
 */
export const HeartbeatSchema = z.strictObject({
  v: z.literal(1),
  entity_id: EntityIdStringSchema,
  name: NameSchema,
  status: z.enum(HEARTBEAT_STATUSES),
  seq: z.int().min(1),
  session: SessionIdSchema,
  version: VersionSchema,
  stats: RackStatsSchema,
  /**
   * The scenario the Rack's gear runtime runs, name and version, once it runs one: how the Mixer knows per Rack
   * which version is in force. A Mixer older than this field refuses such heartbeats (strict schema): upgrade the
   * Mixer first.
   */
  scenario: z.strictObject({ name: NameSchema, version: VersionSchema }).optional(),
  ts: TimestampSchema,
});

/** A decoded heartbeat. */
export type Heartbeat = z.infer<typeof HeartbeatSchema>;
