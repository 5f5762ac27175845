// Timestamp freshness: how the Mixer refuses replayed or badly skewed hellos (SPEC §5).
import { TimestampSchema } from "./schema-primitives.js";

/**
 * How far a hello's `ts` may be from the Mixer's clock, either way: 120 s. Wide enough for ordinary clock skew
 * on edge hosts, narrow enough that the nonce cache only has to remember two minutes of hellos.
 *
 * @example
 * isTimestampFresh(req.ts, Date.now(), DEFAULT_FRESHNESS_WINDOW_MS);
 */
export const DEFAULT_FRESHNESS_WINDOW_MS = 120_000;

/**
 * Milliseconds since the epoch of a timestamp `TimestampSchema` accepts (ISO-8601 with seconds and a zone),
 * or `undefined`.
 *
 * @example
 * parseTimestamp("1970-01-01T00:00:01Z"); // 1000
 */
export function parseTimestamp(ts: unknown): number | undefined {
  // The schema, not Date.parse, decides validity: Date.parse rolls "02-30" over into March.
  const valid = TimestampSchema.safeParse(ts);
  if (!valid.success) return undefined;
  const ms = Date.parse(valid.data);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Whether `ts` is within `windowMs` of `now` (past or future). Unparsable timestamps are never fresh.
 *
 * @example
 * if (!isTimestampFresh(req.ts, clock.now())) return refuse("stale");
 */
export function isTimestampFresh(
  ts: string,
  now: number | Date,
  windowMs: number = DEFAULT_FRESHNESS_WINDOW_MS,
): boolean {
  const at = parseTimestamp(ts);
  const nowMs = typeof now === "number" ? now : now.getTime();
  if (at === undefined || !Number.isFinite(nowMs) || !(windowMs >= 0)) return false;
  return Math.abs(nowMs - at) <= windowMs;
}
