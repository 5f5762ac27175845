// A refused scenario's problems, listed at their lines.
import { describe, expect, test } from "vitest";
import { issuesOf, issueText, metaOf } from "./scenario-issues.js";

describe("scenario issues", () => {
  test("the issues of a 422's details, as line N: message", () => {
    const details = {
      issues: [
        { path: "gears[0].type", message: 'unknown gear type "tickr"', line: 4, column: 25 },
        { path: "", message: "not a mapping" },
        "junk",
      ],
    };
    expect(issuesOf(details).map(issueText)).toEqual([
      'line 4: gears[0].type: unknown gear type "tickr"',
      "not a mapping",
    ]);
    expect(issuesOf(undefined)).toEqual([]);
    expect(issuesOf({ issues: "nope" })).toEqual([]);
  });

  test("metaOf reads name and version for the confirmation", () => {
    expect(metaOf("meta:\n  name: lab-demo\n  version: 2\n")).toEqual({ name: "lab-demo", version: "2" });
    expect(metaOf("gears: []\n")).toEqual({ name: null, version: null });
  });
});
