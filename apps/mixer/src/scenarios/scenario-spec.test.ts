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
    const config = `    config: { a: { b: { c: [1, [2, [3]]] } }, s: "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" }`;
    expect(parseScenarioYaml(VALID.replace("    config: { interval: 1s }", config)).ok).toBe(true);
  });
});
