import { describe, expect, it } from "vitest";
import { pruneRevocations, revokeUser } from "./trust-chain.js";

describe("revocation list", () => {
  it("revokes a key as of now and never moves an entry back in time", () => {
    const list = revokeUser({}, { user: "UA", nowSeconds: 100 });
    expect(list).toEqual({ UA: 100 });
    expect(revokeUser(list, { user: "UA", nowSeconds: 50 })).toEqual({ UA: 100 });
    expect(revokeUser(list, { user: "UA", nowSeconds: 200 })).toEqual({ UA: 200 });
    expect(revokeUser(list, { user: "UB", nowSeconds: 150 })).toEqual({ UA: 100, UB: 150 });
  });

  it("prunes entries older than the longest JWT lifetime, and keeps the rest", () => {
    const list = { OLD: 1_000, EDGE: 9_000, NEW: 9_500 };
    expect(pruneRevocations(list, { nowSeconds: 10_000, maxUserTtlSeconds: 1_000 })).toEqual({
      EDGE: 9_000,
      NEW: 9_500,
    });
  });
});
