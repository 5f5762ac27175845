// Loads a TOML file, applies FLUXRIG_<SECTION>_<KEY> environment overrides, and validates it against a zod schema.
import { readFile } from "node:fs/promises";
import { parse as parseToml, TomlError } from "smol-toml";
import { type ZodType, z } from "zod";
import { ConfigFileError, ConfigSyntaxError, ConfigValueError } from "./errors.js";

/** Where the effective value of a key came from. */
export type ConfigSource = "file" | "env" | "default";

export interface LoadConfigOptions<S extends z.ZodObject> {
  /** The schema: an object of sections, each an object of keys. */
  schema: S;
  /** Path of the TOML file; when undefined only defaults and environment apply. */
  file?: string | undefined;
  /** TOML text to use instead of reading `file` (tests, stdin); `file` is then only used in messages. */
  text?: string;
  /** Environment to read overrides from; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Prefix of the environment variables; defaults to "FLUXRIG". */
  envPrefix?: string;
  /** When true a missing `file` is not an error (defaults and environment only). */
  optionalFile?: boolean;
}

export interface LoadedConfig<T> {
  config: T;
  /** `section.key` -> where its value came from. */
  sources: Record<string, ConfigSource>;
  file: string | undefined;
}

type Raw = Record<string, Record<string, unknown>>;

/**
 * Reads and validates a config.
 * @example
 * const { config } = await loadConfig({ schema: MixerConfigSchema, file: "fluxrig-mixer.toml" });
 */
export async function loadConfig<S extends z.ZodObject>(
  opts: LoadConfigOptions<S>,
): Promise<LoadedConfig<z.output<S>>> {
  const text = opts.text ?? (await readConfigText(opts.file, opts.optionalFile ?? false));
  return parseConfig({ ...opts, text });
}

/** Like loadConfig, from text already in memory. */
export function parseConfig<S extends z.ZodObject>(
  opts: LoadConfigOptions<S> & { text: string },
): LoadedConfig<z.output<S>> {
  const { schema, file } = opts;
  const env = opts.env ?? process.env;
  const prefix = opts.envPrefix ?? "FLUXRIG";
  const raw = parseTomlText(opts.text, file);
  const sources: Record<string, ConfigSource> = {};

  for (const [section, sectionSchema] of Object.entries(schema.shape)) {
    const given = raw[section];
    if (given !== undefined && (typeof given !== "object" || given === null || Array.isArray(given))) {
      throw new ConfigValueError({
        file,
        key: section,
        expected: "a table",
        message: `expected a [${section}] table`,
      });
    }
    const values: Record<string, unknown> = { ...(given ?? {}) };
    const keys = sectionKeys(sectionSchema as ZodType);
    for (const [key, keySchema] of Object.entries(keys)) {
      const name = `${prefix}_${section}_${key}`.toUpperCase();
      const fromEnv = env[name];
      if (fromEnv !== undefined && fromEnv !== "") {
        values[key] = coerceEnv({ value: fromEnv, schema: keySchema, name, key: `${section}.${key}` });
        sources[`${section}.${key}`] = "env";
      } else {
        sources[`${section}.${key}`] = key in values ? "file" : "default";
      }
    }
    raw[section] = values;
  }

  const result = schema.safeParse(raw);
  if (!result.success) throw issueToError({ error: result.error, file, sources, prefix });
  return { config: result.data, sources, file };
}

async function readConfigText(file: string | undefined, optional: boolean): Promise<string> {
  if (file === undefined) return "";
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && optional) return "";
    const why = code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : String(err);
    throw new ConfigFileError({ file, message: `cannot read config: ${why}`, cause: err });
  }
}

function parseTomlText(text: string, file: string | undefined): Raw {
  try {
    return parseToml(text) as Raw;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split("\n")[0] ?? "invalid TOML";
      return raiseSyntax({ file, message: `${first} at line ${err.line}, column ${err.column}`, err });
    }
    return raiseSyntax({ file, message: `invalid TOML: ${String(err)}`, err });
  }
}

function raiseSyntax(opts: { file: string | undefined; message: string; err: unknown }): never {
  const line = opts.err instanceof TomlError ? opts.err.line : undefined;
  const column = opts.err instanceof TomlError ? opts.err.column : undefined;
  throw new ConfigSyntaxError({ file: opts.file, message: opts.message, line, column, cause: opts.err });
}

/** The keys of a section schema, looking through default/optional wrappers. */
function sectionKeys(schema: ZodType): Record<string, ZodType> {
  const inner = unwrap(schema);
  return inner instanceof z.ZodObject ? (inner.shape as Record<string, ZodType>) : {};
}

function unwrap(schema: ZodType): ZodType {
  let current: ZodType = schema;
  for (let i = 0; i < 10; i++) {
    if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodPrefault
    ) {
      current = current.unwrap() as ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as ZodType;
    } else {
      break;
    }
  }
  return current;
}

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/** Environment values are strings; turn them into what the key's schema expects. */
function coerceEnv(opts: { value: string; schema: ZodType; name: string; key: string }): unknown {
  const target = unwrap(opts.schema);
  const value = opts.value.trim();
  if (target instanceof z.ZodBoolean) {
    if (TRUE.has(value.toLowerCase())) return true;
    if (FALSE.has(value.toLowerCase())) return false;
    throw new ConfigValueError({
      key: opts.key,
      expected: "true or false",
      message: `environment variable ${opts.name}: expected true or false, got "${opts.value}"`,
    });
  }
  if (target instanceof z.ZodNumber) {
    const n = Number(value);
    if (value === "" || !Number.isFinite(n)) {
      throw new ConfigValueError({
        key: opts.key,
        expected: "a number",
        message: `environment variable ${opts.name}: expected a number, got "${opts.value}"`,
      });
    }
    return n;
  }
  if (target instanceof z.ZodArray) return value === "" ? [] : value.split(",").map((part) => part.trim());
  return opts.value;
}

function issueToError(opts: {
  error: z.ZodError;
  file: string | undefined;
  sources: Record<string, ConfigSource>;
  prefix: string;
}): ConfigValueError {
  const { error, file } = opts;
  const issue = error.issues[0];
  if (!issue) return new ConfigValueError({ file, message: "invalid configuration" });
  if (issue.code === "unrecognized_keys") {
    const base = issue.path.map(String).join(".");
    const key = [base, issue.keys[0]].filter(Boolean).join(".");
    const message = base
      ? `unknown key (known keys of [${base}] are listed in the config reference)`
      : "unknown section";
    return new ConfigValueError({ file, key, expected: "a known key", message });
  }
  const key = issue.path.slice(0, 2).map(String).join(".");
  // A value that came from the environment is the variable's fault, not the file's: name the variable.
  if (opts.sources[key] === "env") {
    const name = `${opts.prefix}_${key.replace(".", "_")}`.toUpperCase();
    return new ConfigValueError({
      key,
      expected: issue.message,
      message: `environment variable ${name}: ${issue.message}`,
      cause: error,
    });
  }
  return new ConfigValueError({
    file,
    key: issue.path.map(String).join("."),
    expected: issue.message,
    message: issue.message,
    cause: error,
  });
}
