// Named timers: re-arming replaces, clearAll cancels, deadlines beyond setTimeout's range are chained.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { NamedTimers } from "./named-timers.js";

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2025-01-01T00:00:00.000Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("NamedTimers", () => {
  test("setting a name again replaces its pending timer", () => {
    const timers = new NamedTimers<"hello">();
    const fired: string[] = [];
    timers.after("hello", 1_000, () => fired.push("first"));
    timers.after("hello", 2_000, () => fired.push("second"));
    vi.advanceTimersByTime(5_000);
    expect(fired).toEqual(["second"]);
    expect(timers.has("hello")).toBe(false);
  });

  test("clearAll cancels everything", () => {
    const timers = new NamedTimers<"a" | "b">();
    const fired: string[] = [];
    timers.after("a", 10, () => fired.push("a"));
    timers.after("b", 10, () => fired.push("b"));
    timers.clearAll();
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([]);
  });

  test("a deadline 60 days away fires then, not when setTimeout's 24.8-day range wraps", () => {
    const timers = new NamedTimers<"expiry">();
    let firedAt: number | undefined;
    const due = Date.now() + 60 * 86_400_000;
    timers.at("expiry", due, () => {
      firedAt = Date.now();
    });
    vi.advanceTimersByTime(30 * 86_400_000);
    expect(firedAt).toBeUndefined();
    expect(timers.has("expiry")).toBe(true);
    vi.advanceTimersByTime(30 * 86_400_000);
    expect(firedAt).toBe(due);
  });
});
