// Locating the repo and the built bundles: from this file's path, with a clear error when a bundle is missing.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BundleMissingError } from "./errors.js";
import { binaryPath, repoRoot, spawnBinary } from "./workspace-binaries.js";

describe("repoRoot", () => {
  it("is the workspace root whatever the current directory", () => {
    const cwd = process.cwd();
    try {
      process.chdir("/");
      expect(existsSync(join(repoRoot(), "pnpm-workspace.yaml"))).toBe(true);
      expect(existsSync(join(repoRoot(), "packages/testkit/package.json"))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe("binaryPath", () => {
  const mixerBundle = join(repoRoot(), "apps/mixer/dist/fluxrig-mixer.js");

  it.skipIf(existsSync(mixerBundle))("says to run pnpm build when the bundle is missing", () => {
    expect(() => spawnBinary("fluxrig-mixer")).toThrow(BundleMissingError);
    expect(() => binaryPath("fluxrig-mixer")).toThrow(
      /apps\/mixer\/dist\/fluxrig-mixer\.js .*Run `pnpm build`/,
    );
  });

  it.runIf(existsSync(mixerBundle))("finds the built bundle", () => {
    expect(binaryPath("fluxrig-mixer")).toBe(mixerBundle);
  });
});
