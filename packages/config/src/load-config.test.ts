// Tests of config loading: defaults, file values, env overrides, and errors that name file, key and expectation.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import { duration } from "./duration.js";
import { ConfigFileError, ConfigSyntaxError, ConfigValueError } from "./errors.js";
import { loadConfig, parseConfig } from "./load-config.js";

const Schema = z.strictObject({
  mixer: z.strictObject({
    name: z.string().default("mixer-1"),
    machine_id: z.number().int().min(1).max(65535).default(1),
  }),
  enrollment: z.strictObject({
    auto_adopt: z.boolean().default(false),
    pending_ttl: duration({ default: "24h" }),
  }),
  api: z.strictObject({
    listen: z.string().default("127.0.0.1:8090"),
    origins: z.array(z.string()).default([]),
  }),
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fluxrig-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("parseConfig", () => {
  test("defaults apply to an empty file and missing sections", () => {
    const { config, sources } = parseConfig({ schema: Schema, text: "", env: {} });
    expect(config).toEqual({
      mixer: { name: "mixer-1", machine_id: 1 },
      enrollment: { auto_adopt: false, pending_ttl: 86_400_000 },
      api: { listen: "127.0.0.1:8090", origins: [] },
    });
    expect(sources["mixer.name"]).toBe("default");
  });

  test("file values win over defaults, environment wins over the file", () => {
    const text = '[mixer]\nname = "m-east"\nmachine_id = 7\n[enrollment]\nauto_adopt = false\n';
    const env = {
      FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true",
      FLUXRIG_MIXER_MACHINE_ID: "9",
      FLUXRIG_API_ORIGINS: "a, b",
    };
    const { config, sources } = parseConfig({ schema: Schema, text, env });
    expect(config.mixer).toEqual({ name: "m-east", machine_id: 9 });
    expect(config.enrollment.auto_adopt).toBe(true);
    expect(config.api.origins).toEqual(["a", "b"]);
    expect(sources).toMatchObject({
      "mixer.name": "file",
      "mixer.machine_id": "env",
      "api.listen": "default",
    });
  });

  test("durations parse units and refuse bare numbers", () => {
    expect(
      parseConfig({ schema: Schema, text: '[enrollment]\npending_ttl = "90s"', env: {} }).config.enrollment,
    ).toMatchObject({ pending_ttl: 90_000 });
    expect(() => parseConfig({ schema: Schema, text: "[enrollment]\npending_ttl = 90", env: {} })).toThrow(
      /enrollment\.pending_ttl.*duration/,
    );
  });

  test("a value of the wrong type names the file, the key and what was expected", () => {
    const err = catchError(() =>
      parseConfig({ schema: Schema, file: "m.toml", text: '[mixer]\nmachine_id = "seven"', env: {} }),
    );
    expect(err).toBeInstanceOf(ConfigValueError);
    expect(err).toMatchObject({ file: "m.toml", key: "mixer.machine_id" });
    expect((err as Error).message).toMatch(/^m\.toml: mixer\.machine_id: .*number/);
  });

  test("out of range values are refused", () => {
    expect(() =>
      parseConfig({ schema: Schema, file: "m.toml", text: "[mixer]\nmachine_id = 0", env: {} }),
    ).toThrow(/mixer\.machine_id/);
  });

  test("an unknown key is refused rather than silently ignored (typos)", () => {
    const err = catchError(() =>
      parseConfig({ schema: Schema, file: "m.toml", text: "[mixer]\nnmae = 'x'", env: {} }),
    );
    expect(err).toMatchObject({ key: "mixer.nmae" });
  });

  test("a bad environment value names the variable", () => {
    expect(() =>
      parseConfig({ schema: Schema, text: "", env: { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "perhaps" } }),
    ).toThrow(/FLUXRIG_ENROLLMENT_AUTO_ADOPT: expected true or false/);
    expect(() => parseConfig({ schema: Schema, text: "", env: { FLUXRIG_MIXER_MACHINE_ID: "x1" } })).toThrow(
      /FLUXRIG_MIXER_MACHINE_ID: expected a number/,
    );
  });

  test("a bad string or duration from the environment names the variable, not the file", () => {
    const env = { FLUXRIG_ENROLLMENT_PENDING_TTL: "lots" };
    const err = (() => {
      try {
        parseConfig({ schema: Schema, file: "m.toml", text: "", env });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigValueError);
    expect((err as ConfigValueError).message).toMatch(
      /^enrollment\.pending_ttl: environment variable FLUXRIG_ENROLLMENT_PENDING_TTL: /,
    );
    expect((err as ConfigValueError).file).toBeUndefined();
    expect(() =>
      parseConfig({ schema: Schema, file: "m.toml", text: "", env: { FLUXRIG_MIXER_MACHINE_ID: "0" } }),
    ).toThrow(/environment variable FLUXRIG_MIXER_MACHINE_ID/);
    // The same bad value in the file still names the file.
    expect(() =>
      parseConfig({ schema: Schema, file: "m.toml", text: '[enrollment]\npending_ttl = "lots"', env: {} }),
    ).toThrow(/^m\.toml: enrollment\.pending_ttl: /);
  });

  test("broken TOML gives the line and column", () => {
    const err = catchError(() =>
      parseConfig({ schema: Schema, file: "m.toml", text: "[mixer]\nname = = 1", env: {} }),
    );
    expect(err).toBeInstanceOf(ConfigSyntaxError);
    expect(err).toMatchObject({ file: "m.toml", line: 2 });
    expect((err as Error).message).toMatch(/line 2, column/);
  });

  test("a section that is not a table is refused", () => {
    expect(() => parseConfig({ schema: Schema, file: "m.toml", text: 'mixer = "x"', env: {} })).toThrow(
      /m\.toml: mixer: expected a \[mixer\] table/,
    );
  });
});

describe("loadConfig", () => {
  test("reads the file", async () => {
    const file = join(dir, "ok.toml");
    await writeFile(file, '[mixer]\nname = "from-file"\n');
    const { config } = await loadConfig({ schema: Schema, file, env: {} });
    expect(config.mixer.name).toBe("from-file");
  });

  test("a missing file is a ConfigFileError naming it, unless optional", async () => {
    const file = join(dir, "absent.toml");
    await expect(loadConfig({ schema: Schema, file, env: {} })).rejects.toBeInstanceOf(ConfigFileError);
    await expect(loadConfig({ schema: Schema, file, env: {} })).rejects.toThrow(
      /absent\.toml: cannot read config/,
    );
    const { config } = await loadConfig({ schema: Schema, file, env: {}, optionalFile: true });
    expect(config.mixer.name).toBe("mixer-1");
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected an error");
}
