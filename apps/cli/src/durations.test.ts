// Durations for --timeout and times for --since: units, offsets, UTC by default, and the errors.
import { describe, expect, test } from "vitest";
import { DurationSyntaxError, formatDuration, parseDuration, parseSince } from "./durations.js";

const now = new Date("2025-06-01T12:00:00.000Z");

describe("parseDuration", () => {
  test.each([
    ["500ms", 500],
    ["10s", 10_000],
    ["1.5s", 1500],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1w", 604_800_000],
  ])("%s", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test("a bare number needs a default unit", () => {
    expect(() => parseDuration("10")).toThrow(DurationSyntaxError);
    expect(parseDuration("10", { defaultUnit: "s" })).toBe(10_000);
  });

  test.each(["", "abc", "-5s", "10 parsecs", "1e3s"])("refuses %j", (text) => {
    expect(() => parseDuration(text)).toThrow(/expected a duration/);
  });
});

describe("parseSince", () => {
  test("relative times count back from now", () => {
    expect(parseSince("10m", now).toISOString()).toBe("2025-06-01T11:50:00.000Z");
    expect(parseSince("2h", now).toISOString()).toBe("2025-06-01T10:00:00.000Z");
    expect(parseSince("1d", now).toISOString()).toBe("2025-05-31T12:00:00.000Z");
  });

  test("ISO times keep their offset; without one they are UTC", () => {
    expect(parseSince("2025-06-01T10:00:00+02:00", now).toISOString()).toBe("2025-06-01T08:00:00.000Z");
    expect(parseSince("2025-06-01T10:00:00", now).toISOString()).toBe("2025-06-01T10:00:00.000Z");
    expect(parseSince("2025-06-01 10:00", now).toISOString()).toBe("2025-06-01T10:00:00.000Z");
    expect(parseSince("2025-05-30", now).toISOString()).toBe("2025-05-30T00:00:00.000Z");
  });

  test("says what it expected", () => {
    expect(() => parseSince("last tuesday", now)).toThrow(/10m, 2h, 1d .* ISO 8601/);
    expect(() => parseSince("2025-13-45", now)).toThrow(/not a valid date/);
  });
});

test("formatDuration prints what one would type", () => {
  expect(formatDuration(500)).toBe("500ms");
  expect(formatDuration(10_000)).toBe("10s");
  expect(formatDuration(120_000)).toBe("2m");
  expect(formatDuration(1500)).toBe("1.5s");
});
