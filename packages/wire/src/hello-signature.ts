// The one definition of the bytes a hello signature covers, and signing and verifying them with the Rack's key.
import type { KeyObject } from "node:crypto";
import { publicKeyFromBase64url, signBytes, verifyBytes } from "@fluxrig/passport";
import type { HelloRequest } from "./hello-schemas.js";
import { jcsCanonicalJson } from "./jcs-canonical-json.js";
import { isCanonicalBase64url } from "./schema-primitives.js";

const utf8 = new TextEncoder();
const ED25519_SIGNATURE_BYTES = 64;
const ED25519_PUBLIC_KEY_BYTES = 32;

/**
 * The exact bytes a hello signature covers: UTF-8 of the canonical JSON (keys sorted recursively, no
 * whitespace) of every field but `sig`. A `sig` present on the argument is ignored, so a received request can
 * be passed as it is. Throws `WireEncodeError` for values with no JSON form.
 *
 * @example
 * const bytes = helloSigningBytes(received); // what the Rack signed
 */
export function helloSigningBytes(req: Omit<HelloRequest, "sig">): Uint8Array {
  const { sig: _ignored, ...signed } = req as Omit<HelloRequest, "sig"> & { sig?: unknown };
  return utf8.encode(jcsCanonicalJson(signed));
}

/**
 * Signs a hello with the Rack's private key and returns it with `sig` set. The key must be the one whose public
 * half is `req.public_key`, or the Mixer will refuse the hello as `bad_signature`.
 *
 * @example
 * const req = signHello({ v: 1, name: "rack-1", public_key, version: "1.0.0", attributes, nonce, ts }, privateKey);
 */
export function signHello(req: Omit<HelloRequest, "sig">, privateKey: KeyObject): HelloRequest {
  const sig = signBytes(privateKey, helloSigningBytes(req)).toString("base64url");
  const { sig: _old, ...unsigned } = req as Omit<HelloRequest, "sig"> & { sig?: unknown };
  return { ...unsigned, sig };
}

/** The inputs of a hello's Ed25519 check, once its cheap structural checks have passed. */
export interface HelloSignatureInput {
  /** The Rack's raw 32-byte public key as canonical base64url (a JWK `x`). */
  publicKey: string;
  /** `helloSigningBytes(req)`. */
  message: Uint8Array;
  /** The 64 signature bytes. */
  signature: Uint8Array;
}

/**
 * Everything needed to check `req.sig`, or undefined when the request cannot carry a valid signature at all (a sig
 * or key that is not canonical base64url of the right length, a value with no JSON form). Lets a caller run the
 * Ed25519 check elsewhere (e.g. a worker thread) with exactly the rules of {@link verifyHelloSignature}.
 *
 * @example
 * const input = helloSignatureInput(req);
 * const ok = input !== undefined && (await pool.verify(input));
 */
export function helloSignatureInput(req: HelloRequest): HelloSignatureInput | undefined {
  try {
    if (typeof req.sig !== "string" || !isCanonicalBase64url(req.sig)) return undefined;
    if (typeof req.public_key !== "string" || !isCanonicalBase64url(req.public_key)) return undefined;
    const signature = Buffer.from(req.sig, "base64url");
    if (signature.length !== ED25519_SIGNATURE_BYTES) return undefined;
    if (Buffer.from(req.public_key, "base64url").length !== ED25519_PUBLIC_KEY_BYTES) return undefined;
    return { publicKey: req.public_key, message: helloSigningBytes(req), signature };
  } catch {
    return undefined;
  }
}

/**
 * Whether `req.sig` is a valid signature by `req.public_key` over `helloSigningBytes(req)`. Never throws: a bad
 * key, a bad signature text or a value with no JSON form is `false`. Proof of possession only; freshness
 * (`isTimestampFresh`) and nonce reuse are the caller's checks.
 *
 * @example
 * if (!verifyHelloSignature(req)) return refuse("bad_signature");
 */
export function verifyHelloSignature(req: HelloRequest): boolean {
  const input = helloSignatureInput(req);
  return input !== undefined && verifyHelloSignatureInput(input);
}

/** The Ed25519 check of {@link helloSignatureInput}'s result, in this thread. Never throws. */
export function verifyHelloSignatureInput(input: HelloSignatureInput): boolean {
  try {
    return verifyBytes(publicKeyFromBase64url(input.publicKey), input.message, input.signature);
  } catch {
    return false;
  }
}
