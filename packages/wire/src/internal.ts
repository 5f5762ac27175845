// @fluxrig/wire/internal: the building blocks behind the public API (schema primitives, limits, canonical JSON, the
// message schemas no app validates with directly). For the workspace's own tools and tests; no stability promise.

export { DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_MESSAGE_BYTES, jsonNestsDeeperThan } from "./bounded-json.js";
export { type DecodeWithOptions, decodeWith } from "./decoders.js";
export { GEAR_STATES, GearHealthSchema, SessionIdSchema } from "./heartbeat-schema.js";
export {
  HEARTBEAT_INTERVAL_BOUNDS,
  HELLO_REPLY_STATUSES,
  HelloReplySchema,
  type HelloReplyStatus,
  RackAttributesSchema,
  type WireErrorBody,
  WireErrorBodySchema,
} from "./hello-schemas.js";
export { helloSigningBytes } from "./hello-signature.js";
export { jcsCanonicalJson } from "./jcs-canonical-json.js";
export type { WirePassportEnvelope } from "./passport-envelope-schema.js";
export {
  PASSPORT_PUSH_KINDS,
  PASSPORT_PUSH_STATUSES,
  type PassportPushKind,
  PassportPushSchema,
  ScenarioGearSchema,
  ScenarioPushSchema,
  ScenarioWireSchema,
} from "./push-schemas.js";
export {
  base64urlSchema,
  CountSchema,
  GaugeSchema,
  isCanonicalBase64url,
  KeyIdSchema,
  NameSchema,
  NonceSchema,
  ReasonTextSchema,
  SignatureSchema,
  TimestampSchema,
  VersionSchema,
  WIRE_LIMITS,
} from "./schema-primitives.js";
export { parseRackSubject, type RackSubjectKind } from "./subjects.js";
export { DEFAULT_FRESHNESS_WINDOW_MS, parseTimestamp } from "./timestamps.js";
export type { WireDecodeErrorOptions } from "./wire-error.js";
export type { WireErrorHttpStatus } from "./wire-error-codes.js";
