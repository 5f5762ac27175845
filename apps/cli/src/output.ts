// Where output goes: results and JSON on stdout, notes and errors on stderr, colour only for a terminal.
import pc from "picocolors";
import type { CliError } from "./cli-error.js";

export type Colors = ReturnType<typeof pc.createColors>;

/** Anything with `write`, like process.stdout. */
export interface Writer {
  write(chunk: string): unknown;
  isTTY?: boolean | undefined;
}

/**
 * Colour when stdout is a terminal and NO_COLOR is not set (https://no-color.org: any non-empty value);
 * FORCE_COLOR (non-empty, not "0") turns it on anyway, e.g. for `less -R`.
 *
 * @example
 * colorEnabled({ env: { NO_COLOR: "1" }, isTTY: true }); // false
 */
export function colorEnabled(opts: {
  env: Readonly<Record<string, string | undefined>>;
  isTTY: boolean | undefined;
}): boolean {
  const { env } = opts;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return opts.isTTY === true && env.TERM !== "dumb";
}

/** Writes what commands show. One instance per run. */
export class Output {
  readonly c: Colors;
  readonly #stdout: Writer;
  readonly #stderr: Writer;

  constructor(opts: { stdout: Writer; stderr: Writer; color: boolean }) {
    this.#stdout = opts.stdout;
    this.#stderr = opts.stderr;
    this.c = pc.createColors(opts.color);
  }

  /** A block of text on stdout, newline added. */
  print(text: string): void {
    this.#stdout.write(`${text}\n`);
  }

  /** A value as JSON on stdout, for scripts. */
  json(value: unknown): void {
    this.#stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A value as one line of JSON on stdout (a followed stream: one object per line). */
  jsonLine(value: unknown): void {
    this.#stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** A side remark on stderr (hints, "no Racks"), so stdout stays parseable. */
  note(text: string): void {
    this.#stderr.write(`${text}\n`);
  }

  warn(text: string): void {
    this.#stderr.write(`${this.c.yellow("warning:")} ${text}\n`);
  }

  /** `error: <message> (<code>)`, then the error's notes, indented. */
  error(err: Pick<CliError, "message" | "code" | "notes">): void {
    const lines = [`${this.c.red("error:")} ${err.message} (${err.code})`, ...err.notes.map((n) => `  ${n}`)];
    this.#stderr.write(`${lines.join("\n")}\n`);
  }
}
