// Opening a sealed hello reply (issue 14): the full reply inside `sealed`, opened with the hello's reply key and
// checked against the clear fields it travelled with. One place for the Rack and the test kit's scripted Rack.
import { openReply, PassportError, type ReplyKey, sealContext } from "@fluxrig/passport";
import { decodeHelloReply } from "./decoders.js";
import type { HelloReply } from "./hello-schemas.js";
import { WireDecodeError } from "./wire-error.js";

/**
 * The full reply inside `reply.sealed` (the reply itself when it is not sealed). Check the outer reply's Cluster Key
 * signature first: it covers the sealed bytes. Throws WireDecodeError (kind `hello_reply`): `malformed` when the box
 * does not open with `key` (another Rack's box, or altered), `schema` when what it holds is not a hello reply or
 * disagrees with the clear fields (status, Cluster key).
 *
 * @example
 * const full = openSealedHelloReply(reply, replyKey, publicKeyToBase64url(keys.publicKey));
 */
export function openSealedHelloReply(reply: HelloReply, key: ReplyKey, rackPublicKey: string): HelloReply {
  const box = reply.sealed;
  if (box === undefined) return reply;
  let bytes: Uint8Array;
  try {
    bytes = openReply({ key, box, context: sealContext(rackPublicKey) });
  } catch (cause) {
    if (!(cause instanceof PassportError)) throw cause;
    throw new WireDecodeError({ reason: "malformed", kind: "hello_reply", message: cause.message, cause });
  }
  const decoded = decodeHelloReply(bytes);
  if (!decoded.ok) throw decoded.error;
  const full = decoded.value;
  if (
    full.sealed !== undefined ||
    full.status !== reply.status ||
    full.cluster_public_key !== reply.cluster_public_key ||
    full.cluster_key_id !== reply.cluster_key_id
  ) {
    throw new WireDecodeError({
      reason: "schema",
      kind: "hello_reply",
      message: "sealed hello reply disagrees with its clear fields (status or Cluster key)",
    });
  }
  return full;
}
