// Times as operators read them: "12s ago", "in 3h", next to a compact absolute UTC time.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A span in its largest whole unit: "45s", "12m", "3h", "9d". */
export function formatSpan(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < MINUTE) return `${Math.floor(abs / SECOND)}s`;
  if (abs < HOUR) return `${Math.floor(abs / MINUTE)}m`;
  if (abs < DAY) return `${Math.floor(abs / HOUR)}h`;
  return `${Math.floor(abs / DAY)}d`;
}

function toDate(at: Date | string): Date | null {
  const d = typeof at === "string" ? new Date(at) : at;
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * How far `at` is from `now`: "just now" within a second, "12s ago" in the past, "in 3h" in the future;
 * "never" for null. An unparsable string comes back as it is.
 *
 * @example
 * formatRelative("2025-06-01T12:00:00Z", new Date("2025-06-01T12:00:12Z")); // "12s ago"
 */
export function formatRelative(at: Date | string | null, now: Date): string {
  if (at === null) return "never";
  const d = toDate(at);
  if (d === null) return String(at);
  const diff = d.getTime() - now.getTime();
  if (Math.abs(diff) < SECOND) return "just now";
  return diff < 0 ? `${formatSpan(diff)} ago` : `in ${formatSpan(diff)}`;
}

/**
 * An absolute UTC time to the second with its relative form: "2025-06-01T12:00:00Z (12s ago)".
 *
 * @example
 * formatTimestamp("2025-06-01T12:00:00.000Z", now); // "2025-06-01T12:00:00Z (12s ago)"
 */
export function formatTimestamp(at: Date | string | null, now: Date): string {
  if (at === null) return "never";
  const d = toDate(at);
  if (d === null) return String(at);
  return `${d.toISOString().replace(/\.\d{3}Z$/, "Z")} (${formatRelative(d, now)})`;
}
