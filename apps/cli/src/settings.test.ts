// Settings precedence (flags > env > file > defaults) and errors that name where a bad value came from.
import { describe, expect, test } from "vitest";
import { CliError } from "./cli-error.js";
import { EXIT } from "./exit-codes.js";
import { DEFAULT_API_URL, normalizeApiUrl, resolveSettings } from "./settings.js";

const file = (values: Record<string, string>) => ({ path: "/home/op/.config/fluxrig/cli.json", values });

describe("precedence: flags > env > file > default", () => {
  test("defaults", () => {
    const s = resolveSettings({ flags: {}, env: {}, file: null, username: "op" });
    expect(s).toMatchObject({ apiUrl: DEFAULT_API_URL, token: undefined, timeoutMs: 10_000, actor: "op" });
    expect(s.sources).toEqual({ apiUrl: "default", token: "none", timeout: "default" });
  });

  test("the file over defaults", () => {
    const s = resolveSettings({
      flags: {},
      env: {},
      file: file({ api_url: "http://file:1", token: "f", timeout: "30", actor: "filer" }),
    });
    expect(s).toMatchObject({ apiUrl: "http://file:1", token: "f", timeoutMs: 30_000, actor: "filer" });
    expect(s.sources).toEqual({ apiUrl: "file", token: "file", timeout: "file" });
  });

  test("the environment over the file; an empty variable counts as unset", () => {
    const s = resolveSettings({
      flags: {},
      env: {
        FLUXRIG_API_URL: "http://env:2",
        FLUXRIG_API_TOKEN: "",
        FLUXRIG_API_TIMEOUT: "2s",
        FLUXRIG_ACTOR: "e",
      },
      file: file({ api_url: "http://file:1", token: "f" }),
    });
    expect(s).toMatchObject({ apiUrl: "http://env:2", token: "f", timeoutMs: 2000, actor: "e" });
  });

  test("flags over everything", () => {
    const s = resolveSettings({
      flags: { apiUrl: "http://flag:3/", token: "x", timeoutMs: 500, actor: "flagger" },
      env: { FLUXRIG_API_URL: "http://env:2", FLUXRIG_API_TOKEN: "e", FLUXRIG_API_TIMEOUT: "2s" },
      file: file({ api_url: "http://file:1", token: "f" }),
      username: "op",
    });
    expect(s).toMatchObject({ apiUrl: "http://flag:3", token: "x", timeoutMs: 500, actor: "flagger" });
    expect(s.sources).toEqual({ apiUrl: "flag", token: "flag", timeout: "flag" });
  });
});

describe("errors name where the bad value came from", () => {
  function usage(fn: () => unknown): CliError {
    try {
      fn();
    } catch (err) {
      if (err instanceof CliError) return err;
      throw err;
    }
    throw new Error("did not throw");
  }

  test("a bad URL in the environment", () => {
    const err = usage(() =>
      resolveSettings({ flags: {}, env: { FLUXRIG_API_URL: "mixer:8090x" }, file: null }),
    );
    expect(err.exitCode).toBe(EXIT.usage);
    expect(err.message).toMatch(/^FLUXRIG_API_URL: /);
  });

  test("a token an HTTP header cannot carry", () => {
    const err = usage(() =>
      resolveSettings({ flags: {}, env: { FLUXRIG_API_TOKEN: "s3cret\n" }, file: null }),
    );
    expect(err.message).toMatch(/^FLUXRIG_API_TOKEN: the token holds characters an HTTP header cannot carry/);
    expect(err.message).not.toContain("s3cret");
  });

  test("a bad timeout in the file", () => {
    const err = usage(() => resolveSettings({ flags: {}, env: {}, file: file({ timeout: "soon" }) }));
    expect(err.message).toMatch(/cli\.json: timeout: expected a duration/);
  });
});

test("normalizeApiUrl keeps a path prefix and refuses what would leak or confuse", () => {
  expect(normalizeApiUrl("https://proxy/fluxrig/", "--api-url")).toBe("https://proxy/fluxrig");
  expect(() => normalizeApiUrl("ftp://x", "--api-url")).toThrow(/http:\/\/ or https:\/\//);
  expect(() => normalizeApiUrl("http://u:p@x", "--api-url")).toThrow(/credentials/);
  expect(() => normalizeApiUrl("http://x/?a=1", "--api-url")).toThrow(/query/);
});

test("a URL ending in /api/v1 is refused with the base URL to use instead", () => {
  expect(() => normalizeApiUrl("http://127.0.0.1:8090/api/v1", "FLUXRIG_API_URL")).toThrow(
    'FLUXRIG_API_URL: "http://127.0.0.1:8090/api/v1" ends with /api/v1; give the Mixer\'s base URL instead: http://127.0.0.1:8090',
  );
  expect(() => normalizeApiUrl("https://proxy/fluxrig/api/v1/", "--api-url")).toThrow(
    /instead: https:\/\/proxy\/fluxrig$/,
  );
  // A prefix that merely contains the words is still a prefix.
  expect(normalizeApiUrl("https://proxy/api/v1x", "--api-url")).toBe("https://proxy/api/v1x");
});
