// tempDir and tempDuckDbPath: fresh, separate, and gone after dispose.
import { existsSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { startedResources } from "./cleanup-registry.js";
import { tempDir, tempDuckDbPath } from "./temp-files.js";

describe("tempDir", () => {
  it("creates a fresh directory and removes it, contents included, on dispose", async () => {
    let path = "";
    {
      await using dir = tempDir("unit test/../x");
      path = dir.path;
      expect(existsSync(path)).toBe(true);
      expect(basename(path)).toMatch(/^fluxrig-unit-test-\.\.-x-/);
      writeFileSync(join(path, "file.txt"), "hello");
    }
    expect(existsSync(path)).toBe(false);
  });

  it("is registered until removed, and remove() is idempotent", async () => {
    const dir = tempDir();
    expect(startedResources().some((r) => r.label.includes(dir.path))).toBe(true);
    await dir.remove();
    await dir.remove();
    expect(existsSync(dir.path)).toBe(false);
    expect(startedResources().some((r) => r.label.includes(dir.path))).toBe(false);
  });

  it("supports synchronous `using` too", () => {
    let path = "";
    {
      using dir = tempDir();
      path = dir.path;
    }
    expect(existsSync(path)).toBe(false);
  });
});

describe("tempDuckDbPath", () => {
  it("gives a not-yet-existing file in a new dir per call, removed with its dir", async () => {
    const a = tempDuckDbPath();
    const b = tempDuckDbPath("other.duckdb");
    expect(a.path).not.toBe(b.path);
    expect(existsSync(a.path)).toBe(false);
    expect(dirname(a.path)).toBe(a.dir);
    expect(basename(b.path)).toBe("other.duckdb");
    writeFileSync(`${a.path}.wal`, "");
    await a[Symbol.asyncDispose]();
    await b[Symbol.asyncDispose]();
    expect(existsSync(a.dir)).toBe(false);
    expect(existsSync(b.dir)).toBe(false);
  });
});
