// How the audit log looks: one row per decision, oldest first.
import type { AuditEvent } from "../api-types.js";
import { type Column, renderTable } from "../columns.js";
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

/** The `events` columns; `follow` gives them least widths, as rows of a followed stream are rendered one by one. */
function eventColumns(c: Colors, now: Date, follow: boolean): Column<AuditEvent>[] {
  const w = (width: number) => (follow ? { minWidth: width } : {});
  return [
    { header: "SEQ", value: (e) => String(e.seq), align: "right", ...w(6) },
    { header: "AT", value: (e) => formatTimestamp(e.at, now), ...w(32) },
    { header: "RACK", value: (e) => e.name ?? "-", ...w(16) },
    { header: "EVENT", value: (e) => eventWhat(e), ...w(30) },
    { header: "CAUSE", value: (e) => e.cause, ...w(10) },
    { header: "ACTOR", value: (e) => e.actor, ...w(12) },
    { header: "DETAILS", value: (e) => c.dim(detailsText(e.details)) },
  ];
}

/** The `events` table. */
export function eventTable(events: readonly AuditEvent[], c: Colors, now: Date): string {
  return renderTable(events, eventColumns(c, now, false), c.dim);
}

/** `events --follow`: the table's header line, printed once. */
export function eventFollowHeader(c: Colors): string {
  return renderTable([], eventColumns(c, new Date(0), true), c.dim);
}

/** `events --follow`: one event as a row of the `events` table, aligned with {@link eventFollowHeader}. */
export function eventFollowRow(event: AuditEvent, c: Colors, now: Date): string {
  return renderTable([event], eventColumns(c, now, true)).split("\n")[1] ?? "";
}
