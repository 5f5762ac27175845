// Where a hello came from, as operators read it: the addresses the Rack reported in its signed hello, labelled so.
//
// The bus does not tell a subscriber who published a message: nats-server adds the sender's client info (host, user)
// in a `Nats-Request-Info` header only when a message crosses a service import between accounts, and the Mixer and
// its Racks share one account (the open bus today, the fleet account with bus credentials). The reply subject is
// a random inbox that means nothing to an operator. So the Rack reports its own addresses in its hello, signed with
// its key: a claim of the Rack, never checked by the network, and shown as such.
import type { RackAttributes } from "@fluxrig/wire";

/** What the bus tells the Mixer about a hello's sender, beyond the hello itself. */
export interface HelloSource {
  /**
   * The NATS user (nkey) the hello came over. Undefined until the bus has per-Rack credentials (SPEC §11, issue 14,
   * docs/bus-auth.md); then the hello subscription fills it and it is shown next to the reported addresses.
   */
  busUser?: string;
  /**
   * The hello's reply subject. Under `_INBOX._bootstrap.` (a Rack that holds only the shared bootstrap credential)
   * the reply is cut to what every bootstrap holder may read (hello-handler.ts, `minimalReply`).
   */
  replySubject?: string;
}

/** The source text of a hello and the host evidence it reported (its attributes without the addresses). */
export interface HelloEvidence {
  /** e.g. "10.0.0.5, fd00::5 (reported by the Rack)"; null when the Rack reported none and the bus user is unknown. */
  source: string | null;
  /** What the registry keeps as the Rack's attributes: addresses change (DHCP), so they are not among them. */
  attributes: Record<string, unknown>;
}

/**
 * Splits a verified hello's attributes into its source text and the host evidence kept in the registry.
 *
 * @example
 * helloEvidence({ hostname: "edge-1", os: "linux", arch: "x64", addresses: ["10.0.0.5"] }, {})
 * // { source: "10.0.0.5 (reported by the Rack)", attributes: { hostname: "edge-1", os: "linux", arch: "x64" } }
 */
export function helloEvidence(reported: RackAttributes, from: HelloSource): HelloEvidence {
  const { addresses, ...attributes } = reported;
  const parts: string[] = [];
  if (addresses !== undefined && addresses.length > 0)
    parts.push(`${addresses.join(", ")} (reported by the Rack)`);
  if (from.busUser !== undefined) parts.push(`bus user ${from.busUser}`);
  return { source: parts.length > 0 ? parts.join("; ") : null, attributes };
}
