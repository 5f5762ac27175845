// Public API of @fluxrig/wire: what the apps and published users need. NATS subjects, the messages and their safe
// decoders, hello signing, error classes and codes, the built-in gear types' config schemas, and the REST API's
// bodies (zod schemas and their types). Building blocks (schema primitives, limits, the canonical JSON, the unused
// message schemas) are in `@fluxrig/wire/internal`, with no stability promise.

export {
  type ActiveScenario,
  ActiveScenarioSchema,
  API_TOKEN_ROLES,
  type ApiErrorBody,
  ApiErrorBodySchema,
  type ApiTokenCreateBody,
  ApiTokenCreateBodySchema,
  type ApiTokenCreated,
  ApiTokenCreatedSchema,
  ApiTokenNameSchema,
  type ApiTokenRevoked,
  ApiTokenRevokedSchema,
  type ApiTokenRole,
  ApiTokenRoleSchema,
  type ApiTokenView,
  ApiTokenViewSchema,
  type AuditEventPage,
  AuditEventPageSchema,
  type AuditEventView,
  type AuditVerifyResult,
  AuditVerifyResultSchema,
  type BulkAdoptResult,
  BulkAdoptResultSchema,
  type ClusterInfo,
  ClusterInfoSchema,
  ENROLLMENT_TOKEN_STATES,
  type EnrollmentTokenCreateBody,
  EnrollmentTokenCreateBodySchema,
  type EnrollmentTokenCreated,
  EnrollmentTokenCreatedSchema,
  EnrollmentTokenIdSchema,
  EnrollmentTokenPatternSchema,
  type EnrollmentTokenRevoked,
  EnrollmentTokenRevokedSchema,
  type EnrollmentTokenView,
  EnrollmentTokenViewSchema,
  type ExpectedKeyBody,
  ExpectedKeyBodySchema,
  type ExpectedKeyView,
  ExpectedKeyViewSchema,
  type GearHealthView,
  type MemoryView,
  type NameConflictView,
  NameConflictViewSchema,
  type RackPage,
  RackPageSchema,
  type RackRemoved,
  RackRemovedSchema,
  type RackReplaced,
  RackReplacedSchema,
  type RackStatus,
  RackStatusSchema,
  type RackView,
  RackViewSchema,
  type ScenarioActivation,
  ScenarioActivationSchema,
  type ScenarioHistory,
  ScenarioHistorySchema,
  type ScenarioImportResult,
  ScenarioImportResultSchema,
  type ScenarioIssueView,
  type ScenarioPlan,
  type ScenarioPlanRack,
  ScenarioPlanRackSchema,
  ScenarioPlanSchema,
  type ScenarioSummary,
  ScenarioSummarySchema,
} from "./api-bodies.js";
export { type DecodeOptions, type DecodeResult, parseBoundedJson } from "./bounded-json.js";
export { type BusCredential, BusCredentialSchema } from "./bus-credential-schema.js";
export { INBOX_PREFIXES, inboxWildcard, PUSH_WILDCARDS, rackInboxPrefix } from "./bus-subjects.js";
export {
  decodeHeartbeat,
  decodeHeartbeatValue,
  decodeHelloReply,
  decodeHelloRequest,
  decodePassportPush,
  decodeRackState,
  decodeRackStateRecord,
  decodeScenarioPush,
} from "./decoders.js";
export { encodeMessage } from "./encode-message.js";
export {
  checkGearConfig,
  GEAR_CONFIG_SCHEMAS,
  GEAR_TYPE_NAMES,
  type GearConfig,
  type GearConfigCheck,
  type GearConfigIssue,
  type GearTypeName,
  isGearTypeName,
} from "./gear-types.js";
export {
  type GearHealth,
  type GearState,
  HEARTBEAT_STATUSES,
  type Heartbeat,
  HeartbeatSchema,
  type HeartbeatStatus,
  type RackStats,
  RackStatsSchema,
} from "./heartbeat-schema.js";
export {
  EnrollmentTokenSecretSchema,
  type HelloReply,
  type HelloRequest,
  HelloRequestSchema,
  type RackAttributes,
  type SealedHelloReply,
  SealedHelloReplySchema,
} from "./hello-schemas.js";
export {
  type HelloSignatureInput,
  helloSignatureInput,
  signHello,
  verifyHelloSignature,
  verifyHelloSignatureInput,
} from "./hello-signature.js";
export { PassportEnvelopeSchema } from "./passport-envelope-schema.js";
export type { PassportPush, PassportPushStatus, ScenarioPush } from "./push-schemas.js";
export {
  RACK_STATE_MAX_BYTES,
  type RackState,
  type RackStateRecord,
  RackStateSchema,
} from "./rack-state-schema.js";
export { RACK_STATUSES } from "./rack-statuses.js";
export { type ScenarioGearChanges, scenarioGearChanges, scenarioGearKey } from "./scenario-gear-diff.js";
export { EntityIdStringSchema, PublicKeySchema } from "./schema-primitives.js";
export { openSealedHelloReply } from "./sealed-hello-reply.js";
export {
  heartbeatSubject,
  isHeartbeatSubjectOf,
  isValidRackName,
  looksLikeEntityId,
  parseHeartbeatSubject,
  RACK_NAME_PATTERN,
  RACK_STATE_BUCKET,
  rackPassportSubject,
  rackScenarioSubject,
  rackStateDirectGetSubject,
  rackStateSubject,
  SUBJECTS,
  wireMessageSubject,
} from "./subjects.js";
export { isTimestampFresh } from "./timestamps.js";
export {
  WireDecodeError,
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
} from "./wire-error-codes.js";
