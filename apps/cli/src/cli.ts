// Runs one command line to completion and returns the exit code; never calls process.exit (tests run it in-process).
import { CommanderError } from "commander";
import { CliContext, type CliDeps } from "./cli-context.js";
import { CliError } from "./cli-error.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { createProgram } from "./program.js";

// Commander's ways of ending that are not mistakes: help or version asked for.
const COMMANDER_OK = new Set(["commander.helpDisplayed", "commander.version"]);

/**
 * Parses `argv` (the arguments after the program name), runs the command, prints results and errors.
 *
 * @example
 * const code = await runCli(["racks", "list", "--json"], deps);
 */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<ExitCode> {
  const ctx = new CliContext(deps);
  const program = createProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // `commander.help` is both `fluxrig help racks` (exit code 0) and `fluxrig racks` without a subcommand
      // (1). Everything else commander throws (unknown command or option, bad argument) is a usage error it
      // has already printed.
      if (COMMANDER_OK.has(err.code) || (err.code === "commander.help" && err.exitCode === 0)) return EXIT.ok;
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      if (ctx.jsonMode && err.body !== undefined) ctx.out.json(err.body);
      ctx.out.error(err);
      if (err.exitCode === EXIT.usage && err.code === "usage") ctx.out.note("(add --help for usage)");
      return err.exitCode;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    const notes = deps.env.FLUXRIG_DEBUG
      ? [e.stack ?? ""]
      : ["this is a bug in fluxrig; FLUXRIG_DEBUG=1 shows the stack"];
    ctx.out.error({ message: e.message, code: "internal", notes });
    return EXIT.refused;
  }
}
