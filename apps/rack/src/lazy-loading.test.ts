// Proves, on the real bundle graph, that a pending Rack cannot have loaded OpenTelemetry or the gear runtime.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
import { beforeAll, describe, expect, test } from "vitest";

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
let inputs: Metafile["inputs"];

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

beforeAll(async () => {
  // The same options as tooling/build-app.mjs, minus writing the file.
  const result = await build({
    absWorkingDir: appDir,
    entryPoints: ["src/main.ts"],
    outfile: "dist/lazy-check.js",
    write: false,
    metafile: true,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@fluxrig/source"],
    external: ["@duckdb/node-api", "@duckdb/node-bindings*"],
    define: { __FLUXRIG_VERSION__: JSON.stringify("test") },
    logLevel: "silent",
  });
  inputs = result.metafile.inputs;
}, 60_000);

describe("lazy loading", () => {
  test("nothing statically reachable from main.ts is OpenTelemetry or the gear runtime", () => {
    const eager = [...reachable("src/main.ts", false)];
    expect(eager.filter((p) => p.includes("@opentelemetry"))).toEqual([]);
    expect(
      eager.filter((p) => p.startsWith("src/gears/") || p === "src/telemetry/otel-telemetry.ts"),
    ).toEqual([]);
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
});
