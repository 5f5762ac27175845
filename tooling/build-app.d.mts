// Types of tooling/build-app.mjs for the TypeScript tests that build an app's bundle graph in memory.
import type { BuildOptions } from "esbuild";

export declare const BUILD_FLAGS: readonly string[];
export declare function appBuildOptions(opts: {
  appDir: string;
  bin: string;
  flags?: readonly string[];
  version: string;
}): BuildOptions;
