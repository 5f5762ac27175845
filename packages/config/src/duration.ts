// Durations in config files: "500ms", "10s", "5m", "2h", "7d"; parsed to milliseconds.
import { z } from "zod";

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration string to milliseconds, or returns undefined when it is not one.
 * @example parseDuration("90s") // 90000
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

/** Formats milliseconds back into the largest exact unit, for docs and logs. */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * A zod schema for a duration key: accepts "10s"-style strings and yields milliseconds.
 * The default is given as text and parsed like a file value (zod's own `.default()` would skip parsing).
 * @example z.object({ ttl: duration({ min: 1000, default: "24h" }) })
 */
export function duration(opts: { min?: number; max?: number; default?: string } = {}) {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = opts;
  const schema = z
    .string({ error: 'expected a duration such as "500ms", "10s", "5m", "2h" or "7d"' })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: "custom", message: `expected a duration such as "10s" or "5m", got "${text}"` });
        return z.NEVER;
      }
      if (ms < min || ms > max) {
        ctx.addIssue({
          code: "custom",
          message: `expected a duration between ${formatDuration(min)} and ${formatDuration(max)}, got "${text}"`,
        });
        return z.NEVER;
      }
      return ms;
    });
  return opts.default === undefined ? schema : schema.prefault(opts.default);
}
