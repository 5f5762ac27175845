// Migration 3: the bus revocation list (SPEC §11) is registry state, written with the status change that causes it.

/**
 * One row per Rack key revoked on the bus: reject, revoke, replace (the old key) and removal. nats-server refuses
 * every user JWT of `public_key` issued at or before `revoked_at` (to the second). Rows older than the longest
 * credential lifetime are pruned: every JWT they could void has expired. See docs/registry-schema.md.
 */
export const busRevocationsMigration = {
  version: 3,
  name: "bus-revocations",
  statements: [
    `CREATE TABLE bus_revocations (
      public_key TEXT PRIMARY KEY,
      revoked_at TIMESTAMP NOT NULL,
      name TEXT NOT NULL,
      cause TEXT NOT NULL
    )`,
  ],
};
