// A Rack's statuses, apart from the REST bodies' zod schemas so that reading them (the CLI does) pulls in no zod.

/** A Rack's statuses in the registry (SPEC §4): the seed's pending/active/offline plus `rejected` and `revoked`. */
export const RACK_STATUSES = Object.freeze(["pending", "active", "offline", "rejected", "revoked"] as const);
