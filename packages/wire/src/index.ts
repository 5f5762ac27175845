// Public API of @fluxrig/wire: NATS subjects, message schemas, hello signing bytes, safe decoders, error codes, and
// the REST API's bodies.

export type {
  ActiveScenario,
  ApiErrorBody,
  AuditEventPage,
  AuditEventView,
  AuditVerifyResult,
  BulkAdoptResult,
  ClusterInfo,
  MemoryView,
  NameConflictView,
  RackPage,
  RackRemoved,
  RackReplaced,
  RackStatus,
  RackView,
  ScenarioImportResult,
  ScenarioIssueView,
  ScenarioSummary,
} from "./api-bodies.js";
export { RACK_STATUSES } from "./api-bodies.js";
export {
  DEFAULT_MAX_JSON_DEPTH,
  DEFAULT_MAX_MESSAGE_BYTES,
  type DecodeOptions,
  type DecodeResult,
  parseBoundedJson,
} from "./bounded-json.js";
export { INBOX_PREFIXES, inboxWildcard, PUSH_WILDCARDS, rackInboxPrefix } from "./bus-subjects.js";
export { canonicalJson } from "./canonical-json.js";
export {
  type DecodeWithOptions,
  decodeHeartbeat,
  decodeHeartbeatValue,
  decodeHelloReply,
  decodeHelloRequest,
  decodePassportPush,
  decodeScenarioPush,
  decodeWith,
} from "./decoders.js";
export { encodeMessage } from "./encode-message.js";
export {
  HEARTBEAT_STATUSES,
  type Heartbeat,
  HeartbeatSchema,
  type HeartbeatStatus,
  type RackStats,
  RackStatsSchema,
  SessionIdSchema,
} from "./heartbeat-schema.js";
export {
  HEARTBEAT_INTERVAL_BOUNDS,
  HELLO_REPLY_STATUSES,
  type HelloReply,
  HelloReplySchema,
  type HelloReplyStatus,
  type HelloRequest,
  HelloRequestSchema,
  type RackAttributes,
  RackAttributesSchema,
  type WireErrorBody,
  WireErrorBodySchema,
} from "./hello-schemas.js";
export {
  type HelloSignatureInput,
  helloSignatureInput,
  helloSigningBytes,
  signHello,
  verifyHelloSignature,
  verifyHelloSignatureInput,
} from "./hello-signature.js";
export { PassportEnvelopeSchema, type WirePassportEnvelope } from "./passport-envelope-schema.js";
export {
  PASSPORT_PUSH_KINDS,
  PASSPORT_PUSH_STATUSES,
  type PassportPush,
  type PassportPushKind,
  PassportPushSchema,
  type PassportPushStatus,
  ScenarioGearSchema,
  type ScenarioPush,
  ScenarioPushSchema,
  ScenarioWireSchema,
} from "./push-schemas.js";
export {
  base64urlSchema,
  CountSchema,
  EntityIdStringSchema,
  GaugeSchema,
  isCanonicalBase64url,
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
export {
  heartbeatSubject,
  isValidRackName,
  parseHeartbeatSubject,
  parseRackSubject,
  RACK_NAME_PATTERN,
  type RackSubjectKind,
  rackPassportSubject,
  rackScenarioSubject,
  SUBJECTS,
  wireMessageSubject,
} from "./subjects.js";
export { DEFAULT_FRESHNESS_WINDOW_MS, isTimestampFresh, parseTimestamp } from "./timestamps.js";
export {
  WireDecodeError,
  type WireDecodeErrorOptions,
  type WireDecodeReason,
  WireEncodeError,
  WireError,
  type WireIssue,
  type WireMessageKind,
  WireSubjectError,
} from "./wire-error.js";
export {
  isWireErrorCode,
  WIRE_ERROR_CODE_LIST,
  WIRE_ERROR_CODES,
  WIRE_ERROR_HTTP_STATUS,
  type WireErrorCode,
  type WireErrorHttpStatus,
} from "./wire-error-codes.js";
