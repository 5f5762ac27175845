// The package's two entry points as a user resolves them: `@fluxrig/wire` is what the apps and published users need;
// `@fluxrig/wire/internal` holds the building blocks. A name added to the public entry is a deliberate choice.
import * as wire from "@fluxrig/wire";
import * as internal from "@fluxrig/wire/internal";
import { expect, it } from "vitest";

it("the public entry exports exactly the runtime names apps and users rely on", () => {
  expect(Object.keys(wire).sort()).toMatchInlineSnapshot(`
    [
      "API_TOKEN_ROLES",
      "ActiveScenarioSchema",
      "ApiErrorBodySchema",
      "ApiTokenCreateBodySchema",
      "ApiTokenCreatedSchema",
      "ApiTokenNameSchema",
      "ApiTokenRevokedSchema",
      "ApiTokenRoleSchema",
      "ApiTokenViewSchema",
      "AuditEventPageSchema",
      "AuditVerifyResultSchema",
      "BulkAdoptResultSchema",
      "BusCredentialSchema",
      "ClusterInfoSchema",
      "ENROLLMENT_TOKEN_STATES",
      "EnrollmentTokenCreateBodySchema",
      "EnrollmentTokenCreatedSchema",
      "EnrollmentTokenIdSchema",
      "EnrollmentTokenPatternSchema",
      "EnrollmentTokenRevokedSchema",
      "EnrollmentTokenSecretSchema",
      "EnrollmentTokenViewSchema",
      "EntityIdStringSchema",
      "GEAR_CONFIG_SCHEMAS",
      "GEAR_TYPE_NAMES",
      "HEARTBEAT_STATUSES",
      "HeartbeatSchema",
      "HelloRequestSchema",
      "INBOX_PREFIXES",
      "NameConflictViewSchema",
      "PUSH_WILDCARDS",
      "PassportEnvelopeSchema",
      "PublicKeySchema",
      "RACK_NAME_PATTERN",
      "RACK_STATUSES",
      "RackPageSchema",
      "RackRemovedSchema",
      "RackReplacedSchema",
      "RackStatsSchema",
      "RackStatusSchema",
      "RackViewSchema",
      "SUBJECTS",
      "ScenarioImportResultSchema",
      "ScenarioSummarySchema",
      "WIRE_ERROR_CODES",
      "WIRE_ERROR_CODE_LIST",
      "WIRE_ERROR_HTTP_STATUS",
      "WireDecodeError",
      "WireEncodeError",
      "WireError",
      "WireSubjectError",
      "checkGearConfig",
      "decodeHeartbeat",
      "decodeHeartbeatValue",
      "decodeHelloReply",
      "decodeHelloRequest",
      "decodePassportPush",
      "decodeScenarioPush",
      "encodeMessage",
      "heartbeatSubject",
      "helloSignatureInput",
      "inboxWildcard",
      "isGearTypeName",
      "isTimestampFresh",
      "isValidRackName",
      "isWireErrorCode",
      "looksLikeEntityId",
      "parseBoundedJson",
      "parseHeartbeatSubject",
      "rackInboxPrefix",
      "rackPassportSubject",
      "rackScenarioSubject",
      "signHello",
      "verifyHelloSignature",
      "verifyHelloSignatureInput",
      "wireMessageSubject",
    ]
  `);
});

it("no name is exported by both entries", () => {
  const both = Object.keys(internal).filter((name) => name in wire);
  expect(both).toEqual([]);
  expect(Object.keys(internal)).toContain("WIRE_LIMITS");
});
