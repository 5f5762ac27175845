// The optional settings file: $FLUXRIG_CLI_CONFIG, else $XDG_CONFIG_HOME/fluxrig/cli.json, else ~/.config/fluxrig/cli.json.
import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import { CliError } from "./cli-error.js";
import { EXIT } from "./exit-codes.js";

// JSON, not TOML: no TOML parser is a dependency of apps/cli (smol-toml is only reachable from packages/config).
export const CONFIG_FILE_NAME = "cli.json";
const KEYS = ["api_url", "token", "timeout", "actor"] as const;
const MAX_BYTES = 64 * 1024;

/** What the file may set; every key is optional. */
export type ConfigFileValues = Partial<Record<(typeof KEYS)[number], string>>;

export interface ConfigFile {
  path: string;
  values: ConfigFileValues;
  /** Things worth telling the operator (a token file others can read, a cli.toml that is not read). */
  warnings: string[];
}

/**
 * Where the file is looked for: `FLUXRIG_CLI_CONFIG` if set, else under `XDG_CONFIG_HOME` or `~/.config`.
 *
 * @example
 * configFilePath({ XDG_CONFIG_HOME: "/tmp/x" }, "/home/op"); // "/tmp/x/fluxrig/cli.json"
 */
export function configFilePath(env: Readonly<Record<string, string | undefined>>, homeDir: string): string {
  if (env.FLUXRIG_CLI_CONFIG) return env.FLUXRIG_CLI_CONFIG;
  const base = env.XDG_CONFIG_HOME ? env.XDG_CONFIG_HOME : join(homeDir, ".config");
  return join(base, "fluxrig", CONFIG_FILE_NAME);
}

function fileError(path: string, message: string, cause?: unknown): CliError {
  return new CliError("config", `config file ${path}: ${message}`, { exitCode: EXIT.usage, cause });
}

/**
 * Checks the parsed file: an object of known string keys. Unknown keys are refused so that a typo (`tokn`)
 * is an error and not a silently ignored setting.
 *
 * @example
 * checkConfigValues("/x/cli.json", { api_url: "http://mixer:8090" }); // { api_url: "http://mixer:8090" }
 */
export function checkConfigValues(path: string, value: unknown): ConfigFileValues {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fileError(path, 'expected a JSON object such as {"api_url": "http://127.0.0.1:8090"}');
  }
  const out: ConfigFileValues = {};
  for (const [key, v] of Object.entries(value)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw fileError(path, `unknown key ${JSON.stringify(key)} (expected ${KEYS.join(", ")})`);
    }
    if (typeof v !== "string") throw fileError(path, `${key}: expected a string`);
    out[key as (typeof KEYS)[number]] = v;
  }
  return out;
}

/** Reads and checks the file; null when there is none. A broken file is a usage error naming the file. */
export async function readConfigFile(path: string): Promise<ConfigFile | null> {
  let text: string;
  let mode: number;
  try {
    const handle = await open(path, "r");
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw fileError(path, "not a regular file");
      if (info.size > MAX_BYTES) throw fileError(path, `${info.size} bytes is too large for a settings file`);
      mode = info.mode;
      text = await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return tomlOnly(path);
    throw fileError(path, `cannot read it (${code ?? "unknown error"})`, err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw fileError(path, `not valid JSON: ${(err as Error).message}`, err);
  }
  const values = checkConfigValues(path, parsed);
  const warnings: string[] = [];
  if (values.token !== undefined && (mode & 0o077) !== 0) {
    warnings.push(`${path} holds a token and others may read it; run: chmod 600 ${path}`);
  }
  return { path, values, warnings };
}

// An operator who wrote cli.toml should hear why it has no effect rather than wonder.
async function tomlOnly(path: string): Promise<ConfigFile | null> {
  if (!path.endsWith(`/${CONFIG_FILE_NAME}`)) return null;
  const toml = `${path.slice(0, -CONFIG_FILE_NAME.length)}cli.toml`;
  try {
    await stat(toml);
  } catch {
    return null;
  }
  return {
    path,
    values: {},
    warnings: [`${toml} is not read: put the same keys in ${path} as JSON (api_url, token, timeout, actor)`],
  };
}
