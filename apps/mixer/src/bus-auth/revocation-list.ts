// The fleet account's revocation list as a value: revoke a user key, and prune entries no live JWT can match.

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
