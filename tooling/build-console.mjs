// Builds the operator console (apps/mixer/console, docs/console.md) into apps/mixer/dist/console/: index.html, app.js
// (one browser bundle of console/src/main.ts, esbuild) and app.css. The Mixer serves these files itself.
// Usage: node tooling/build-console.mjs [out-dir]
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const source = resolve(here, "../apps/mixer/console");
const out = resolve(process.argv[2] ?? resolve(here, "../apps/mixer/dist/console"));
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [resolve(source, "src/main.ts")],
  outfile: resolve(out, "app.js"),
  bundle: true,
  platform: "browser",
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  minify: true,
  // Only the console's own modules (and type-only imports, which vanish): nothing is fetched from elsewhere.
  logLevel: "warning",
});
await build({
  entryPoints: [resolve(source, "app.css")],
  outfile: resolve(out, "app.css"),
  bundle: true,
  minify: true,
  logLevel: "warning",
});
copyFileSync(resolve(source, "index.html"), resolve(out, "index.html"));
