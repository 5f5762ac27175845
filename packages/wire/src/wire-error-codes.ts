// The closed table of error codes that cross the wire (NATS replies and REST bodies), with their HTTP statuses.

/**
 * Every error code a peer may see. Keys equal values so `WIRE_ERROR_CODES.name_taken` reads like the wire.
 *
 * @example
 * reply({ status: "refused", error: { code: WIRE_ERROR_CODES.name_taken, message: "name is taken" } });
 */
export const WIRE_ERROR_CODES = {
  /** Not JSON, not UTF-8, or nested too deep. */
  malformed: "malformed",
  /** Over the size cap; refused before parsing. */
  too_large: "too_large",
  /** Valid JSON that fails the message's schema. */
  schema: "schema",
  /** A request that is not valid for reasons other than its schema, e.g. a bad `{ref}` or query. */
  bad_request: "bad_request",
  /** The hello signature does not verify with the key it names. */
  bad_signature: "bad_signature",
  /** The hello timestamp is outside the freshness window. */
  stale: "stale",
  /** The hello nonce was seen before within the window. */
  replay: "replay",
  /** Another key holds this Rack name. */
  name_taken: "name_taken",
  /** The Rack name reads as an entity id (all digits, or `0x` and hex), which would make refs ambiguous. */
  name_reserved: "name_reserved",
  /** An operator rejected this Rack. */
  rejected: "rejected",
  /** This Rack's passport was revoked. */
  revoked: "revoked",
  /** No MachineID is free. */
  registry_full: "registry_full",
  /** Too many Racks await adoption. */
  too_many_pending: "too_many_pending",
  /** The Rack (name or entity id) is not in the registry. */
  unknown_rack: "unknown_rack",
  /** A presented passport failed verification (tampered, foreign, expired, for another key). */
  passport_invalid: "passport_invalid",
  not_found: "not_found",
  conflict: "conflict",
  unauthorized: "unauthorized",
  forbidden: "forbidden",
  /** The caller is sending too fast. */
  rate_limited: "rate_limited",
  /** A lifecycle change that the current status does not allow (e.g. adopting a rejected Rack). */
  invalid_transition: "invalid_transition",
  internal: "internal",
  unavailable: "unavailable",
} as const;

/** One wire error code, e.g. `"name_taken"`. */
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[keyof typeof WIRE_ERROR_CODES];

/**
 * All codes as a tuple, for `z.enum` and exhaustive tests.
 *
 * @example
 * WIRE_ERROR_CODE_LIST.includes("stale"); // true
 */
export const WIRE_ERROR_CODE_LIST = Object.freeze(Object.values(WIRE_ERROR_CODES)) as readonly [
  WireErrorCode,
  ...WireErrorCode[],
];

/**
 * The default HTTP status of each code, so the REST API maps codes to responses in one place.
 *
 * @example
 * c.json({ error: { code, message } }, WIRE_ERROR_HTTP_STATUS[code]);
 */
export const WIRE_ERROR_HTTP_STATUS = {
  malformed: 400,
  too_large: 413,
  schema: 400,
  bad_request: 400,
  bad_signature: 401,
  stale: 401,
  replay: 401,
  name_taken: 409,
  name_reserved: 400,
  rejected: 403,
  revoked: 403,
  registry_full: 503,
  too_many_pending: 429,
  unknown_rack: 404,
  passport_invalid: 401,
  not_found: 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  invalid_transition: 409,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<WireErrorCode, number>;

/** The HTTP statuses the table uses. */
export type WireErrorHttpStatus = (typeof WIRE_ERROR_HTTP_STATUS)[WireErrorCode];

const codeSet: ReadonlySet<string> = new Set(WIRE_ERROR_CODE_LIST);

/**
 * Whether a value is a known wire error code (for mapping replies back by code).
 *
 * @example
 * isWireErrorCode(reply.error?.code); // true for "stale"
 */
export function isWireErrorCode(value: unknown): value is WireErrorCode {
  return typeof value === "string" && codeSet.has(value);
}
