// Signed control messages (SPEC §11), the Mixer's side: every hello reply and push carries a Cluster Key signature over
// its exact bytes in the `Fluxrig-Sig` header, in both bus modes, so a Rack can drop anything the Mixer did not say.
import { CONTROL_SIGNATURE_HEADER, signControlMessage } from "@fluxrig/passport";
import { headers, type MsgHdrs } from "@nats-io/transport-node";
import type { ClusterKey } from "../runtime/cluster-key.js";

/** Headers for one control message's bytes: what hello replies and pushes are sent with. */
export type ControlSigner = (bytes: Uint8Array) => MsgHdrs;

/**
 * A signer over the Cluster Key: one Ed25519 signature per message (about 50 us with node:crypto; the cost per hello
 * is measured in docs/bus-auth.md). Sign the bytes that are sent and send them unchanged.
 *
 * @example
 * const sign = controlSigner(clusterKey);
 * const bytes = encodeMessage(push);
 * nc.publish(subject, bytes, { headers: sign(bytes) });
 */
export function controlSigner(key: Pick<ClusterKey, "privateKey" | "kid">): ControlSigner {
  return (bytes) => {
    const h = headers();
    h.set(CONTROL_SIGNATURE_HEADER, signControlMessage(key.privateKey, key.kid, bytes));
    return h;
  };
}
