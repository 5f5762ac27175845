// Configuration errors: each names the file, the key and what was expected, so an operator can fix it in one read.

/** Thrown for any configuration problem. `key` is `section.key` (or undefined for file-level problems). */
export class ConfigError extends Error {
  override readonly name: string = "ConfigError";
  readonly file: string | undefined;
  readonly key: string | undefined;
  readonly expected: string | undefined;

  constructor(opts: { file?: string; key?: string; expected?: string; message: string; cause?: unknown }) {
    const where = [opts.file, opts.key].filter(Boolean).join(": ");
    super(where ? `${where}: ${opts.message}` : opts.message, { cause: opts.cause });
    this.file = opts.file;
    this.key = opts.key;
    this.expected = opts.expected;
  }
}

/** The file could not be read (missing, unreadable). */
export class ConfigFileError extends ConfigError {
  override readonly name = "ConfigFileError";
}

/** The file is not valid TOML; `line` and `column` point at the problem. */
export class ConfigSyntaxError extends ConfigError {
  override readonly name = "ConfigSyntaxError";
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(opts: { file?: string; message: string; line?: number; column?: number; cause?: unknown }) {
    super(opts);
    this.line = opts.line;
    this.column = opts.column;
  }
}

/** A key holds a value of the wrong type or out of range, or is unknown. */
export class ConfigValueError extends ConfigError {
  override readonly name = "ConfigValueError";
}
