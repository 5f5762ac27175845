// The exit codes scripts can rely on, and how an HTTP answer maps onto them.

/**
 * Every exit code the CLI uses. Anything else is a crash of Node itself.
 *
 * @example
 * process.exitCode = EXIT.refused;
 */
export const EXIT = {
  /** Done as asked. */
  ok: 0,
  /** The Mixer (or the offline check) said no: not found, invalid transition, conflict, invalid input, bad passport. */
  refused: 1,
  /** The command line is wrong: unknown command or option, bad argument, missing --yes. Nothing was sent. */
  usage: 2,
  /** Could not talk to the Mixer: connection refused, DNS, timeout, not a Mixer, 502/503/504. Worth retrying. */
  unreachable: 3,
  /** The Mixer refused the token (401) or its role (403). Retrying cannot help: fix the token. */
  auth: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code table as `--help` and docs/cli.md show it. */
export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  refused: the Mixer answered with an error (not found, invalid transition, conflict, schema, ...),
     or an offline check failed (passport not valid)
  2  usage: unknown command or option, bad argument, --yes missing without a terminal; nothing was sent
  3  unreachable: connection refused, DNS failure, timeout, not a Mixer, 5xx unavailable
     (worth retrying)
  4  auth: the token was refused (401) or lacks the right (403); retrying cannot help`;

/**
 * The exit code for an HTTP error status. 401/403 are a wrong or missing token: their own code, because a script that
 * retries exit 3 would retry a bad token forever. 502/503/504 mean nobody could answer: "cannot talk to the Mixer".
 * `registry_full` is a 503 but a real answer (no MachineID is free), so it is a refusal.
 *
 * @example
 * exitCodeForStatus(404, "not_found"); // 1
 */
export function exitCodeForStatus(status: number, code?: string): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 503 && code === "registry_full") return EXIT.refused;
  if (status === 502 || status === 503 || status === 504) return EXIT.unreachable;
  return EXIT.refused;
}
