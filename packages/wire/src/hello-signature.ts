// The one definition of the bytes a hello signature covers, and signing and verifying them with the Rack's key.
import type { KeyObject } from "node:crypto";
import { publicKeyFromBase64url, signBytes, verifyBytes } from "@fluxrig/passport";
import { canonicalJson } from "./canonical-json.js";
import type { HelloRequest } from "./hello-schemas.js";
import { isCanonicalBase64url } from "./schema-primitives.js";

const utf8 = new TextEncoder();

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
  return utf8.encode(canonicalJson(signed));
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

/**
 * Whether `req.sig` is a valid signature by `req.public_key` over `helloSigningBytes(req)`. Never throws: a bad
 * key, a bad signature text or a value with no JSON form is `false`. Proof of possession only; freshness
 * (`isTimestampFresh`) and nonce reuse are the caller's checks.
 *
 * @example
 * if (!verifyHelloSignature(req)) return refuse("bad_signature");
 */
export function verifyHelloSignature(req: HelloRequest): boolean {
  try {
    if (typeof req.sig !== "string" || !isCanonicalBase64url(req.sig)) return false;
    const publicKey = publicKeyFromBase64url(req.public_key);
    return verifyBytes(publicKey, helloSigningBytes(req), Buffer.from(req.sig, "base64url"));
  } catch {
    return false;
  }
}
