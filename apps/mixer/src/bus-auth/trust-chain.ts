// The JWTs above the users: the operator (self-signed) and the system and fleet accounts it signs, from the key store.
import { issueAccountJwt, issueOperatorJwt } from "./issue-jwt.js";
import type { BusKeys } from "./key-store.js";

/** Names written into the JWTs; what `nats` tools and the server log show. */
export const TRUST_NAMES = { operator: "fluxrig", system: "SYS", fleet: "fleet" } as const;

/**
 * The operator JWT (`operator:` in nats-server's config). It changes only if the keys do, so servers keep it
 * as configured.
 *
 * @example
 * natsResolverConfig({ operatorJwt: operatorJwt(keys, nowSeconds), ... });
 */
export function operatorJwt(keys: BusKeys, nowSeconds: number): string {
  return issueOperatorJwt({
    operator: keys.operator,
    name: TRUST_NAMES.operator,
    systemAccount: keys.system.nkey,
    nowSeconds,
  });
}

/**
 * The system account JWT: no JetStream (nats-server refuses it for the system account), no signing keys, since
 * the Mixer alone holds the system account key and issues its own user there.
 */
export function systemAccountJwt(keys: BusKeys, nowSeconds: number): string {
  return issueAccountJwt({
    operator: keys.operator,
    account: keys.system.nkey,
    name: TRUST_NAMES.system,
    jetstream: false,
    nowSeconds,
  });
}

/**
 * The fleet account JWT: every Rack, the bootstrap user and the Mixer live here. Users are signed by the
 * signing key, never by the account key, so the signing key can be rotated without changing the account's identity.
 * JetStream is on for cluster mode's KV bucket. `revocations` is the current list (see revocation-list.ts).
 *
 * @example
 * pushAccountJwt(sysConnection, { jwt: fleetAccountJwt(keys, { revocations, nowSeconds }), operator: keys.operator.nkey });
 */
export function fleetAccountJwt(
  keys: BusKeys,
  opts: { revocations: Readonly<Record<string, number>>; nowSeconds: number },
): string {
  return issueAccountJwt({
    operator: keys.operator,
    account: keys.fleet.nkey,
    name: TRUST_NAMES.fleet,
    jetstream: true,
    signingKeys: [keys.fleetSigning.nkey],
    revocations: opts.revocations,
    nowSeconds: opts.nowSeconds,
  });
}
