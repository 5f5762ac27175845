import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SortedNames } from "./sorted-names.js";

const nameArb = fc.stringMatching(/^[a-c0-9-]{1,4}$/);

describe("SortedNames", () => {
  it("keeps names sorted and unique through adds and deletes", () => {
    const names = new SortedNames();
    for (const name of ["rack-b", "rack-a", "rack-c", "rack-a", "r"]) names.add(name);
    expect(names.toArray()).toEqual(["r", "rack-a", "rack-b", "rack-c"]);
    expect(names.delete("rack-b")).toBe(true);
    expect(names.delete("rack-b")).toBe(false);
    expect(names.toArray()).toEqual(["r", "rack-a", "rack-c"]);
    expect(names.has("rack-a")).toBe(true);
    expect(names.has("rack-b")).toBe(false);
    expect(names.size).toBe(3);
  });

  it("orders digits and '-' before letters, as DuckDB orders the ASCII names", () => {
    const names = new SortedNames();
    for (const name of ["a", "a-b", "a0", "ab", "0", "9z"]) names.add(name);
    expect(names.toArray()).toEqual(["0", "9z", "a", "a-b", "a0", "ab"]);
  });

  it("finds bounds and scan starts", () => {
    const names = new SortedNames();
    for (const name of ["a", "b", "b-1", "b-2", "c"]) names.add(name);
    expect(names.lowerBound("b")).toBe(1);
    expect(names.upperBound("b")).toBe(2);
    expect(names.lowerBound("bb")).toBe(4);
    expect(names.upperBound("z")).toBe(5);
    expect(names.scanStart({})).toBe(0);
    expect(names.scanStart({ after: "b" })).toBe(2);
    // The cursor need not be a name that exists.
    expect(names.scanStart({ after: "b-10" })).toBe(3);
    expect(names.scanStart({ prefix: "b-" })).toBe(2);
    // The later of the two wins.
    expect(names.scanStart({ after: "a", prefix: "b-" })).toBe(2);
    expect(names.scanStart({ after: "b-1", prefix: "b" })).toBe(3);
  });

  it("matches a sorted array under any sequence of adds and deletes", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), nameArb), { maxLength: 200 }), nameArb, (ops, probe) => {
        const names = new SortedNames();
        const model = new Set<string>();
        for (const [add, name] of ops) {
          if (add) {
            names.add(name);
            model.add(name);
          } else {
            expect(names.delete(name)).toBe(model.delete(name));
          }
        }
        const sorted = [...model].sort();
        expect(names.toArray()).toEqual(sorted);
        expect(names.lowerBound(probe)).toBe(sorted.filter((n) => n < probe).length);
        expect(names.upperBound(probe)).toBe(sorted.filter((n) => n <= probe).length);
      }),
    );
  });
});
