// Schemas of what the Mixer pushes to one Rack: passport changes and scenarios (SPEC §5, §10).
import { z } from "zod";
import { BusCredentialSchema } from "./bus-credential-schema.js";
import { PassportEnvelopeSchema } from "./passport-envelope-schema.js";
import {
  NameSchema,
  ReasonTextSchema,
  TimestampSchema,
  VersionSchema,
  WIRE_LIMITS,
} from "./schema-primitives.js";
import { isValidRackName, wireMessageSubject } from "./subjects.js";

/**
 * Why a passport push was sent. `credential`: only a fresh bus credential (its grant changed with the scenario); the
 * Rack reconnects with it.
 *
 * @example
 * PASSPORT_PUSH_KINDS.includes("renewed"); // true
 */
export const PASSPORT_PUSH_KINDS = ["issued", "renewed", "revoked", "status", "credential"] as const;
export type PassportPushKind = (typeof PASSPORT_PUSH_KINDS)[number];

/**
 * The status a push tells a Rack it now has. `removed`: an operator deleted the row; the Rack drops its
 * passport and enrolls again.
 *
 * @example
 * if (push.status === "removed") await forgetPassportAndEnroll();
 */
export const PASSPORT_PUSH_STATUSES = ["pending", "active", "rejected", "revoked", "removed"] as const;
export type PassportPushStatus = (typeof PASSPORT_PUSH_STATUSES)[number];

/**
 * Mixer to Rack on `fluxrig.rack.<name>.passport`. The Rack verifies `passport` against its pinned Cluster Key
 * before acting on it; a push is a hint to ask again, never trust on its own. `bus_credential` (jwt bus mode) is the
 * Rack's new user JWT when its grant changed (adopted, scenario changed).
 *
 * @example
 * encodeMessage({ v: 1, kind: "issued", status: "active", passport, ts: new Date().toISOString() });
 */
export const PassportPushSchema = z.strictObject({
  v: z.literal(1),
  kind: z.enum(PASSPORT_PUSH_KINDS),
  status: z.enum(PASSPORT_PUSH_STATUSES),
  passport: PassportEnvelopeSchema.optional(),
  reason: ReasonTextSchema.optional(),
  bus_credential: BusCredentialSchema.optional(),
  ts: TimestampSchema,
});

/** A decoded passport push. */
export type PassportPush = z.infer<typeof PassportPushSchema>;

const GEAR_TYPE = /^[a-z0-9]([a-z0-9._/-]{0,126}[a-z0-9])?$/;
const GEAR_PORT = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Whether a JSON value holds an own `__proto__` key anywhere (depth is already capped by the decoder). */
function holdsProtoKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === null || typeof item !== "object") continue;
    if (!Array.isArray(item) && Object.hasOwn(item, "__proto__")) return true;
    for (const child of Object.values(item)) stack.push(child);
  }
  return false;
}

/**
 * One gear deployed to the Rack; `config` is free JSON, bounded by the message size and depth caps. `__proto__`
 * keys are refused at any depth, so a gear may merge its config with `Object.assign` safely.
 *
 * @example
 * ScenarioGearSchema.parse({ name: "temp-sensor", type: "mqtt.source", config: { qos: 1 } });
 */
export const ScenarioGearSchema = z.strictObject({
  name: NameSchema,
  type: z.string().max(128).regex(GEAR_TYPE, "expected a gear type like http.source or mqtt/sink"),
  config: z
    .record(z.string().max(128), z.unknown())
    .refine((c) => Object.keys(c).length <= WIRE_LIMITS.gearConfigKeys, "too many config keys")
    .refine((c) => !holdsProtoKey(c), "config must not hold __proto__ keys"),
});

/**
 * One wire touching the Rack: `from`/`to` are `gear.port`, `subject` must be the wire's data subject.
 *
 * @example
 * ScenarioWireSchema.parse({ name: "feed", from: "a.out", to: "b.in", subject: "fluxrig.msg.demo.feed" });
 */
export const ScenarioWireSchema = z.strictObject({
  name: NameSchema,
  from: z.string().max(127).regex(GEAR_PORT, "expected gear.port"),
  to: z.string().max(127).regex(GEAR_PORT, "expected gear.port"),
  subject: z.string().max(160),
});

/**
 * Mixer to Rack on `fluxrig.rack.<name>.scenario`: the gears deployed to that Rack and the wires touching them.
 * Each wire's subject must be `fluxrig.msg.<scenario>.<wire>`, so a push cannot aim a Rack at another subject.
 *
 * @example
 * encodeMessage({ v: 1, scenario: { name: "demo", version: "3" }, gears: [], wires: [], ts });
 */
export const ScenarioPushSchema = z
  .strictObject({
    v: z.literal(1),
    scenario: z.strictObject({ name: NameSchema, version: VersionSchema }),
    gears: z.array(ScenarioGearSchema).max(WIRE_LIMITS.scenarioGears),
    wires: z.array(ScenarioWireSchema).max(WIRE_LIMITS.scenarioWires),
    ts: TimestampSchema,
  })
  .superRefine((push, ctx) => {
    // Zod skips refinements after a field failed, but a refinement must never throw, so check the names anyway.
    if (!isValidRackName(push.scenario.name)) return;
    push.wires.forEach((wire, i) => {
      if (!isValidRackName(wire.name)) return;
      const expected = wireMessageSubject(push.scenario.name, wire.name);
      if (wire.subject !== expected) {
        ctx.addIssue({
          code: "custom",
          path: ["wires", i, "subject"],
          message: `expected ${expected}`,
          input: wire.subject,
        });
      }
    });
  });

/** A decoded scenario push. */
export type ScenarioPush = z.infer<typeof ScenarioPushSchema>;
