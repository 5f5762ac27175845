// The JWTs above the users: the operator (self-signed), the system and fleet accounts it signs, and the fleet's
// revocation list as a value (revoke a user key, prune entries no live JWT can match).
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
 * JetStream is on for cluster mode's KV bucket. `revocations` is the current list ({@link revokeUser}, {@link pruneRevocations}).
 *
 * @example
 * pushAccountJwt(sysConnection, { jwt: fleetAccountJwt(keys, { revocations, nowSeconds }), operator: keys.operator.nkey });
 */
export function fleetAccountJwt(
  keys: BusKeys,
  opts: { revocations: RevocationList; nowSeconds: number },
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

/** User nkey to unix seconds: nats-server refuses that user's JWTs issued at or before the time. */
export type RevocationList = Readonly<Record<string, number>>;

/**
 * The list with `user` revoked as of `nowSeconds`. A later revocation of the same key keeps the later time, so a
 * JWT issued between the two is void too.
 *
 * @example
 * const next = revokeUser(list, { user: oldRackNkey, nowSeconds });
 */
export function revokeUser(list: RevocationList, opts: { user: string; nowSeconds: number }): RevocationList {
  const previous = list[opts.user] ?? 0;
  return { ...list, [opts.user]: Math.max(previous, opts.nowSeconds) };
}

/**
 * Drops entries older than the longest user JWT lifetime: every JWT such an entry could void has expired anyway,
 * so the account JWT (which every server holds and re-reads on each push) does not grow without end.
 *
 * @example
 * pruneRevocations(list, { nowSeconds, maxUserTtlSeconds: 7 * 86_400 });
 */
export function pruneRevocations(
  list: RevocationList,
  opts: { nowSeconds: number; maxUserTtlSeconds: number },
): RevocationList {
  const horizon = opts.nowSeconds - opts.maxUserTtlSeconds;
  return Object.fromEntries(Object.entries(list).filter(([, at]) => at >= horizon));
}
