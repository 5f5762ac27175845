// Relative and absolute times: units, past and future, and what cannot be parsed.
import { describe, expect, test } from "vitest";
import { formatRelative, formatSpan, formatTimestamp } from "./relative-time.js";

const now = new Date("2025-06-01T12:00:00.000Z");
const at = (deltaMs: number) => new Date(now.getTime() + deltaMs);

describe("formatRelative", () => {
  test.each([
    [-12_000, "12s ago"],
    [-59_999, "59s ago"],
    [-60_000, "1m ago"],
    [-3 * 3_600_000 - 59 * 60_000, "3h ago"],
    [-86_400_000 * 9, "9d ago"],
    [3 * 3_600_000, "in 3h"],
    [45_000, "in 45s"],
    [-400, "just now"],
    [999, "just now"],
  ])("%d ms -> %s", (delta, expected) => {
    expect(formatRelative(at(delta), now)).toBe(expected);
  });

  test("accepts ISO strings, says never for null and keeps what it cannot parse", () => {
    expect(formatRelative("2025-06-01T11:58:00.000Z", now)).toBe("2m ago");
    expect(formatRelative(null, now)).toBe("never");
    expect(formatRelative("yesterday-ish", now)).toBe("yesterday-ish");
  });
});

test("formatSpan uses the largest whole unit", () => {
  expect(formatSpan(0)).toBe("0s");
  expect(formatSpan(-90_000)).toBe("1m");
  expect(formatSpan(25 * 3_600_000)).toBe("1d");
});

test("formatTimestamp shows UTC to the second with the relative form", () => {
  expect(formatTimestamp("2025-06-01T11:59:48.000Z", now)).toBe("2025-06-01T11:59:48Z (12s ago)");
  expect(formatTimestamp(null, now)).toBe("never");
});
