// The hello request/reply: a fresh nonce and timestamp, signed by the Rack's key, the reply decoded by schema.
import { randomBytes } from "node:crypto";
import type { Ed25519KeyPair, PassportEnvelope } from "@fluxrig/passport";
import { publicKeyToBase64url } from "@fluxrig/passport";
import {
  decodeHelloReply,
  encodeMessage,
  type HelloReply,
  type HelloRequest,
  type RackAttributes,
  SUBJECTS,
  signHello,
} from "@fluxrig/wire";
import { HelloFailedError } from "../rack-error.js";

/** Sends a request and resolves with the reply's bytes (a NATS request in production). */
export type RequestFn = (subject: string, data: Uint8Array, timeoutMs: number) => Promise<Uint8Array>;

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
  };
  return signHello(unsigned, opts.keys.privateKey);
}

/**
 * Sends a hello and decodes the reply. Throws HelloFailedError with code `transport` (no Mixer, timeout,
 * NATS down) or `decode` (the reply fails its schema); a `refused` reply is returned, not thrown.
 */
export async function sendHello(opts: SendHelloOptions): Promise<HelloReply> {
  const req = buildHello(opts);
  let data: Uint8Array;
  try {
    data = await opts.request(SUBJECTS.hello, encodeMessage(req), opts.timeoutMs);
  } catch (cause) {
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    throw new HelloFailedError({ code: "transport", message: `no hello reply (${why})`, cause });
  }
  const decoded = decodeHelloReply(data);
  if (!decoded.ok) {
    throw new HelloFailedError({
      code: "decode",
      message: `undecodable hello reply: ${decoded.error.message}`,
      cause: decoded.error,
    });
  }
  return decoded.value;
}
