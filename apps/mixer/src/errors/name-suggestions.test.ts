// Suggestions for names not found: close typos only, nearest first, a few at most, and fast on a full directory.
import { describe, expect, test } from "vitest";
import { closestNames, editDistance, notFoundWithSuggestions } from "./name-suggestions.js";

describe("editDistance", () => {
  test("counts insertions, deletions, substitutions and neighbour swaps, capped at limit + 1", () => {
    expect(editDistance("rack-manual", "rack-manual", 3)).toBe(0);
    expect(editDistance("rack-manaul", "rack-manual", 3)).toBe(1);
    expect(editDistance("rack-manul", "rack-manual", 3)).toBe(1);
    expect(editDistance("rak-manual", "rack-manual", 3)).toBe(1);
    expect(editDistance("rack-mxnual", "rack-manual", 3)).toBe(1);
    expect(editDistance("kitten", "sitting", 3)).toBe(3);
    expect(editDistance("kitten", "sitting", 2)).toBe(3);
    expect(editDistance("a", "abcdef", 2)).toBe(3);
  });
});

describe("closestNames", () => {
  const names = ["rack-manual", "rack-auto-1", "rack-auto-2", "rack-auto-3", "edge-01"];

  test("suggests the nearest close ones, in name order", () => {
    expect(closestNames("rack-manaul", names)).toEqual(["rack-manual"]);
    expect(closestNames("rack-auto-5", names)).toEqual(["rack-auto-1", "rack-auto-2", "rack-auto-3"]);
    expect(closestNames("rack-auto1", names)).toEqual(["rack-auto-1"]);
    expect(closestNames("edge-1", names)).toEqual(["edge-01"]);
  });

  test("suggests nothing far away, and nothing when more than three are equally near", () => {
    expect(closestNames("web-frontend", names)).toEqual([]);
    expect(closestNames("zz", ["ab", "a"])).toEqual([]);
    expect(closestNames("rack-manual", ["rack-manual"])).toEqual([]);
    expect(closestNames("rack-auto-5", [...names, "rack-auto-4"])).toEqual([]);
    // Two edits from every one of them: not a typo of any in particular.
    expect(closestNames("rack-nyc-99", ["rack-nyc-01", "rack-nyc-02", "rack-nyc-03", "rack-nyc-07"])).toEqual(
      [],
    );
  });

  test("a full directory of 65,535 numbered names", () => {
    const many = Array.from({ length: 65_535 }, (_, i) => `rack-${String(i).padStart(5, "0")}`);
    expect(closestNames("rakc-00042", many)).toEqual(["rack-00042"]);
    expect(closestNames("rack-0012x", many)).toEqual([]);
  });
});

describe("notFoundWithSuggestions", () => {
  test("appends the suggestions and lists them in details, or leaves the message alone", () => {
    expect(notFoundWithSuggestions("no Rack rack-manaul", "rack-manaul", ["rack-manual"])).toEqual({
      message: "no Rack rack-manaul; did you mean rack-manual?",
      details: { suggestions: ["rack-manual"] },
    });
    expect(notFoundWithSuggestions("no Rack x", "rack-auto-9", ["rack-auto-1", "rack-auto-2"]).message).toBe(
      "no Rack x; did you mean rack-auto-1 or rack-auto-2?",
    );
    expect(notFoundWithSuggestions("no Rack far-away", "far-away", ["rack-manual"])).toEqual({
      message: "no Rack far-away",
    });
  });
});
