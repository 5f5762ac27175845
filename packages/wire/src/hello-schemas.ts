// Schemas of the hello request (enrollment and session recovery) and its reply, SPEC §5.
import { z } from "zod";
import { BusCredentialSchema } from "./bus-credential-schema.js";
import { PassportEnvelopeSchema } from "./passport-envelope-schema.js";
import {
  base64urlSchema,
  EntityIdStringSchema,
  KeyIdSchema,
  NameSchema,
  NonceSchema,
  PublicKeySchema,
  ReasonTextSchema,
  SignatureSchema,
  TimestampSchema,
  VersionSchema,
  WIRE_LIMITS,
} from "./schema-primitives.js";
import { WIRE_ERROR_CODE_LIST } from "./wire-error-codes.js";

/**
 * An enrollment token's secret as a Rack presents it: `fet_`, a 12-hex id, `_`, and 43 base64url characters.
 *
 * @example
 * EnrollmentTokenSecretSchema.parse("fet_0123456789ab_" + "A".repeat(43));
 */
export const EnrollmentTokenSecretSchema = z
  .string()
  .regex(
    /^fet_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/,
    "expected an enrollment token like fet_<12 hex>_<43 base64url>",
  );

const ATTRIBUTE_KEY = /^[a-z][a-z0-9_]{0,63}$/;

/** Extra attributes beyond the named ones: short scalars or short lists of strings. */
const AttributeValueSchema = z.union([
  z.string().max(WIRE_LIMITS.attributeValueChars),
  z.number(),
  z.boolean(),
  // Lists are allowed so the named `mac` list and the catch-all agree in TypeScript's index signature.
  z.array(z.string().max(WIRE_LIMITS.attributeValueChars)).max(WIRE_LIMITS.macAddresses),
]);

const AttributesObjectSchema = z
  .object({
    hostname: z.string().min(1).max(WIRE_LIMITS.hostnameChars),
    os: z.string().min(1).max(WIRE_LIMITS.shortTextChars),
    arch: z.string().min(1).max(WIRE_LIMITS.shortTextChars),
    mac: z
      .array(
        z
          .string()
          .regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5,7}$/, "expected a lowercase MAC like 02:42:ac:11:00:02"),
      )
      .max(WIRE_LIMITS.macAddresses)
      .optional(),
    /**
     * The Rack's own IP addresses (non-internal, not link-local), as it sees them: what the Mixer shows as the
     * hello's source, labelled as reported by the Rack. A claim the bus does not check. At most 16.
     */
    addresses: z
      .array(
        z
          .string()
          .min(2)
          .max(45)
          .regex(/^[0-9a-f:.]+$/, "expected an IP address like 10.0.0.5 or fd00::5 (no zone id)"),
      )
      .max(16)
      .optional(),
  })
  .catchall(AttributeValueSchema);

/**
 * What a Rack reports about its host: hostname, os, arch, MACs where known, its IP addresses, and more short scalars or string
 * lists under snake_case keys (32 keys in all). Keys are checked on the raw input, so `__proto__` and friends
 * are refused rather than silently dropped.
 *
 * @example
 * RackAttributesSchema.parse({ hostname: "edge-1", os: "linux", arch: "arm64", cpus: 4 });
 */
export const RackAttributesSchema = z.preprocess((input, ctx) => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input;
  const keys = Object.keys(input);
  if (keys.length > WIRE_LIMITS.attributeKeys) {
    ctx.addIssue({ code: "custom", message: `at most ${WIRE_LIMITS.attributeKeys} attributes`, input });
  }
  for (const key of keys) {
    if (!ATTRIBUTE_KEY.test(key)) {
      ctx.addIssue({
        code: "custom",
        message: `attribute key ${JSON.stringify(key.slice(0, 70))} is not snake_case`,
        input,
      });
    }
  }
  return input;
}, AttributesObjectSchema);

/** A Rack's host attributes. */
export type RackAttributes = z.infer<typeof RackAttributesSchema>;

/**
 * Rack to Mixer on `fluxrig.agent.hello`. `sig` is the Rack key's Ed25519 signature over `helloSigningBytes`.
 *
 * @example
 * const req = signHello({ v: 1, name, public_key, version, attributes, nonce, ts }, keys.privateKey);
 */
export const HelloRequestSchema = z.strictObject({
  v: z.literal(1),
  name: NameSchema,
  public_key: PublicKeySchema,
  version: VersionSchema,
  attributes: RackAttributesSchema,
  nonce: NonceSchema,
  ts: TimestampSchema,
  passport: PassportEnvelopeSchema.optional(),
  /**
   * An enrollment token (`[rack] enrollment_token`, issue 16): asks the Mixer to adopt this Rack at once when the
   * token allows its name. Inside the signed bytes like every field. Optional: a Mixer older than this field refuses a
   * hello that carries it (the schema is strict), so upgrade the Mixer first.
   */
  enrollment_token: EnrollmentTokenSecretSchema.optional(),
  /**
   * A fresh X25519 public key (32 bytes, base64url) for this hello only, sent on the shared bootstrap inbox: the Mixer
   * answers with the full reply sealed to it (`sealed`), so only this Rack can read it and no second hello is needed.
   * Bound to the Rack's key by `sig`. Optional: a Mixer older than this field refuses a hello that carries it (the
   * schema is strict), so upgrade the Mixer first; a Rack that sends none gets the minimal reply and says hello again.
   */
  reply_key: PublicKeySchema.optional(),
  sig: SignatureSchema,
});

/** A decoded hello request. */
export type HelloRequest = z.infer<typeof HelloRequestSchema>;

/**
 * The statuses a hello reply can carry; `refused` means the request itself was refused (see `error`).
 *
 * @example
 * if (reply.status === "refused") handle(reply.error);
 */
export const HELLO_REPLY_STATUSES = ["pending", "active", "rejected", "revoked", "refused"] as const;
export type HelloReplyStatus = (typeof HELLO_REPLY_STATUSES)[number];

/**
 * A code from the closed table and a message for people.
 *
 * @example
 * WireErrorBodySchema.parse({ code: "stale", message: "timestamp outside 120 s" });
 */
export const WireErrorBodySchema = z.strictObject({
  code: z.enum(WIRE_ERROR_CODE_LIST),
  message: ReasonTextSchema,
});

/** `{ code, message }`, the error shape of NATS replies and REST bodies alike. */
export type WireErrorBody = z.infer<typeof WireErrorBodySchema>;

/**
 * Heartbeat intervals a Mixer may ask for: 100 ms to 1 hour.
 *
 * @example
 * Math.min(Math.max(ms, HEARTBEAT_INTERVAL_BOUNDS.minMs), HEARTBEAT_INTERVAL_BOUNDS.maxMs);
 */
export const HEARTBEAT_INTERVAL_BOUNDS = { minMs: 100, maxMs: 3_600_000 } as const;

/**
 * A full hello reply sealed to the hello's `reply_key` (`@fluxrig/passport` `sealReply`: X25519, HKDF-SHA-256,
 * AES-256-GCM): the Mixer's ephemeral key, the IV, and the ciphertext with its tag, all base64url. Its plaintext is a
 * {@link HelloReply} without `sealed`.
 *
 * @example
 * SealedHelloReplySchema.parse(sealReply({ recipient: req.reply_key, plaintext, context: sealContext(req.public_key) }));
 */
export const SealedHelloReplySchema = z.strictObject({
  epk: PublicKeySchema,
  iv: base64urlSchema({ minBytes: 12, maxBytes: 12 }),
  ct: base64urlSchema({ minBytes: 16, maxBytes: 48 * 1024 }),
});

/** A sealed box of a hello reply. */
export type SealedHelloReply = z.infer<typeof SealedHelloReplySchema>;

/**
 * Mixer to Rack, the reply to a hello. `entity_id` and `machine_id` once allocated; `passport` when active;
 * `error` when refused; `bus_credential` in `jwt` bus mode, for every status but rejected, revoked and refused. On the
 * bootstrap path (the reply inbox is `_INBOX._bootstrap.`, readable by every bootstrap holder) the Mixer sends only
 * the status, the Cluster key, the interval and the credential, and the Rack reconnects as itself and asks again;
 * unless the hello carried `reply_key`: then the full reply travels in `sealed`, and one hello is enough.
 *
 * @example
 * HelloReplySchema.parse({ v: 1, status: "pending", cluster_public_key, cluster_key_id, heartbeat_interval_ms: 5000 });
 */
export const HelloReplySchema = z.strictObject({
  v: z.literal(1),
  status: z.enum(HELLO_REPLY_STATUSES),
  entity_id: EntityIdStringSchema.optional(),
  machine_id: z.int().min(1).max(65535).optional(),
  cluster_public_key: PublicKeySchema,
  cluster_key_id: KeyIdSchema,
  heartbeat_interval_ms: z.int().min(HEARTBEAT_INTERVAL_BOUNDS.minMs).max(HEARTBEAT_INTERVAL_BOUNDS.maxMs),
  passport: PassportEnvelopeSchema.optional(),
  error: WireErrorBodySchema.optional(),
  bus_credential: BusCredentialSchema.optional(),
  /**
   * Only inside a sealed reply (never in clear, so a Rack older than the field never sees it): the scenario the Mixer
   * holds for this active Rack. Its scenario push went out while the Rack was on the bootstrap connection, where it
   * cannot hear it; a Rack that does not hold this version asks for it with a hello as itself.
   */
  scenario: z.strictObject({ name: NameSchema, version: VersionSchema }).optional(),
  /**
   * On the bootstrap path, to a hello that carried `reply_key`: the full reply (passport, entity id, MachineID,
   * credential) sealed to that key. The clear fields are then those of the minimal reply without the credential.
   */
  sealed: SealedHelloReplySchema.optional(),
});

/** A decoded hello reply. */
export type HelloReply = z.infer<typeof HelloReplySchema>;
