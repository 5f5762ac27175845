// Bundles one app into runnable ESM (dist/<bin>.js) with esbuild, sources of the workspace packages inlined.
//
// Usage: node tooling/build-app.mjs <bin-name> [flags], run in the app's folder (its package.json's `build` script).
// Without flags the output is one self-contained file. Flags, each opted into by an app (bench/README.md "The Rack's
// footprint" has what the first three saved the Rack):
//   --split            code splitting: what sits behind a dynamic `import()` goes to dist/chunks/, loaded only when
//                      that import runs (a pending Rack never loads OpenTelemetry or the gear runtime, so neither
//                      their source nor their code is in its memory). dist/ is then a folder to ship whole.
//   --esm-first        prefer a package's `module` (ESM) build to its `main` (CommonJS) one, so esbuild can drop what
//                      is not used (OpenTelemetry's CommonJS builds pull all of semantic-conventions: 177 KB).
//   --no-zod-locales   leave out zod's translated error messages: zod's namespace re-exports every locale (about 50,
//                      300 KB of source) while it only ever uses English, which it imports on its own.
//   --map-without-sources  the source map names each original file and line but does not embed the files' text:
//                      `node --enable-source-maps` reads the whole .map at start and keeps it, and the Mixer's embedded
//                      sources were 3.5 of its 5.2 MB (+33 to 40 MB of RSS once ready). Stack traces are mapped the
//                      same without them (bench/swarm/README.md, issue 19 fifth round; packages/testkit/test/bundle-source-maps.int.test.ts).
import { execSync } from "node:child_process";
import { chmodSync, readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

export const BUILD_FLAGS = ["--split", "--esm-first", "--no-zod-locales", "--map-without-sources"];

/** Resolves zod's `locales/index.js` (imported only to re-export it as `z.locales`) to an empty module. */
const noZodLocales = {
  name: "no-zod-locales",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/]/.test(args.importer)
        ? { path: "zod-locales", namespace: "no-zod-locales" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "no-zod-locales" }, () => ({ contents: "export {};" }));
  },
};

/**
 * The esbuild options of one app, for this script and for tests that inspect the bundle graph.
 *
 * @param {{ appDir: string, bin: string, flags?: readonly string[], version: string }} opts
 * @returns {import("esbuild").BuildOptions}
 */
export function appBuildOptions({ appDir, bin, flags = [], version }) {
  for (const flag of flags) {
    if (!BUILD_FLAGS.includes(flag))
      throw new Error(`build-app: unknown flag ${flag} (${BUILD_FLAGS.join(", ")})`);
  }
  return {
    absWorkingDir: appDir,
    entryPoints: { [bin]: resolve(appDir, "src/main.ts") },
    outdir: resolve(appDir, "dist"),
    ...(flags.includes("--split") ? { splitting: true, chunkNames: "chunks/[name]-[hash]" } : {}),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    sourcesContent: !flags.includes("--map-without-sources"),
    // Without comments the bundle is plain ASCII: V8 keeps a script's source in its heap for lazy compilation, and one
    // non-ASCII character in a comment (an em dash, a section sign) made it store all 2.6 MB as two-byte, 5 MB of the
    // Mixer's idle heap. Stripping whitespace too: 1.8 MB of one-byte source. Identifiers are kept (stack traces
    // still name functions; the source map, beside the bundle, maps lines back).
    minifyWhitespace: true,
    conditions: ["@fluxrig/source"],
    ...(flags.includes("--esm-first") ? { mainFields: ["module", "main"] } : {}),
    // Native modules stay outside the bundle; they are installed as dependencies.
    external: ["@duckdb/node-api", "@duckdb/node-bindings*"],
    define: { __FLUXRIG_VERSION__: JSON.stringify(version) },
    banner: {
      // Bundled CommonJS dependencies still call require(); give them one (in every chunk: each is its own module).
      js: "#!/usr/bin/env node\nimport { createRequire as __fluxrigCreateRequire } from 'node:module';\nconst require = __fluxrigCreateRequire(import.meta.url);",
    },
    plugins: flags.includes("--no-zod-locales") ? [noZodLocales] : [],
    logLevel: "warning",
  };
}

async function main() {
  const [bin, ...flags] = process.argv.slice(2);
  if (!bin) throw new Error(`usage: build-app.mjs <bin-name> [${BUILD_FLAGS.join("] [")}]`);
  const appDir = process.cwd();
  const pkg = JSON.parse(readFileSync(resolve(appDir, "package.json"), "utf8"));
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
  // Chunk names carry a content hash: without this, every build would leave the previous build's chunks behind.
  if (flags.includes("--split")) rmSync(resolve(appDir, "dist", "chunks"), { recursive: true, force: true });
  await build(appBuildOptions({ appDir, bin, flags, version: `${pkg.version}+${sha}` }));
  chmodSync(resolve(appDir, "dist", `${bin}.js`), 0o755);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
