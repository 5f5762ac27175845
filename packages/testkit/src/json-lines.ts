// Reading the apps' pino-style JSON log lines: parse what is JSON, skip what is not, match entries by example.
import { isDeepStrictEqual } from "node:util";

/** One parsed JSON log line (pino style: `level`, `time`, `msg`, plus the app's own fields). */
export type LogEntry = Record<string, unknown>;

/**
 * Matches a log entry: a predicate, or an example whose every key must be present and equal in the entry
 * (deep equality; a RegExp value tests a string field).
 */
export type EntryMatcher<T extends LogEntry = LogEntry> =
  | ((entry: T) => boolean)
  | { readonly [key: string]: unknown };

/**
 * Parses a line as a JSON object; anything else (plain text, arrays, broken JSON) gives `undefined`.
 *
 * @example
 * parseLogLine('{"level":30,"msg":"ready"}'); // { level: 30, msg: "ready" }
 * parseLogLine("listening on 8090");         // undefined
 */
export function parseLogLine(line: string): LogEntry | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as LogEntry)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `entry` matches `matcher` (see {@link EntryMatcher}).
 *
 * @example
 * matchesEntry({ msg: "enrolled", name: "rack-1" }, { msg: /enroll/ }); // true
 */
export function matchesEntry<T extends LogEntry>(entry: T, matcher: EntryMatcher<T>): boolean {
  if (typeof matcher === "function") return matcher(entry);
  return Object.entries(matcher).every(([key, expected]) => {
    const actual = entry[key];
    if (expected instanceof RegExp) return typeof actual === "string" && expected.test(actual);
    return isDeepStrictEqual(actual, expected);
  });
}

/** A short rendering of a matcher for error messages. */
export function describeMatcher(matcher: unknown): string {
  if (matcher instanceof RegExp) return String(matcher);
  if (typeof matcher === "function") return `predicate ${matcher.name || "(anonymous)"}`;
  try {
    return JSON.stringify(matcher, (_key, value: unknown) =>
      value instanceof RegExp ? String(value) : value,
    );
  } catch {
    return String(matcher);
  }
}
