// Subjects that bus permissions name (SPEC §11): reply inbox prefixes (each Rack's under its own name, the Mixer's and
// the bootstrap user's under names no Rack can take) and the wildcards over every Rack's pushes.
import { isValidRackName } from "./subjects.js";
import { WireSubjectError } from "./wire-error.js";

const INBOX_ROOT = "_INBOX";

/**
 * Inbox prefixes that are not a Rack's: the Mixer's own, and the one shared by Racks that hold only the bootstrap
 * credential (before their first user JWT). `_` is not allowed in a Rack name, so no Rack's prefix can equal them.
 *
 * @example
 * connect({ inboxPrefix: INBOX_PREFIXES.mixer }); // requests reply on "_INBOX._mixer.<nuid>..."
 */
export const INBOX_PREFIXES = {
  mixer: `${INBOX_ROOT}._mixer`,
  bootstrap: `${INBOX_ROOT}._bootstrap`,
} as const;

/**
 * A Rack's own inbox prefix, for nats.js `inboxPrefix`: `_INBOX.<name>`.
 *
 * @example
 * rackInboxPrefix("rack-nyc-01"); // "_INBOX.rack-nyc-01"
 */
export function rackInboxPrefix(name: string): string {
  const value: unknown = name;
  if (!isValidRackName(value)) {
    const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 80)) : typeof value;
    throw new WireSubjectError({ field: "name", value, message: `name ${shown} is not a Rack name` });
  }
  return `${INBOX_ROOT}.${value}`;
}

/**
 * Every subject under an inbox prefix: what a subscribe permission for those replies names.
 *
 * @example
 * inboxWildcard(rackInboxPrefix("rack-1")); // "_INBOX.rack-1.>"
 */
export function inboxWildcard(prefix: string): string {
  return `${prefix}.>`;
}

/**
 * Wildcards over every Rack's pushes, for the one user allowed to publish them (the Mixer).
 *
 * @example
 * PUSH_WILDCARDS.passport; // "fluxrig.rack.*.passport", matches rackPassportSubject(name) for every name
 */
export const PUSH_WILDCARDS = {
  scenario: "fluxrig.rack.*.scenario",
  passport: "fluxrig.rack.*.passport",
} as const;
