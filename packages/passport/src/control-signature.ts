// Signed control messages (SPEC §11): hello replies and pushes carry an Ed25519 signature by the Cluster Key over their
// exact bytes, in a NATS header, so a Rack can tell the Mixer's words from anyone else's on the bus.
import { type KeyObject, sign, verify } from "node:crypto";
import { ControlSignatureError } from "./errors.js";
import { keyId, publicKeyFromBase64url } from "./keys.js";

/**
 * The NATS header that carries the signature: `<key id> <base64url signature>`, e.g.
 * `ed25519:YGJikLzJOtxHQH86 3q2-7w...`. The key id names the Cluster Key so a Rack can say which key signed.
 */
export const CONTROL_SIGNATURE_HEADER = "Fluxrig-Sig";

/**
 * The header value for a control message's exact bytes, signed by the Cluster Key.
 *
 * @example
 * headers.set(CONTROL_SIGNATURE_HEADER, signControlMessage(clusterKey.privateKey, clusterKey.kid, bytes));
 */
export function signControlMessage(privateKey: KeyObject, kid: string, bytes: Uint8Array): string {
  return `${kid} ${sign(null, bytes, privateKey).toString("base64url")}`;
}

/**
 * Checks a control message's header value against the pinned Cluster public key. Throws ControlSignatureError
 * (`missing`, `malformed`, `wrong_key` or `invalid`) unless the bytes are exactly what that key signed.
 *
 * @example
 * verifyControlMessage({ publicKey: pin, bytes: msg.data, header: msg.headers?.get(CONTROL_SIGNATURE_HEADER) });
 */
export function verifyControlMessage(opts: {
  publicKey: KeyObject | string;
  bytes: Uint8Array;
  header: string | undefined | null;
}): void {
  const { header } = opts;
  if (header === undefined || header === null || header === "")
    throw new ControlSignatureError({ reason: "missing", message: `no ${CONTROL_SIGNATURE_HEADER} header` });
  const space = header.indexOf(" ");
  const kid = header.slice(0, space);
  const sigText = header.slice(space + 1);
  if (space <= 0 || !/^[A-Za-z0-9_-]{86}$/.test(sigText))
    throw new ControlSignatureError({
      reason: "malformed",
      message: `${CONTROL_SIGNATURE_HEADER} is not "<kid> <sig>"`,
    });
  const publicKey = typeof opts.publicKey === "string" ? publicKeyOf(opts.publicKey) : opts.publicKey;
  const expected = keyId(publicKey);
  if (kid !== expected)
    throw new ControlSignatureError({
      reason: "wrong_key",
      message: `signed by ${kid.slice(0, 64)}, expected the pinned ${expected}`,
    });
  if (!verify(null, opts.bytes, publicKey, Buffer.from(sigText, "base64url")))
    throw new ControlSignatureError({ reason: "invalid", message: "signature does not match the message" });
}

// A Rack checks every control message against the same pinned key: keep its KeyObject rather than decode it each time.
const keyCache = new Map<string, KeyObject>();
function publicKeyOf(b64: string): KeyObject {
  let key = keyCache.get(b64);
  if (key === undefined) {
    key = publicKeyFromBase64url(b64);
    if (keyCache.size >= 16) keyCache.clear();
    keyCache.set(b64, key);
  }
  return key;
}
