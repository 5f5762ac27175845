// Where the CLI finds the Mixer and its token: flags, then environment, then the settings file, then defaults.
import { usageError } from "./cli-error.js";
import type { ConfigFileValues } from "./config-file.js";
import { DurationSyntaxError, parseDuration } from "./durations.js";

export const DEFAULT_API_URL = "http://127.0.0.1:8090";
export const DEFAULT_TIMEOUT_MS = 10_000;

export type SettingSource = "flag" | "env" | "file" | "default";

/** The settings a request needs, each with where it came from (for error hints). */
export interface Settings {
  apiUrl: string;
  token: string | undefined;
  timeoutMs: number;
  actor: string | undefined;
  sources: { apiUrl: SettingSource; token: SettingSource | "none"; timeout: SettingSource };
}

/** What the global flags said (already checked by their parsers). */
export interface SettingFlags {
  apiUrl?: string | undefined;
  token?: string | undefined;
  timeoutMs?: number | undefined;
  actor?: string | undefined;
}

export interface ResolveSettingsInput {
  flags: SettingFlags;
  env: Readonly<Record<string, string | undefined>>;
  file: { path: string; values: ConfigFileValues } | null;
  /** The login name, the actor when nothing else names one. */
  username?: string | undefined;
}

type Picked<T> = { value: T; source: SettingSource; label: string } | undefined;

// An empty environment variable counts as unset, as shells make `FOO= cmd` easy and `unset` awkward.
function pick(
  input: ResolveSettingsInput,
  keys: { flag: string | undefined; env: string; file: keyof ConfigFileValues; flagName: string },
): Picked<string> {
  if (keys.flag !== undefined) return { value: keys.flag, source: "flag", label: keys.flagName };
  const fromEnv = input.env[keys.env];
  if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, source: "env", label: keys.env };
  const fromFile = input.file?.values[keys.file];
  if (fromFile !== undefined && input.file) {
    return { value: fromFile, source: "file", label: `${input.file.path}: ${keys.file}` };
  }
  return undefined;
}

/**
 * Checks an API URL: http or https, no query or fragment; the trailing slash is dropped. A path is kept, for a
 * Mixer behind a reverse proxy under a prefix.
 *
 * @example
 * normalizeApiUrl("http://mixer:8090/", "--api-url"); // "http://mixer:8090"
 */
export function normalizeApiUrl(text: string, label: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`${label}: ${JSON.stringify(text)} is not a URL (expected e.g. ${DEFAULT_API_URL})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw usageError(`${label}: expected an http:// or https:// URL, got ${url.protocol}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw usageError(`${label}: the URL must not carry a query, a fragment or credentials (use the token)`);
  }
  const base = url.toString().replace(/\/+$/, "");
  // Every request path starts with /api/v1 already; a base that ends with it would ask for /api/v1/api/v1/...
  if (/\/api\/v1$/.test(base)) {
    throw usageError(
      `${label}: ${JSON.stringify(text)} ends with /api/v1; give the Mixer's base URL instead: ${base.slice(0, -"/api/v1".length)}`,
    );
  }
  return base;
}

/**
 * Resolves every setting with the precedence flags > environment > file > default.
 *
 * @example
 * resolveSettings({ flags: {}, env: { FLUXRIG_API_URL: "http://m:8090" }, file: null }).apiUrl; // "http://m:8090"
 */
export function resolveSettings(input: ResolveSettingsInput): Settings {
  const url = pick(input, {
    flag: input.flags.apiUrl,
    env: "FLUXRIG_API_URL",
    file: "api_url",
    flagName: "--api-url",
  });
  const token = pick(input, {
    flag: input.flags.token,
    env: "FLUXRIG_API_TOKEN",
    file: "token",
    flagName: "--token",
  });
  const actor = pick(input, {
    flag: input.flags.actor,
    env: "FLUXRIG_ACTOR",
    file: "actor",
    flagName: "--actor",
  });
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  let timeoutSource: SettingSource = "default";
  if (input.flags.timeoutMs !== undefined) {
    timeoutMs = input.flags.timeoutMs;
    timeoutSource = "flag";
  } else {
    const t = pick(input, {
      flag: undefined,
      env: "FLUXRIG_API_TIMEOUT",
      file: "timeout",
      flagName: "--timeout",
    });
    if (t) {
      try {
        timeoutMs = parseDuration(t.value, { defaultUnit: "s" });
      } catch (err) {
        if (err instanceof DurationSyntaxError) throw usageError(`${t.label}: ${err.message}`);
        throw err;
      }
      if (timeoutMs < 1) throw usageError(`${t.label}: the timeout must be at least 1ms`);
      timeoutSource = t.source;
    }
  }
  // fetch would refuse such a header with a TypeError that reads like a network failure; say what is wrong.
  if (token && !/^[\x20-\x7e]+$/.test(token.value)) {
    throw usageError(
      `${token.label}: the token holds characters an HTTP header cannot carry (a trailing newline from a file?)`,
    );
  }
  return {
    apiUrl: url ? normalizeApiUrl(url.value, url.label) : DEFAULT_API_URL,
    token: token?.value,
    timeoutMs,
    actor: actor?.value ?? input.username,
    sources: { apiUrl: url?.source ?? "default", token: token?.source ?? "none", timeout: timeoutSource },
  };
}
