// Following pages to the end, and not for ever when a cursor does not move.
import { expect, test } from "vitest";
import { followPages } from "./paging.js";

test("fetches after each next until null", async () => {
  const pages: Record<string, { items: number[]; next: string | null }> = {
    a: { items: [3, 4], next: "b" },
    b: { items: [5], next: null },
  };
  const seen: string[] = [];
  const all = await followPages({ items: [1, 2], next: "a" }, async (after) => {
    seen.push(after);
    return pages[after] ?? { items: [], next: null };
  });
  expect(all).toEqual({ items: [1, 2, 3, 4, 5], next: null });
  expect(seen).toEqual(["a", "b"]);
});

test("a cursor that repeats itself ends the walk", async () => {
  let calls = 0;
  const all = await followPages({ items: [1], next: "x" }, async () => {
    calls += 1;
    return { items: [2], next: "x" };
  });
  expect(all.items).toEqual([1, 2]);
  expect(calls).toBe(1);
});
