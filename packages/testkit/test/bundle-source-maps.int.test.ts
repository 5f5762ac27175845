// The built bundles' source maps: lines of the TypeScript, without the sources' text that `node --enable-source-maps`
// (the Dockerfile's launch) would otherwise read and keep in the heap (issue 19: the Mixer's was 33 MB of RSS once
// ready). Both apps build with `--map-without-sources` (tooling/build-app.mjs).
import { readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { describe, expect, test } from "vitest";
import { binaryPath, repoRoot } from "../src/index.js";

/** Each shipped bundle, with functions whose definitions must map back to their file and line. */
const BUNDLES = [
  {
    bin: "fluxrig-mixer",
    app: "mixer",
    functions: [
      ["function createApi(", "api/create-api.ts"],
      ["async function startMixer(", "mixer.ts"],
    ],
  },
  { bin: "fluxrig-rack", app: "rack", functions: [["async function runAgent(", "main.ts"]] },
] as const;

describe.each(BUNDLES)("$bin.js.map", ({ bin, app, functions }) => {
  const bundle = binaryPath(bin);
  const payload = JSON.parse(readFileSync(`${bundle}.map`, "utf8")) as SourceMapPayload & {
    sourcesContent?: unknown;
  };

  test("embeds no source text", () => {
    expect(payload.sourcesContent).toBeUndefined();
    expect(payload.sources).toContain(`../src/${functions[0][1]}`);
  });

  test("still maps the bundle's code back to the TypeScript file and line", () => {
    const js = readFileSync(bundle, "utf8");
    const map = new SourceMap(payload);
    for (const [needle, file] of functions) {
      const offset = js.indexOf(needle);
      expect(offset, needle).toBeGreaterThan(0);
      const before = js.slice(0, offset);
      const line = before.split("\n").length - 1;
      const column = offset - before.lastIndexOf("\n") - 1;
      const entry = map.findEntry(line, column) as { originalSource?: string; originalLine: number };
      expect(entry.originalSource).toBe(`../src/${file}`);
      const source = readFileSync(`${repoRoot()}/apps/${app}/src/${file}`, "utf8").split("\n");
      expect(source[entry.originalLine] ?? "").toContain(needle);
    }
  });
});
