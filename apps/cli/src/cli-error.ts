// The one error type commands throw: a code for the `error: <message> (<code>)` line and the exit code to end with.
import { EXIT, type ExitCode } from "./exit-codes.js";

/** Facts a CliError may carry besides its message (validation issues, the request id of a 5xx, ...). */
export interface CliErrorOptions {
  exitCode: ExitCode;
  details?: Record<string, unknown> | undefined;
  /** Extra lines printed after the error line (hints, validation issues). */
  notes?: readonly string[] | undefined;
  /** The Mixer's error body, printed on stdout under --json so scripts can read its details. */
  body?: unknown;
  cause?: unknown;
}

/**
 * A failure the CLI reports and exits on. `code` is a wire error code when the Mixer sent one, otherwise one of
 * the CLI's own (`usage`, `unreachable`, `timeout`, `bad_response`, `aborted`, passport codes).
 *
 * @example
 * throw new CliError("usage", "--limit must be 1..1000", { exitCode: EXIT.usage });
 */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: ExitCode;
  readonly details: Record<string, unknown> | undefined;
  readonly notes: readonly string[];
  readonly body: unknown;

  constructor(
    readonly code: string,
    message: string,
    opts: CliErrorOptions,
  ) {
    super(message, { cause: opts.cause });
    this.exitCode = opts.exitCode;
    this.details = opts.details;
    this.notes = opts.notes ?? [];
    this.body = opts.body;
  }
}

/** The same error with more notes (e.g. validation issues rendered against the file). */
export function withNotes(err: CliError, notes: readonly string[]): CliError {
  return new CliError(err.code, err.message, {
    exitCode: err.exitCode,
    details: err.details,
    notes: [...notes, ...err.notes],
    body: err.body,
    cause: err.cause,
  });
}

/** A usage error: bad arguments, nothing was sent. @example throw usageError("give refs or --pattern"); */
export function usageError(message: string, notes?: readonly string[]): CliError {
  return new CliError("usage", message, { exitCode: EXIT.usage, notes });
}
