import { chmod, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { inspect } from "node:util";
import { seedNkeyOf } from "@fluxrig/passport";
import { tempDir } from "@fluxrig/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { BusAuthError } from "./errors.js";
import { BUS_KEY_DIR, BUS_KEY_FILES, loadBusKeys } from "./key-store.js";

const dirs: { remove(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => d.remove()));
});

async function dataDir(): Promise<string> {
  const dir = tempDir("bus-keys");
  dirs.push(dir);
  return dir.path;
}

describe("loadBusKeys", () => {
  it("creates every key once with mode 0600 and loads the same keys afterwards", async () => {
    const dir = await dataDir();
    const first = await loadBusKeys(dir);
    expect(first.created).toEqual(Object.keys(BUS_KEY_FILES));
    expect(first.operator.nkey).toMatch(/^O/);
    expect(first.fleet.nkey).toMatch(/^A/);
    expect(first.bootstrap.nkey).toMatch(/^U/);
    expect(new Set([first.system.nkey, first.fleet.nkey, first.fleetSigning.nkey]).size).toBe(3);
    const files = await readdir(join(dir, BUS_KEY_DIR));
    expect(files.sort()).toEqual(
      Object.values(BUS_KEY_FILES)
        .map((f) => f.file)
        .sort(),
    );
    for (const file of files) expect((await stat(join(dir, BUS_KEY_DIR, file))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, BUS_KEY_DIR))).mode & 0o777).toBe(0o700);

    const again = await loadBusKeys(dir);
    expect(again.created).toEqual([]);
    expect(again.operator.nkey).toBe(first.operator.nkey);
    expect(again.fleetSigning.nkey).toBe(first.fleetSigning.nkey);
  });

  it("refuses a key file others can read, naming the fix", async () => {
    const dir = await dataDir();
    await loadBusKeys(dir);
    const path = join(dir, BUS_KEY_DIR, BUS_KEY_FILES.fleetSigning.file);
    await chmod(path, 0o644);
    const err = await loadBusKeys(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusAuthError);
    expect((err as BusAuthError).message).toContain(`chmod 600 ${path}`);
  });

  it("never shows a seed when the keys are logged or serialised", async () => {
    const keys = await loadBusKeys(await dataDir());
    const seed = seedNkeyOf(keys.operator.privateKey, "operator");
    const rawSeed = keys.operator.privateKey.export({ format: "jwk" }).d ?? "";
    for (const text of [JSON.stringify(keys), inspect(keys, { depth: 5 })]) {
      expect(text).not.toContain(seed);
      expect(text).not.toContain(rawSeed);
    }
  });
});
