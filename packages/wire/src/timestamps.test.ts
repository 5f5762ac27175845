// Freshness checks for hello timestamps, in both directions and at the edges of the window.
import { describe, expect, it } from "vitest";
import { TimestampSchema } from "./schema-primitives.js";
import { DEFAULT_FRESHNESS_WINDOW_MS, isTimestampFresh, parseTimestamp } from "./timestamps.js";

const NOW = Date.parse("2025-03-14T09:26:53.589Z");
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

describe("isTimestampFresh", () => {
  it("uses a 120 s default window", () => {
    expect(DEFAULT_FRESHNESS_WINDOW_MS).toBe(120_000);
  });

  it.each([
    [0, true],
    [-DEFAULT_FRESHNESS_WINDOW_MS, true],
    [DEFAULT_FRESHNESS_WINDOW_MS, true],
    [-DEFAULT_FRESHNESS_WINDOW_MS - 1, false],
    [DEFAULT_FRESHNESS_WINDOW_MS + 1, false],
    [-3_600_000, false],
    [3_600_000, false],
  ])("offset %i ms is fresh: %s", (offset, fresh) => {
    expect(isTimestampFresh(at(offset), NOW)).toBe(fresh);
    expect(isTimestampFresh(at(offset), new Date(NOW))).toBe(fresh);
  });

  it("honours a custom window", () => {
    expect(isTimestampFresh(at(5_000), NOW, 10_000)).toBe(true);
    expect(isTimestampFresh(at(5_000), NOW, 1_000)).toBe(false);
  });

  it("reads zone offsets", () => {
    // 11:26:53.589+02:00 is the same instant as NOW.
    expect(isTimestampFresh("2025-03-14T11:26:53.589+02:00", NOW, 0)).toBe(true);
  });

  it.each([
    "",
    "yesterday",
    "2025-03-14",
    "2025-03-14T09:26:53",
    "2025-03-14 09:26:53Z",
    "2025-02-30T09:26:53Z",
    "2025-03-14T25:00:00Z",
    `2025-03-14T09:26:53.${"1".repeat(50)}Z`,
  ])("is never fresh for %j", (ts) => {
    expect(isTimestampFresh(ts, Date.parse("2025-03-14T09:26:53Z"), Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(TimestampSchema.safeParse(ts).success).toBe(false);
  });

  it("refuses a bad clock or window instead of answering true", () => {
    expect(isTimestampFresh(at(0), Number.NaN)).toBe(false);
    expect(isTimestampFresh(at(0), NOW, Number.NaN)).toBe(false);
    expect(isTimestampFresh(at(0), NOW, -1)).toBe(false);
  });
});

describe("parseTimestamp", () => {
  it("answers epoch milliseconds or undefined", () => {
    expect(parseTimestamp("1970-01-01T00:00:01Z")).toBe(1000);
    expect(parseTimestamp(at(42))).toBe(NOW + 42);
    expect(parseTimestamp(42)).toBeUndefined();
  });
});
