// Tests of the replay window: a nonce is refused while its hello could still pass the freshness check.
import { expect, test } from "vitest";
import { NonceCache } from "./nonce-cache.js";

test("a nonce seen inside the window is a replay; after twice the window it is forgotten", () => {
  const cache = new NonceCache({ windowMs: 1000 });
  expect(cache.remember("k1:n1", 0)).toBe(true);
  expect(cache.remember("k1:n1", 1500)).toBe(false);
  expect(cache.remember("k1:n2", 1500)).toBe(true);
  expect(cache.remember("k1:n1", 2001)).toBe(true);
});

test("prune drops only old entries, and the bound evicts the oldest first", () => {
  const cache = new NonceCache({ windowMs: 10, maxEntries: 3 });
  cache.remember("a", 0);
  cache.remember("b", 100);
  cache.remember("c", 100);
  cache.remember("d", 100);
  // "a" was older than the window and pruned; b, c, d remain and are still replays.
  expect(cache.size).toBe(3);
  expect(cache.remember("b", 101)).toBe(false);
  expect(cache.remember("a", 101)).toBe(true);
});
