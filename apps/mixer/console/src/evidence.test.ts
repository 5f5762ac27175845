// The evidence the pending page joins from other lists: globs of enrollment tokens, expected keys.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  describeEnrollmentToken,
  type EnrollmentTokenInfo,
  expectedKeyVerdict,
  globMatch,
  matchingEnrollmentTokens,
} from "./evidence.js";

const token = (id: string, pattern: string, state: EnrollmentTokenInfo["state"]): EnrollmentTokenInfo => ({
  id,
  pattern,
  uses: 10,
  used: 3,
  expires_at: "2025-06-02T00:00:00.000Z",
  state,
});

describe("globMatch", () => {
  test.each([
    ["edge-*", "edge-07", true],
    ["edge-*", "edge-", true],
    ["edge-*", "edg", false],
    ["rack-??", "rack-01", true],
    ["rack-??", "rack-1", false],
    ["*", "anything", true],
    ["*-01", "nyc-01", true],
    ["*-01", "nyc-012", false],
    ["a*b*c", "axxbyyc", true],
    ["a*b*c", "axxbyy", false],
    ["exact", "exact", true],
    ["exact", "exactly", false],
  ])("%s against %s is %s", (pattern, name, expected) => {
    expect(globMatch(pattern, name)).toBe(expected);
  });

  test("agrees with a regular expression built from the same glob", () => {
    const alphabet = fc.constantFrom("a", "b", "-", "*", "?");
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 8 }),
        fc.string({ unit: fc.constantFrom("a", "b", "-"), maxLength: 10 }),
        (pattern, name) => {
          const re = new RegExp(`^${pattern.replaceAll("*", ".*").replaceAll("?", ".")}$`);
          expect(globMatch(pattern, name)).toBe(re.test(name));
        },
      ),
    );
  });
});

describe("expected keys and enrollment tokens", () => {
  const rack = { name: "rack-a", key_fingerprint: "SHA256:aaa" };

  test("an expected key matches, differs, or there is none", () => {
    expect(expectedKeyVerdict(rack, [])).toEqual({ kind: "none" });
    expect(expectedKeyVerdict(rack, [{ name: "rack-a", key_fingerprint: "SHA256:aaa" }])).toEqual({
      kind: "matches",
      fingerprint: "SHA256:aaa",
    });
    expect(expectedKeyVerdict(rack, [{ name: "rack-a", key_fingerprint: "SHA256:bbb" }])).toEqual({
      kind: "differs",
      expected: "SHA256:bbb",
    });
    expect(expectedKeyVerdict(rack, [{ name: "rack-b", key_fingerprint: "SHA256:aaa" }])).toEqual({
      kind: "none",
    });
  });

  test("the tokens whose pattern admits the name, usable first", () => {
    const tokens = [
      token("1", "rack-*", "expired"),
      token("2", "edge-*", "usable"),
      token("3", "rack-?", "usable"),
    ];
    expect(matchingEnrollmentTokens("rack-a", tokens).map((t) => t.id)).toEqual(["3", "1"]);
    expect(matchingEnrollmentTokens("other", tokens)).toEqual([]);
    expect(describeEnrollmentToken(token("3f9c0e1d2a4b", "edge-*", "used_up"))).toBe(
      "3f9c0e1d2a4b (edge-*): used up, 3 of 10 used",
    );
  });
});
