// The settings file: where it is, what it may hold, and the warnings and errors it can cause.
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import { checkConfigValues, configFilePath, readConfigFile } from "./config-file.js";

test("configFilePath: FLUXRIG_CLI_CONFIG, then XDG_CONFIG_HOME, then ~/.config", () => {
  expect(configFilePath({ FLUXRIG_CLI_CONFIG: "/etc/x.json", XDG_CONFIG_HOME: "/x" }, "/home/op")).toBe(
    "/etc/x.json",
  );
  expect(configFilePath({ XDG_CONFIG_HOME: "/x" }, "/home/op")).toBe("/x/fluxrig/cli.json");
  expect(configFilePath({}, "/home/op")).toBe("/home/op/.config/fluxrig/cli.json");
});

describe("readConfigFile", () => {
  test("reads known keys; none is null", async () => {
    using dir = tempDir("cli-config");
    const path = join(dir.path, "cli.json");
    expect(await readConfigFile(path)).toBeNull();
    await writeFile(path, JSON.stringify({ api_url: "http://m:8090", token: "t" }), { mode: 0o600 });
    expect(await readConfigFile(path)).toEqual({
      path,
      values: { api_url: "http://m:8090", token: "t" },
      warnings: [],
    });
  });

  test("warns when others may read a token", async () => {
    using dir = tempDir("cli-config");
    const path = join(dir.path, "cli.json");
    await writeFile(path, JSON.stringify({ token: "t" }));
    await chmod(path, 0o644);
    expect((await readConfigFile(path))?.warnings).toEqual([
      `${path} holds a token and others may read it; run: chmod 600 ${path}`,
    ]);
  });

  test("says why a cli.toml next to it has no effect", async () => {
    using dir = tempDir("cli-config");
    await mkdir(join(dir.path, "fluxrig"));
    await writeFile(join(dir.path, "fluxrig", "cli.toml"), 'api_url = "http://m:8090"\n');
    const found = await readConfigFile(join(dir.path, "fluxrig", "cli.json"));
    expect(found?.values).toEqual({});
    expect(found?.warnings[0]).toMatch(/cli\.toml is not read: put the same keys in .*cli\.json as JSON/);
  });

  test("a broken file is a usage error naming the file", async () => {
    using dir = tempDir("cli-config");
    const path = join(dir.path, "cli.json");
    await writeFile(path, "{ api_url: ");
    await expect(readConfigFile(path)).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(new RegExp(`^config file ${path}: not valid JSON`)),
    });
  });
});

test("checkConfigValues refuses unknown keys and non-strings", () => {
  expect(() => checkConfigValues("f", { tokn: "x" })).toThrow(
    /unknown key "tokn" \(expected api_url, token, timeout, actor\)/,
  );
  expect(() => checkConfigValues("f", { timeout: 10 })).toThrow(/timeout: expected a string/);
  expect(() => checkConfigValues("f", ["x"])).toThrow(/expected a JSON object/);
});
