// The built bundle's source map: lines of the TypeScript, without the sources' text that `node --enable-source-maps`
// (the Dockerfile's launch) would otherwise read and keep in the Mixer's heap (issue 19: 33 MB of RSS once ready).
import { readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { binaryPath } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";

describe("fluxrig-mixer.js.map", () => {
  const bundle = binaryPath("fluxrig-mixer");
  const payload = JSON.parse(readFileSync(`${bundle}.map`, "utf8")) as SourceMapPayload & {
    sourcesContent?: unknown;
  };

  test("embeds no source text", () => {
    expect(payload.sourcesContent).toBeUndefined();
    expect(payload.sources).toContain("../src/mixer.ts");
  });

  test("still maps the bundle's code back to the TypeScript file and line", () => {
    const js = readFileSync(bundle, "utf8");
    const map = new SourceMap(payload);
    const at = (needle: string, file: string) => {
      const offset = js.indexOf(needle);
      expect(offset, needle).toBeGreaterThan(0);
      const before = js.slice(0, offset);
      const line = before.split("\n").length - 1;
      const column = offset - before.lastIndexOf("\n") - 1;
      const entry = map.findEntry(line, column);
      const source = readFileSync(new URL(`../src/${file}`, import.meta.url), "utf8").split("\n");
      return { entry, sourceLine: source[(entry as { originalLine: number }).originalLine] ?? "" };
    };
    const api = at("function createApi(", "api/create-api.ts");
    expect(api.entry).toMatchObject({ originalSource: "../src/api/create-api.ts" });
    expect(api.sourceLine).toContain("function createApi(");
    const start = at("async function startMixer(", "mixer.ts");
    expect(start.entry).toMatchObject({ originalSource: "../src/mixer.ts" });
    expect(start.sourceLine).toContain("async function startMixer(");
  });
});
