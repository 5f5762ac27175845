// The hello request/reply: a fresh nonce and timestamp, signed by the Rack's key, the reply decoded by schema.
import { randomBytes } from "node:crypto";
import type { Ed25519KeyPair, PassportEnvelope, ReplyKey } from "@fluxrig/passport";
import { publicKeyToBase64url } from "@fluxrig/passport";
import {
  decodeHelloReply,
  encodeMessage,
  type HelloReply,
  type HelloRequest,
  openSealedHelloReply,
  type RackAttributes,
  SUBJECTS,
  signHello,
  WireDecodeError,
} from "@fluxrig/wire";
import { HelloFailedError } from "../rack-error.js";

/** A reply as it came off the bus: its exact bytes and its Cluster Key signature header, if any. */
export interface RawReply {
  data: Uint8Array;
  signature: string | undefined;
}

/** Sends a request and resolves with the reply (a NATS request in production). */
export type RequestFn = (subject: string, data: Uint8Array, timeoutMs: number) => Promise<RawReply>;

/** A decoded hello reply with the bytes and signature it came with, for the signature gate. */
export interface HelloAnswer extends RawReply {
  reply: HelloReply;
}

/** Options of {@link sendHello}. */
export interface SendHelloOptions {
  name: string;
  version: string;
  keys: Ed25519KeyPair;
  attributes: RackAttributes;
  request: RequestFn;
  timeoutMs: number;
  now: Date;
  /** The current passport, for session recovery and renewal. */
  passport?: PassportEnvelope | undefined;
  /** `[rack] enrollment_token`: sent only while there is no passport (an adopted Rack has no use for it). */
  enrollmentToken?: string | undefined;
  /**
   * On the bootstrap connection: this hello's X25519 key (`reply_key`), so the Mixer seals the full reply to it and
   * no second hello is needed (see {@link openSealedReply}).
   */
  replyKey?: ReplyKey | undefined;
}

/**
 * Builds the signed hello: 16 fresh random bytes of nonce, the current time, the passport when there is one.
 * @example const req = buildHello({ name, version, keys, attributes, now: new Date() });
 */
export function buildHello(opts: Omit<SendHelloOptions, "request" | "timeoutMs">): HelloRequest {
  const unsigned: Omit<HelloRequest, "sig"> = {
    v: 1,
    name: opts.name,
    public_key: publicKeyToBase64url(opts.keys.publicKey),
    version: opts.version,
    attributes: opts.attributes,
    nonce: randomBytes(16).toString("base64url"),
    ts: opts.now.toISOString(),
    ...(opts.passport !== undefined ? { passport: opts.passport } : {}),
    ...(opts.passport === undefined && opts.enrollmentToken !== undefined
      ? { enrollment_token: opts.enrollmentToken }
      : {}),
    ...(opts.replyKey !== undefined ? { reply_key: opts.replyKey.publicKey } : {}),
  };
  return signHello(unsigned, opts.keys.privateKey);
}

/**
 * Sends a hello and decodes the reply (its signature is the caller's to check). Throws HelloFailedError with code `transport` (no Mixer, timeout,
 * NATS down) or `decode` (the reply fails its schema); a `refused` reply is returned, not thrown.
 */
export async function sendHello(opts: SendHelloOptions): Promise<HelloAnswer> {
  const req = buildHello(opts);
  let raw: RawReply;
  try {
    raw = await opts.request(SUBJECTS.hello, encodeMessage(req), opts.timeoutMs);
  } catch (cause) {
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    throw new HelloFailedError({ code: "transport", message: `no hello reply (${why})`, cause });
  }
  const decoded = decodeHelloReply(raw.data);
  if (!decoded.ok) {
    throw new HelloFailedError({
      code: "decode",
      message: `undecodable hello reply: ${decoded.error.message}`,
      cause: decoded.error,
    });
  }
  return { reply: decoded.value, ...raw };
}

/**
 * The full reply inside a sealed one (`reply.sealed`), opened with the hello's reply key (`openSealedHelloReply`).
 * Call it only after the outer reply's Cluster Key signature was accepted: the signature covers the sealed bytes.
 * Throws HelloFailedError (`decode`) when the box does not open with this key (another Rack's, or altered), does not
 * decode, or disagrees with the clear fields.
 *
 * @example
 * const full = reply.sealed ? openSealedReply(reply, replyKey, publicKey) : reply;
 */
export function openSealedReply(reply: HelloReply, key: ReplyKey, rackPublicKey: string): HelloReply {
  try {
    return openSealedHelloReply(reply, key, rackPublicKey);
  } catch (cause) {
    if (!(cause instanceof WireDecodeError)) throw cause;
    throw new HelloFailedError({
      code: "decode",
      message: `sealed hello reply refused: ${cause.message}`,
      cause,
    });
  }
}
