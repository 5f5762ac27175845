// Bundles one app into a single runnable ESM file (dist/<bin>.js) with esbuild, sources of the workspace packages inlined.
import { execSync } from "node:child_process";
import { chmodSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { build } from "esbuild";

const bin = process.argv[2];
if (!bin) throw new Error("usage: build-app.mjs <bin-name> [--map-without-sources]");
// The source map names each original file and line but does not embed the files' text: `node --enable-source-maps`
// (as the Dockerfile runs the Mixer) reads the whole .map at start and keeps it, and the embedded sources were 3.5 of
// its 5.2 MB. Stack traces are mapped the same without them (bench/swarm/README.md, issue 19 fifth round).
const mapWithoutSources = process.argv.includes("--map-without-sources");
const pkg = JSON.parse(readFileSync(resolve("package.json"), "utf8"));
let sha = process.env.FLUXRIG_GIT_SHA ?? "";
if (!sha) {
  try {
    sha = execSync("git rev-parse --short=12 HEAD", { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    sha = "unknown";
  }
}
const outfile = resolve("dist", `${bin}.js`);
await build({
  entryPoints: [resolve("src/main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  sourcesContent: !mapWithoutSources,
  // Without comments the bundle is plain ASCII: V8 keeps a script's source in its heap for lazy compilation, and one
  // non-ASCII character in a comment (an em dash, a section sign) made it store all 2.6 MB as two-byte, 5 MB of the
  // Mixer's idle heap. Stripping whitespace too: 1.8 MB of one-byte source. Identifiers are kept (stack traces
  // still name functions; the source map, beside the bundle, maps lines back).
  minifyWhitespace: true,
  conditions: ["@fluxrig/source"],
  // Native modules stay outside the bundle; they are installed as dependencies.
  external: ["@duckdb/node-api", "@duckdb/node-bindings*"],
  define: { __FLUXRIG_VERSION__: JSON.stringify(`${pkg.version}+${sha}`) },
  banner: {
    // Bundled CommonJS dependencies still call require(); give them one.
    js: "#!/usr/bin/env node\nimport { createRequire as __fluxrigCreateRequire } from 'node:module';\nconst require = __fluxrigCreateRequire(import.meta.url);",
  },
  logLevel: "warning",
});
chmodSync(outfile, 0o755);
