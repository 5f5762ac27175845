// How the audit log looks: one row per decision, oldest first.
import type { AuditEvent } from "../api-types.js";
import { renderTable } from "../columns.js";
import type { Colors } from "../output.js";
import { formatTimestamp } from "../relative-time.js";

function detailsText(details: Record<string, unknown> | null): string {
  if (details === null) return "";
  return Object.entries(details)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

/**
 * The kind and the status move: "status pending -> active", "rack_enrolled -> pending", or just the kind.
 *
 * @example
 * eventWhat({ kind: "rack_enrolled", from_status: null, to_status: "pending" }); // "rack_enrolled -> pending"
 */
export function eventWhat(e: Pick<AuditEvent, "kind" | "from_status" | "to_status">): string {
  if (e.to_status === null) return e.from_status === null ? e.kind : `${e.kind} ${e.from_status} ->`;
  return `${e.kind} ${e.from_status === null ? "" : `${e.from_status} `}-> ${e.to_status}`;
}

/** The `events` table. */
export function eventTable(events: readonly AuditEvent[], c: Colors, now: Date): string {
  return renderTable(
    events,
    [
      { header: "SEQ", value: (e) => String(e.seq), align: "right" },
      { header: "AT", value: (e) => formatTimestamp(e.at, now) },
      { header: "RACK", value: (e) => e.name ?? "-" },
      { header: "EVENT", value: (e) => eventWhat(e) },
      { header: "CAUSE", value: (e) => e.cause },
      { header: "ACTOR", value: (e) => e.actor },
      { header: "DETAILS", value: (e) => c.dim(detailsText(e.details)) },
    ],
    c.dim,
  );
}
