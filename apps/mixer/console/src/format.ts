// Pure formatting of what the API answers, for people: times, sizes, counts, statuses.

/** Every Rack status, in the order the console offers them. */
export const STATUSES = ["pending", "active", "offline", "rejected", "revoked"] as const;

/** `5 s ago`, `3 min ago`, `2 h ago`, `4 d ago`; `in 3 h` for the future; `never` for null. */
export function relativeTime(iso: string | null | undefined, nowMs: number): string {
  if (iso === null || iso === undefined) return "never";
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "unknown";
  const diff = Math.round((nowMs - at) / 1000);
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 60) text = `${abs} s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)} min`;
  else if (abs < 86_400) text = `${Math.floor(abs / 3600)} h`;
  else text = `${Math.floor(abs / 86_400)} d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** An ISO time as `2025-06-01 12:00:01 UTC` (unambiguous for operators in different zones). */
export function absoluteTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return "never";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "unknown";
  return `${at.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** `512 B`, `1.5 KiB`, `48.2 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} ${units[0]}` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `1 Rack`, `10000 Racks` (no thousands separator, so the text is the same in every locale). */
export function countRacks(n: number): string {
  return `${n} ${n === 1 ? "Rack" : "Racks"}`;
}

/** The gear health of a Rack's stats in words: `3 running`, `2 running, 1 failed`, or `no gears`. */
export function gearSummary(stats: Record<string, unknown> | null | undefined): string {
  const gears = stats?.gears as { running?: number; failed?: number; restarts?: number } | undefined;
  if (gears === undefined) return "no gears";
  const parts = [`${gears.running ?? 0} running`];
  if ((gears.failed ?? 0) > 0) parts.push(`${gears.failed} failed`);
  return parts.join(", ");
}

/** Whether a Rack's gears need a look: any failed or restarting. */
export function gearsUnhealthy(stats: Record<string, unknown> | null | undefined): boolean {
  const gears = stats?.gears as { failed?: number } | undefined;
  return (gears?.failed ?? 0) > 0;
}

/** A list of names for a sentence: `a`, `a and b`, `a, b and c`, `a, b, c and 7 more`. */
export function nameList(names: readonly string[], shown = 3): string {
  if (names.length === 0) return "nothing";
  if (names.length === 1) return names[0]!;
  if (names.length <= shown) return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  return `${names.slice(0, shown).join(", ")} and ${names.length - shown} more`;
}

/** A plural noun with its count: `1 Rack`, `2 Racks`. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** What an audit event says, in one line: `pending → active (operator, by alice)`. */
/**
 * The audit kinds whose `name` is a Rack's name (the registry's `AuditKind` owns the kinds; a test in
 * apps/mixer/src/api/console-routes.test.ts checks each one here exists there). Other events name a scenario, a Mixer
 * node or a token, so only these link to a Rack page; a kind added later shows unlinked until it is listed here.
 */
export const RACK_EVENT_KINDS: ReadonlySet<string> = new Set([
  "rack_enrolled",
  "status_changed",
  "rack_deleted",
  "passport_issued",
  "attributes_recorded",
  "bus_key_revoked",
  "enrollment_token_used",
  "enrollment_token_refused",
  "key_expected",
  "key_expectation_removed",
]);

/** Whether an event's name is a Rack's (and so links to its page). */
export function namesRack(event: {
  kind: string;
  name: string | null;
}): event is { kind: string; name: string } {
  return event.name !== null && RACK_EVENT_KINDS.has(event.kind);
}

export function describeEvent(event: {
  kind: string;
  from_status: string | null;
  to_status: string | null;
  cause: string;
  actor: string;
}): string {
  const change =
    event.from_status !== null || event.to_status !== null
      ? `${event.from_status ?? "∅"} → ${event.to_status ?? "∅"}`
      : event.kind.replaceAll("_", " ");
  return `${change} (${event.cause}, by ${event.actor})`;
}
