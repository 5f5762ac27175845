// Safe decoders: size cap, depth cap, JSON, then the message's schema; each answers a DecodeResult and never throws.
import { z } from "zod";
import {
  type DecodeOptions,
  type DecodeResult,
  parseBoundedJson,
  parseBoundedValue,
} from "./bounded-json.js";
import { type Heartbeat, HeartbeatSchema } from "./heartbeat-schema.js";
import { type HelloReply, HelloReplySchema, type HelloRequest, HelloRequestSchema } from "./hello-schemas.js";
import {
  type PassportPush,
  PassportPushSchema,
  type ScenarioPush,
  ScenarioPushSchema,
} from "./push-schemas.js";
import {
  RACK_STATE_MAX_BYTES,
  type RackState,
  type RackStateRecord,
  RackStateRecordSchema,
  RackStateSchema,
} from "./rack-state-schema.js";
import { WireDecodeError, type WireIssue, type WireMessageKind } from "./wire-error.js";

/** Issues kept on an error: enough to fix a sender, small enough to log and send back. */
const MAX_ISSUES = 10;

function toIssues(error: z.ZodError): WireIssue[] {
  return error.issues.slice(0, MAX_ISSUES).map((issue) => ({
    path: issue.path.map((p) => (typeof p === "symbol" ? String(p) : p)),
    message: issue.message.slice(0, 300),
  }));
}

function describe(kind: WireMessageKind, issues: readonly WireIssue[], total: number): string {
  const first = issues[0];
  if (first === undefined) return `${kind}: does not match its schema`;
  const where = first.path.length > 0 ? first.path.join(".") : "(message)";
  const more = total > 1 ? ` (and ${total - 1} more)` : "";
  return `${kind}: ${where}: ${first.message}${more}`;
}

/** Caps for one decode call, and the message kind to name in errors. */
export interface DecodeWithOptions extends DecodeOptions {
  /** Named in error messages; default `"message"`. */
  kind?: WireMessageKind;
}

function schemaError(kind: WireMessageKind, error: z.ZodError): WireDecodeError {
  const issues = toIssues(error);
  const message = describe(kind, issues, error.issues.length);
  return new WireDecodeError({ reason: "schema", kind, message, issues, cause: error });
}

function unexpected(kind: WireMessageKind, cause: unknown): WireDecodeError {
  // Nothing should throw on the way; if a schema bug does, the caller still gets an answer, not an exception.
  const message = `${kind}: could not be decoded`;
  return new WireDecodeError({ reason: "malformed", kind, message, cause });
}

/**
 * Decodes one message with any schema: size cap, depth cap, UTF-8, JSON, then `schema.safeParse` (so transforms
 * and defaults apply). Never throws.
 *
 * @example
 * const r = decodeWith(MyAppSchema, msg.data, { maxBytes: 4096 });
 */
export function decodeWith<S extends z.ZodType>(
  schema: S,
  data: Uint8Array | string,
  options?: DecodeWithOptions,
): DecodeResult<z.output<S>> {
  const kind = options?.kind ?? "message";
  try {
    const json = parseBoundedJson(data, kind, options);
    if (!json.ok) return json;
    const parsed = schema.safeParse(json.value);
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, error: schemaError(kind, parsed.error) };
  } catch (cause) {
    return { ok: false, error: unexpected(kind, cause) };
  }
}

/**
 * A decoder for one of this package's message schemas. They have no transforms or defaults, so a valid input is
 * its own output: the schema, compiled on first use with `z.compile` (generated code, about ten times faster
 * than interpreted zod), only validates, and zod's copy of the message is skipped. The interpreted schema runs
 * only for a message that fails, to describe the issues. A property test checks both paths agree.
 *
 * It answers the message or a WireDecodeError, with no result object around it (see `parseBoundedValue`);
 * `publicDecoder` makes the DecodeResult of the public decoders.
 */
function messageDecoder<S extends z.ZodType>(kind: WireMessageKind, schema: S) {
  let compiled: S | undefined;
  return (data: Uint8Array | string, options: DecodeOptions | undefined): z.output<S> | WireDecodeError => {
    try {
      const value = parseBoundedValue(data, kind, options);
      if (value instanceof WireDecodeError) return value;
      compiled ??= z.compile(schema);
      if (compiled.validate(value)) return value as z.output<S>;
      const parsed = schema.safeParse(value);
      return parsed.success ? parsed.data : schemaError(kind, parsed.error);
    } catch (cause) {
      return unexpected(kind, cause);
    }
  };
}

/** A public decoder: bytes or text in, the message or a typed error out as a DecodeResult. */
export type Decoder<T> = (data: Uint8Array | string, options?: DecodeOptions) => DecodeResult<T>;

/** The public form of a message decoder: its answer wrapped in a DecodeResult. */
function publicDecoder<T>(
  decode: (data: Uint8Array | string, options?: DecodeOptions) => T | WireDecodeError,
): Decoder<T> {
  return (data, options) => {
    const value = decode(data, options);
    return value instanceof WireDecodeError ? { ok: false, error: value } : { ok: true, value };
  };
}

const helloRequestDecoder = messageDecoder("hello_request", HelloRequestSchema);
const helloReplyDecoder = messageDecoder("hello_reply", HelloReplySchema);
const heartbeatDecoder = messageDecoder("heartbeat", HeartbeatSchema);
const passportPushDecoder = messageDecoder("passport_push", PassportPushSchema);
const scenarioPushDecoder = messageDecoder("scenario_push", ScenarioPushSchema);
const rackStateDecoder = messageDecoder("rack_state", RackStateSchema);
const rackStateRecordDecoder = messageDecoder("rack_state", RackStateRecordSchema);

/**
 * Decodes a hello request (does not check its signature: see `verifyHelloSignature`).
 *
 * @example
 * const r = decodeHelloRequest(msg.data); if (!r.ok) return msg.respond(encodeMessage(refusal(r.error)));
 */
export const decodeHelloRequest: Decoder<HelloRequest> = publicDecoder(helloRequestDecoder);

/**
 * Decodes a hello reply.
 *
 * @example
 * const r = decodeHelloReply((await nc.request(SUBJECTS.hello, body)).data);
 */
export const decodeHelloReply: Decoder<HelloReply> = publicDecoder(helloReplyDecoder);

/**
 * Decodes a heartbeat.
 *
 * @example
 * const r = decodeHeartbeat(msg.data); if (r.ok) presence.seen(r.value);
 */
export const decodeHeartbeat: Decoder<Heartbeat> = publicDecoder(heartbeatDecoder);

/**
 * Decodes a heartbeat for a hot path: the heartbeat itself, or a WireDecodeError, with no result object made around
 * it (see `parseBoundedValue` for why that matters at fleet rates). Same checks as `decodeHeartbeat`.
 *
 * @example
 * const hb = decodeHeartbeatValue(msg.data); if (hb instanceof WireDecodeError) count(hb.reason); else seen(hb);
 */
export function decodeHeartbeatValue(
  data: Uint8Array | string,
  options?: DecodeOptions,
): Heartbeat | WireDecodeError {
  return heartbeatDecoder(data, options);
}

/**
 * Decodes a passport push.
 *
 * @example
 * const r = decodePassportPush(msg.data);
 */
export const decodePassportPush: Decoder<PassportPush> = publicDecoder(passportPushDecoder);

/**
 * Decodes a scenario push.
 *
 * @example
 * const r = decodeScenarioPush(msg.data); if (r.ok) runtime.replace(r.value);
 */
export const decodeScenarioPush: Decoder<ScenarioPush> = publicDecoder(scenarioPushDecoder);

/**
 * Decodes a Rack state's bytes (what the Cluster Key signed), up to {@link RACK_STATE_MAX_BYTES} unless told otherwise.
 *
 * @example
 * const r = decodeRackState(bytes); if (r.ok && r.value.version > held) apply(r.value);
 */
export const decodeRackState: Decoder<RackState> = publicDecoder((data, options) =>
  rackStateDecoder(data, { maxBytes: RACK_STATE_MAX_BYTES, ...options }),
);

/**
 * Decodes a Rack state as stored in its KV key or published on its KV subject (the writer's envelope around it).
 *
 * @example
 * const r = decodeRackStateRecord(msg.data); if (r.ok) verify(r.value.v.data, r.value.v.signature);
 */
export const decodeRackStateRecord: Decoder<RackStateRecord> = publicDecoder((data, options) =>
  rackStateRecordDecoder(data, { maxBytes: 2 * RACK_STATE_MAX_BYTES + 4096, ...options }),
);
