// The Rack status machine (SPEC §4): which status may follow which, and nothing else.

import { RACK_STATUSES, type RackStatus } from "@fluxrig/wire";

// The statuses are part of the REST API's bodies, declared in @fluxrig/wire; the transitions are the registry's.
export { RACK_STATUSES, type RackStatus };

/**
 * Allowed changes. Presence only moves active <-> offline, so a pending Rack that goes silent stays pending
 * (pending_ttl deletes it); `rejected` is final (only `rm` removes it); a revoked Rack comes back only by an
 * operator's adoption.
 */
const NEXT: Readonly<Record<RackStatus, readonly RackStatus[]>> = {
  pending: ["active", "rejected"],
  active: ["offline", "revoked"],
  offline: ["active", "revoked"],
  revoked: ["active"],
  rejected: [],
};

/**
 * Whether `from -> to` is a real, allowed change (a same-status "change" is not one; callers treat it as a no-op).
 *
 * @example
 * isLegalTransition("pending", "active"); // true
 * isLegalTransition("pending", "offline"); // false
 */
export function isLegalTransition(from: RackStatus, to: RackStatus): boolean {
  return NEXT[from].includes(to);
}

export function isRackStatus(value: unknown): value is RackStatus {
  return typeof value === "string" && (RACK_STATUSES as readonly string[]).includes(value);
}

/** Statuses a Rack may be created with: pending, or active when adoption is automatic. */
export type InitialRackStatus = Extract<RackStatus, "pending" | "active">;
