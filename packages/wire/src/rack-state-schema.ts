// What a Rack must run, as the Mixer keeps it for the Rack to read in cluster mode (docs/cluster.md, "Racks watch their
// own state"): one signed value per Rack under its own key of the `fluxrig_rack_state` KV bucket.
import { z } from "zod";
import { BusCredentialSchema } from "./bus-credential-schema.js";
import { PassportEnvelopeSchema } from "./passport-envelope-schema.js";
import { ScenarioPushSchema } from "./push-schemas.js";
import { NameSchema, TimestampSchema } from "./schema-primitives.js";

/**
 * One Rack's state: the passport it was last pushed, its bus credential (its grant follows its scenario's wires), and
 * the scenario push it must run; each absent until the Mixer pushed one (all absent once the Rack was rejected,
 * revoked or removed). `version` grows by one with every write of the key, so a Rack never goes back to an older value.
 * The Mixer signs the encoded bytes with the Cluster Key, as it signs pushes.
 *
 * @example
 * encodeMessage({ v: 1, name: "rack-1", version: 3, ts, scenario: push });
 */
export const RackStateSchema = z.strictObject({
  v: z.literal(1),
  name: NameSchema,
  version: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  ts: TimestampSchema,
  passport: PassportEnvelopeSchema.optional(),
  bus_credential: BusCredentialSchema.optional(),
  scenario: ScenarioPushSchema.optional(),
});

/** A decoded Rack state. */
export type RackState = z.infer<typeof RackStateSchema>;

/** A state's encoded bytes are at most this long: a scenario push at its cap with a passport and a credential. */
export const RACK_STATE_MAX_BYTES = 160 * 1024;

/**
 * A Rack state as stored under its key: the Mixer's KV layer keeps every value as `{"w": writer, "n": nonce, "v": ...}`
 * (the Rack reads only `v`): the state's bytes in base64url and the Cluster Key's signature over them, in the form of
 * the `Fluxrig-Sig` header of pushes.
 *
 * @example
 * RackStateRecordSchema.parse({ w: "mixer-a", n: "abc", v: { data: "eyJ2Ijox...", signature: "ed25519:...;..." } });
 */
export const RackStateRecordSchema = z.object({
  v: z.strictObject({
    data: z
      .string()
      .max(Math.ceil((RACK_STATE_MAX_BYTES * 4) / 3))
      .regex(/^[A-Za-z0-9_-]*$/, "expected base64url"),
    signature: z.string().max(512),
  }),
});

/** A decoded Rack state record. */
export type RackStateRecord = z.infer<typeof RackStateRecordSchema>;
