// Tests of scenario YAML parsing: a valid document, and each kind of mistake reported with its line.
import { describe, expect, test } from "vitest";
import {
  MAX_SCENARIO_BYTES,
  MAX_SCENARIO_DEPTH,
  parseScenarioYaml,
  wireName,
  yamlNestingBound,
} from "./scenario-spec.js";

const VALID = `meta:
  name: demo
  version: 1
racks:
  - name: rack-a
  - name: rack-b
gears:
  - name: tick
    type: ticker
    deploy: rack-a
    config: { interval: 1s }
  - name: sink
    type: counter
    deploy: rack-b
wires:
  - from: tick.out
    to: sink.in
`;

describe("parseScenarioYaml", () => {
  test("a valid scenario parses, versions become strings, wires get default names", () => {
    const result = parseScenarioYaml(VALID);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.spec.meta).toEqual({ name: "demo", version: "1" });
    expect(result.spec.gears.map((g) => g.name)).toEqual(["tick", "sink"]);
    expect(result.spec.gears[1]?.config).toEqual({});
    expect(wireName(result.spec.wires[0]!, 0)).toBe("w1");
  });

  test("a schema error carries the path and the line of the offending node", () => {
    const result = parseScenarioYaml(VALID.replace("type: counter", "type: sprocket"));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ path: "gears[1].type", line: 13 });
    expect(result.issues[0]?.message).toMatch(/ticker, transform, counter/);
  });

  test("a gear deployed to a Rack not listed is refused at its line", () => {
    const result = parseScenarioYaml(VALID.replace("deploy: rack-b", "deploy: rack-z"));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([
      expect.objectContaining({
        path: "gears[1].deploy",
        line: 14,
        message: expect.stringMatching(/rack-z/),
      }),
    ]);
  });

  test("a wire to an unknown gear, duplicate gears and bad names are all reported", () => {
    const text = VALID.replace("to: sink.in", "to: nowhere.in").replace("name: sink", "name: tick");
    const result = parseScenarioYaml(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.issues.map((i) => i.path);
    expect(paths).toContain("gears[1].name");
    expect(paths).toContain("wires[0].to");
  });

  test("gear config is checked against its type's schema: unknown keys and bad values, each at its line", () => {
    const text = VALID.replace("config: { interval: 1s }", "config: { interval_ms: 1000, bogus: 1 }").replace(
      "    deploy: rack-b\n",
      '    deploy: rack-b\n    config:\n      every: "lots"\n',
    );
    const result = parseScenarioYaml(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([
      {
        path: "gears[0].config.interval_ms",
        message: 'unknown key "interval_ms" (a ticker gear takes: interval)',
        line: 11,
        column: 15,
      },
      {
        path: "gears[0].config.bogus",
        message: 'unknown key "bogus" (a ticker gear takes: interval)',
        line: 11,
        column: 34,
      },
      {
        path: "gears[1].config.every",
        message: "expected a whole number of messages, at least 1",
        line: 16,
        column: 14,
      },
    ]);
  });

  test.each([
    ["ticker", "{ interval: 250ms }"],
    ["ticker", "{ interval: 1500 }"],
    ["transform", "{ pick: [a, b], rename: { a: x }, set: { k: [1, { v: 2 }] }, drop: [b] }"],
    ["counter", "{ every: 1 }"],
    ["counter", "{}"],
  ])("a %s with config %s imports", (type, config) => {
    const text = VALID.replace("type: ticker", `type: ${type}`).replace("{ interval: 1s }", config);
    expect(parseScenarioYaml(text)).toMatchObject({ ok: true });
  });

  test("every problem of a document comes back in one pass, in document order, each with its line", () => {
    const text = [
      "meta:", //                         1
      "  name: demo", //                  2
      "  version: 1", //                  3
      "  owner: ops", //                  4 unknown key
      "racks:", //                        5
      "  - name: rack-a", //              6
      "  - name: rack-a", //              7 listed twice
      "gears:", //                        8
      "  - name: tick", //                9
      "    type: tickr", //               10 unknown type
      "    deploy: rack-a", //            11
      "  - name: shape", //               12
      "    type: transform", //           13
      "    deploy: rack-z", //            14 not in racks
      "    config: { pick: a }", //       15 bad value
      "  - name: sink", //                16
      "    type: counter", //             17
      "    deploy: rack-a", //            18
      "    config: { evry: 5 }", //       19 unknown key
      "wires:", //                        20
      "  - from: tick.out", //            21
      "    to: nowhere.in", //            22 unknown gear
      "  - from: shape", //               23 not gear.port
      "    to: sink.in", //               24
      "extra: true", //                   25 unknown key
      "",
    ].join("\n");
    const result = parseScenarioYaml(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => [i.line, i.path])).toEqual([
      [4, "meta.owner"],
      [7, "racks[1].name"],
      [10, "gears[0].type"],
      [14, "gears[1].deploy"],
      [15, "gears[1].config.pick"],
      [19, "gears[2].config.evry"],
      [22, "wires[0].to"],
      [23, "wires[1].from"],
      [25, "extra"],
    ]);
    const byPath = new Map(result.issues.map((i) => [i.path, i.message]));
    expect(byPath.get("meta.owner")).toBe('unknown key "owner" (expected name, version, description)');
    expect(byPath.get("gears[0].type")).toBe(
      'unknown gear type "tickr": expected one of ticker, transform, counter',
    );
    expect(byPath.get("gears[2].config.evry")).toBe('unknown key "evry" (a counter gear takes: every)');
    expect(byPath.get("extra")).toBe('unknown key "extra" (expected meta, racks, gears, wires)');
  });

  test("a malformed name is reported once, not again by every reference to it", () => {
    const text = VALID.replace("name: rack-b", "name: Rack-B").replace("deploy: rack-b", "deploy: Rack-B");
    const result = parseScenarioYaml(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => [i.line, i.path])).toEqual([
      [6, "racks[1].name"],
      [14, "gears[1].deploy"],
    ]);
  });

  test.each([
    "gears: [{ name: { toString: 1 }, deploy: x, type: ticker, config: { toString: 1, __proto__: 2 } }]\nracks: 5",
    "gears: [{ name: a, deploy: b, type: __proto__, config: [] }]\nwires: [{ from: { toString: 1 }, to: a.b }]",
    "racks: [{ name: { valueOf: 1 } }, 3, null]\ngears: 7\nwires: [{ from: zz.out, to: a.in }]",
  ])("odd values anywhere are issues, never a throw: %s", (text) => {
    const result = parseScenarioYaml(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.length).toBeGreaterThan(1);
  });

  test("names that could break a NATS subject are refused", () => {
    for (const bad of ["a.b", "*", ">", "Rack", "rack nyc"]) {
      const result = parseScenarioYaml(VALID.replace("name: demo", `name: "${bad}"`));
      expect(result.ok, bad).toBe(false);
    }
  });

  test("broken YAML reports its line; unknown keys are refused", () => {
    const broken = parseScenarioYaml("meta:\n  name: demo\n   version: [1\n");
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.issues[0]?.line).toBeGreaterThan(0);
    const extra = parseScenarioYaml(`${VALID}surprise: true\n`);
    expect(extra.ok).toBe(false);
  });

  test("oversized documents and alias bombs are refused without expanding them", () => {
    expect(parseScenarioYaml("x".repeat(MAX_SCENARIO_BYTES + 1)).ok).toBe(false);
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 12; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}]`,
      );
    expect(parseScenarioYaml(bomb.join("\n")).ok).toBe(false);
  });

  // Found by apps/mixer/test/fuzz/api.fuzz.test.ts: the yaml library recurses per level, and a stack overflow in
  // it answered 500 (or, after earlier overflows, could abort the process); nesting is now refused before parsing.
  test.each([
    ["flow sequences", `gears: ${"[".repeat(5000)}${"]".repeat(5000)}`],
    ["flow mappings", `gears: ${"{a: ".repeat(5000)}1${"}".repeat(5000)}`],
    ["compact block sequences", `gears:\n  - ${"- ".repeat(5000)}x`],
    [
      "a staircase of compact sequences",
      Array.from({ length: 40 }, (_, i) => `${" ".repeat(i * 8)}- - - - x`).join("\n"),
    ],
    ["nested mappings", Array.from({ length: 200 }, (_, i) => `${" ".repeat(i)}k:`).join("\n")],
  ])("%s nested past the limit are refused with a line, before the parser recurses", (_what, text) => {
    const result = parseScenarioYaml(`meta: {name: deep, version: 1}\n${text}\n`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]?.message).toBe(`scenario nests deeper than ${MAX_SCENARIO_DEPTH} levels`);
    expect(result.issues[0]?.line).toBeGreaterThanOrEqual(2);
  });

  test("the nesting bound never refuses ordinary documents: long one-line flow lists stay shallow", () => {
    expect(yamlNestingBound(VALID, MAX_SCENARIO_DEPTH).depth).toBeLessThan(10);
    const wires = Array.from({ length: 500 }, (_, i) => `{from: g${i}.out, to: g${i + 1}.in}`).join(", ");
    expect(yamlNestingBound(`wires: [${wires}]`, MAX_SCENARIO_DEPTH).line).toBeUndefined();
    // Free-form values live under a transform's `set` (a ticker's config takes only `interval`).
    const config = `    config: { set: { a: { b: { c: [1, [2, [3]]] } }, s: "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" } }`;
    const text = VALID.replace("type: ticker", "type: transform").replace(
      "    config: { interval: 1s }",
      config,
    );
    expect(parseScenarioYaml(text).ok).toBe(true);
  });
});
