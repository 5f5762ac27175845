// Small helpers every command file uses: examples in --help, the --json option, reading a command's own options.
import { type Command, Option } from "commander";
import { parseReason } from "./arg-parsers.js";

/** Adds an "Examples:" block (each line run as `$ fluxrig ...`) and the exit code summary to a command's help. */
export function withExamples(cmd: Command, examples: readonly string[]): Command {
  const lines = examples.map((e) => (e.startsWith("#") ? `  ${e}` : `  $ fluxrig ${e}`));
  return cmd.addHelpText(
    "after",
    `\nExamples:\n${lines.join("\n")}\n\nExit codes: 0 ok, 1 refused, 2 usage, 3 unreachable, 4 token refused (see fluxrig --help).`,
  );
}

/** `--json`: print the API body instead of the human view. */
export function jsonOption(description = "print the API's JSON body (for scripts)"): Option {
  return new Option("--json", description);
}

/** Options common to lifecycle changes. */
export function reasonOption(): Option {
  return new Option("--reason <text>", "why, recorded in the audit log (at most 1024 characters)").argParser(
    parseReason,
  );
}
