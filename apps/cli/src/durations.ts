// Parsing durations ("500ms", "10s", "2h") for --timeout and times ("10m" ago, or ISO 8601) for --since.

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/;
// A date first: keeps "10m" and friends from ever reaching Date.parse, which accepts odd strings.
const ISO_LIKE = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?(Z|[+-]\d{2}(:?\d{2})?)?$/i;

/** Why a duration or time could not be read; the message says what was expected. */
export class DurationSyntaxError extends Error {
  override readonly name = "DurationSyntaxError";
}

/**
 * A duration in milliseconds. `defaultUnit` is used for a bare number; without it a bare number is refused,
 * since "10" could mean seconds or minutes.
 *
 * @example
 * parseDuration("2h"); // 7_200_000
 * parseDuration("30", { defaultUnit: "s" }); // 30_000
 */
export function parseDuration(text: string, opts: { defaultUnit?: keyof typeof UNIT_MS } = {}): number {
  const m = DURATION.exec(text.trim());
  const unit = m?.[2] ?? opts.defaultUnit;
  if (!m || unit === undefined) {
    throw new DurationSyntaxError(
      `expected a duration such as 500ms, 10s, 5m, 2h, 1d or 1w${opts.defaultUnit ? ` (a bare number is in ${opts.defaultUnit})` : ""}, got ${JSON.stringify(text)}`,
    );
  }
  const ms = Number(m[1]) * (UNIT_MS[unit] ?? Number.NaN);
  if (!Number.isFinite(ms)) throw new DurationSyntaxError(`duration ${JSON.stringify(text)} is too large`);
  return Math.round(ms);
}

/**
 * The start of a time window: a duration back from `now` ("10m", "2h", "1d") or an ISO 8601 time
 * ("2025-06-01", "2025-06-01T12:00:00+02:00"; without an offset it is UTC).
 *
 * @example
 * parseSince("10m", new Date("2025-06-01T12:00:00Z")).toISOString(); // "2025-06-01T11:50:00.000Z"
 */
export function parseSince(text: string, now: Date): Date {
  const trimmed = text.trim();
  const iso = ISO_LIKE.exec(trimmed);
  if (iso) {
    // Without an offset the time is UTC, like every time the API shows; never the local zone of the operator's laptop.
    const normalized = trimmed.replace(" ", "T") + (iso[1] !== undefined && iso[2] === undefined ? "Z" : "");
    const d = new Date(normalized);
    if (!Number.isNaN(d.getTime())) return d;
    throw new DurationSyntaxError(`${JSON.stringify(text)} is not a valid date`);
  }
  let ms: number;
  try {
    ms = parseDuration(trimmed);
  } catch {
    throw new DurationSyntaxError(
      `expected a time such as 10m, 2h, 1d (that long ago) or an ISO 8601 time such as 2025-06-01T12:00:00Z, got ${JSON.stringify(text)}`,
    );
  }
  return new Date(now.getTime() - ms);
}

/**
 * A duration as it would be typed: "500ms", "10s", "2m", "1.5s".
 *
 * @example
 * formatDuration(10_000); // "10s"
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Number((ms / 1000).toFixed(3))}s`;
}
