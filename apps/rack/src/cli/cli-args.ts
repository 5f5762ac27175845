// The command line: `fluxrig-rack [run] --config FILE` and `fluxrig-rack status --state-dir DIR [--json]`.
import { parseArgs } from "node:util";
import { RackUsageError } from "../rack-error.js";

/** A parsed command line. */
export type RackCommand =
  | { command: "run"; config: string | undefined }
  | { command: "status"; config: string | undefined; stateDir: string | undefined; json: boolean }
  | { command: "help" }
  | { command: "version" };

export const USAGE = `Usage:
  fluxrig-rack [run] --config fluxrig-rack.toml     run the agent
  fluxrig-rack status --state-dir DIR [--json]      show key, cluster pin and passport of a state dir
  fluxrig-rack status --config fluxrig-rack.toml    same, with the state dir and name from the config
  fluxrig-rack --version | --help

Every config key can be set by an environment variable FLUXRIG_<SECTION>_<KEY>, e.g. FLUXRIG_RACK_NAME.
Exit codes: 0 ok, 1 runtime failure (status: no valid active passport), 2 usage or configuration error.`;

/**
 * Parses argv (without `node` and the script).
 * @example parseRackArgs(["status", "--state-dir", "/var/lib/fluxrig-rack", "--json"])
 */
export function parseRackArgs(argv: readonly string[]): RackCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new RackUsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: "help" };
  if (values.version) return { command: "version" };
  const [command = "run", ...rest] = positionals;
  if (rest.length > 0) throw new RackUsageError(`unexpected argument "${rest[0]}"`);
  if (command === "run") {
    if (values["state-dir"] !== undefined || values.json) {
      throw new RackUsageError(
        "--state-dir and --json belong to `status`; set [rack] state_dir in the config",
      );
    }
    return { command: "run", config: values.config };
  }
  if (command === "status") {
    if (values.config === undefined && values["state-dir"] === undefined) {
      throw new RackUsageError("status needs --state-dir DIR or --config FILE");
    }
    return {
      command: "status",
      config: values.config,
      stateDir: values["state-dir"],
      json: values.json ?? false,
    };
  }
  throw new RackUsageError(`unknown command "${command}" (expected run or status)`);
}

const OPTIONS = {
  config: { type: "string", short: "c" },
  "state-dir": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;
