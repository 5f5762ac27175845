// Canonical JSON: sorted keys at every level, no whitespace, same value back, and refusal of non-JSON values.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jcsCanonicalJson } from "./jcs-canonical-json.js";
import { WireEncodeError } from "./wire-error.js";

function shuffleKeys(value: unknown, rand: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, rand));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, rand)]));
}

describe("jcsCanonicalJson", () => {
  it("sorts keys recursively and writes no whitespace", () => {
    expect(jcsCanonicalJson({ b: 1, a: [true, { d: null, c: "x y" }], "": 0 })).toBe(
      '{"":0,"a":[true,{"c":"x y","d":null}],"b":1}',
    );
  });

  it("sorts by UTF-16 code units and escapes like JSON.stringify", () => {
    expect(jcsCanonicalJson({ é: 1, z: 2, Z: 3, "\u0001": "\n" })).toBe(
      '{"\\u0001":"\\n","Z":3,"z":2,"é":1}',
    );
  });

  it("leaves undefined fields out, like JSON.stringify", () => {
    expect(jcsCanonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
  });

  it("gives the same value back and ignores key order", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer(), (value, seed) => {
        const text = jcsCanonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        let state = seed;
        const rand = () => {
          state = (state * 1103515245 + 12345) & 0x7fffffff;
          return state / 0x80000000;
        };
        expect(jcsCanonicalJson(shuffleKeys(value, rand))).toBe(text);
        expect(text).not.toMatch(/^\s|\s$/);
      }),
    );
  });

  it.each([
    ["bigint", { a: 1n }],
    ["NaN", { a: Number.NaN }],
    ["Infinity", [Number.POSITIVE_INFINITY]],
    ["function", { f: () => 1 }],
    ["Date", { d: new Date(0) }],
    ["Map", new Map()],
    ["undefined at top", undefined],
    ["undefined in array", [undefined]],
  ])("refuses %s", (_label, value) => {
    expect(() => jcsCanonicalJson(value)).toThrow(WireEncodeError);
  });

  it("refuses cycles through the depth cap", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => jcsCanonicalJson(cyclic)).toThrow(WireEncodeError);
  });
});
