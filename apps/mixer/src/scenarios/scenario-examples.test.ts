// Every scenario a newcomer copies (examples/, the docs) imports, and the docs list every gear type's config keys.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "@fluxrig/testkit";
import { GEAR_CONFIG_SCHEMAS, GEAR_TYPE_NAMES } from "@fluxrig/wire";
import { describe, expect, test } from "vitest";
import { parseScenarioYaml } from "./scenario-spec.js";

const ROOT = repoRoot();

/** Scenarios shown in a doc: in each fenced block, from a line starting `meta:` to the block's end. */
function docScenarios(file: string): Array<[string, string]> {
  const text = readFileSync(join(ROOT, file), "utf8");
  const found: Array<[string, string]> = [];
  for (const match of text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)) {
    const block = match[1] ?? "";
    const start = block.search(/^meta:/m);
    if (start < 0) continue;
    const line = text.slice(0, match.index).split("\n").length + block.slice(0, start).split("\n").length;
    found.push([`${file}:${line}`, block.slice(start)]);
  }
  return found;
}

const examples: Array<[string, string]> = [
  ...readdirSync(join(ROOT, "examples/lab"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f): [string, string] => [`examples/lab/${f}`, readFileSync(join(ROOT, "examples/lab", f), "utf8")]),
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .flatMap((f) => docScenarios(`docs/${f}`)),
];

describe("scenario examples", () => {
  test("there are examples to check", () => {
    expect(examples.map(([where]) => where)).toEqual(
      expect.arrayContaining([
        "examples/lab/demo-scenario.yaml",
        expect.stringMatching(/^docs\/operations\.md:/),
      ]),
    );
  });

  test.each(examples)("%s imports", (_where, yaml) => {
    const result = parseScenarioYaml(yaml);
    expect(result.ok ? [] : result.issues).toEqual([]);
  });

  test("docs/operations.md lists every gear type and each of its config keys", () => {
    const doc = readFileSync(join(ROOT, "docs/operations.md"), "utf8");
    const section = doc.slice(
      doc.indexOf("## Scenario files"),
      doc.indexOf("\n## ", doc.indexOf("## Scenario files") + 1),
    );
    for (const type of GEAR_TYPE_NAMES) {
      expect(section, type).toContain(`| \`${type}\` |`);
      for (const key of Object.keys(GEAR_CONFIG_SCHEMAS[type].shape))
        expect(section, `${type}.${key}`).toContain(`| \`${key}\` |`);
    }
  });
});
