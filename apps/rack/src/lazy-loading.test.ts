// Proves, on the real bundle graph and on the chunks the build writes, that a pending Rack cannot have loaded
// OpenTelemetry or the gear runtime, and that what the build leaves out for memory (zod's locales) stays out.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
import { beforeAll, describe, expect, test } from "vitest";
import { appBuildOptions } from "../../../tooling/build-app.mjs";

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
let inputs: Metafile["inputs"];
let outputs: Metafile["outputs"];

/** Every input reachable from the entry, following static edges only, or every edge with `dynamic`. */
function reachable(entry: string, dynamic: boolean): Set<string> {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
    for (const edge of inputs[path]?.imports ?? []) {
      if (edge.external || (!dynamic && edge.kind === "dynamic-import") || seen.has(edge.path)) continue;
      seen.add(edge.path);
      queue.push(edge.path);
    }
  }
  return seen;
}

/** The inputs bundled into the written files a start loads: the entry chunk and what it imports statically. */
function loadedAtStart(): Set<string> {
  const entry = Object.keys(outputs).find((p) => outputs[p]?.entryPoint === "src/main.ts");
  if (entry === undefined) throw new Error("no output for src/main.ts");
  const files = new Set<string>([entry]);
  const queue = [entry];
  for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
    for (const edge of outputs[path]?.imports ?? []) {
      if (edge.external || edge.kind !== "import-statement" || files.has(edge.path)) continue;
      files.add(edge.path);
      queue.push(edge.path);
    }
  }
  return new Set([...files].flatMap((f) => Object.keys(outputs[f]?.inputs ?? {})));
}

beforeAll(async () => {
  // The options and flags `pnpm build` uses (package.json's build script), minus writing the files.
  const script: string = JSON.parse(readFileSync(resolve(appDir, "package.json"), "utf8")).scripts.build;
  const flags = script.split(/\s+/).filter((word) => word.startsWith("--"));
  expect(flags).toContain("--split");
  const result = await build({
    ...appBuildOptions({ appDir, bin: "fluxrig-rack", flags, version: "test" }),
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  inputs = result.metafile.inputs;
  outputs = result.metafile.outputs;
}, 60_000);

const isLazy = (p: string) =>
  p.includes("@opentelemetry") || p.startsWith("src/gears/") || p === "src/telemetry/otel-telemetry.ts";

describe("lazy loading", () => {
  test("nothing statically reachable from main.ts is OpenTelemetry or the gear runtime", () => {
    const eager = [...reachable("src/main.ts", false)];
    expect(eager.filter(isLazy)).toEqual([]);
    expect(eager).toContain("src/rack.ts");
  });

  test("both are in the bundle, behind the dynamic imports of lazy-subsystems.ts", () => {
    const all = [...reachable("src/main.ts", true)];
    expect(all).toContain("src/telemetry/otel-telemetry.ts");
    expect(all).toContain("src/gears/gear-runtime.ts");
    expect(all.some((p) => p.includes("@opentelemetry/sdk-metrics"))).toBe(true);
    const doors = inputs["src/lazy-subsystems.ts"]?.imports
      .filter((i) => i.kind === "dynamic-import")
      .map((i) => i.path);
    expect(doors?.sort()).toEqual(["src/gears/gear-runtime.ts", "src/telemetry/otel-telemetry.ts"]);
  });

  test("the files a start loads hold neither: they are in chunks loaded on activation", () => {
    const atStart = loadedAtStart();
    expect(atStart.has("src/rack.ts")).toBe(true);
    expect([...atStart].filter(isLazy)).toEqual([]);
    const lazyChunks = Object.entries(outputs).filter(([, o]) => Object.keys(o.inputs).some(isLazy));
    expect(lazyChunks.map(([path]) => path).every((p) => p.startsWith("dist/chunks/"))).toBe(true);
    const lazyInputs = lazyChunks.flatMap(([, o]) => Object.keys(o.inputs));
    expect(lazyInputs).toContain("src/telemetry/otel-telemetry.ts");
    expect(lazyInputs).toContain("src/gears/gear-runtime.ts");
  });

  test("OpenTelemetry comes from its ESM builds, so semantic-conventions is tree-shaken", () => {
    const otel = Object.keys(inputs).filter((p) => p.includes("@opentelemetry/sdk-metrics/"));
    expect(otel.length).toBeGreaterThan(0);
    expect(otel.every((p) => p.includes("/build/esm/"))).toBe(true);
    const semconv = Object.entries(outputs)
      .flatMap(([, o]) => Object.entries(o.inputs))
      .filter(([p]) => p.includes("@opentelemetry/semantic-conventions"));
    expect(semconv.reduce((sum, [, i]) => sum + i.bytesInOutput, 0)).toBeLessThan(10_000);
  });

  test("zod's locales are left out but English, its default, is in", () => {
    const zodLocales = Object.keys(inputs).filter((p) => /[\\/]zod[\\/]v4[\\/]locales[\\/]/.test(p));
    expect(zodLocales.map((p) => p.replace(/.*[\\/]/, ""))).toEqual(["en.js"]);
  });
});
