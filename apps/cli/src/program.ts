// The commander program: global options, help texts with settings and exit codes, and every command group.
import { Command, Option } from "commander";
import { parseTimeout } from "./arg-parsers.js";
import type { CliContext } from "./cli-context.js";
import { registerCluster } from "./commands/cluster.js";
import { registerEnrollTokens } from "./commands/enroll-tokens.js";
import { registerEvents } from "./commands/events.js";
import { registerPassport } from "./commands/passport.js";
import { registerRacks } from "./commands/racks.js";
import { registerScenario } from "./commands/scenario.js";
import { registerTokens } from "./commands/tokens.js";
import { EXIT_CODES_HELP } from "./exit-codes.js";
import { DEFAULT_API_URL } from "./settings.js";
import { CLI_VERSION } from "./version.js";

const SETTINGS_HELP = `Settings (the first one found wins):
  1. the flags --api-url, --token, --timeout, --actor
  2. FLUXRIG_API_URL, FLUXRIG_API_TOKEN, FLUXRIG_API_TIMEOUT, FLUXRIG_ACTOR
  3. the file $FLUXRIG_CLI_CONFIG, else $XDG_CONFIG_HOME/fluxrig/cli.json, else ~/.config/fluxrig/cli.json:
       {"api_url": "http://mixer:8090", "token": "...", "timeout": "10s", "actor": "alice"}
  4. defaults: ${DEFAULT_API_URL}, no token, 10s, your login name
  The token is the Mixer's [api] auth_token (the bootstrap admin) or a named token from "fluxrig tokens create";
  a named token works the same, and the audit log records its name (--actor only labels the bootstrap token).
  Prefer the environment or the file for the token: command-line flags are visible to other users in ps.
  Colour is used when stdout is a terminal and NO_COLOR is not set.`;

const EXAMPLES = `Examples:
  $ fluxrig racks list --status pending
  $ fluxrig racks show rack-nyc-01
  $ fluxrig racks adopt rack-nyc-01 rack-nyc-02
  $ fluxrig scenario apply edge-demo.yaml --activate
  $ fluxrig events --since 1h
  $ fluxrig passport inspect state.flux --cluster-key cluster.pub`;

/** A fresh program for one run (commander keeps parse state on its objects). */
export function createProgram(ctx: CliContext): Command {
  const program = new Command("fluxrig")
    .description(
      "The fluxrig operator CLI: Racks, scenarios, the audit log and passports, over the Mixer's REST API.",
    )
    .version(`fluxrig ${CLI_VERSION}`, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .addOption(new Option("--api-url <url>", `the Mixer's API (default ${DEFAULT_API_URL})`))
    .addOption(new Option("--token <token>", "the API bearer token (prefer FLUXRIG_API_TOKEN)"))
    .addOption(
      new Option("--timeout <duration>", "per request: 10s, 500ms, 2m (default 10s)").argParser(parseTimeout),
    )
    .addOption(new Option("--actor <name>", "who you are in the audit log (default: your login name)"))
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.deps.io.stdout.write(s),
      writeErr: (s) => ctx.deps.io.stderr.write(s),
      // Commander's message, then its suggestion ("(Did you mean --status?)") as a note under it.
      outputError: (s) => {
        const [first = "", ...rest] = s.trim().split("\n");
        ctx.out.error({ message: first.replace(/^error:\s*/i, ""), code: "usage", notes: rest });
      },
    })
    .showHelpAfterError("(add --help for usage)")
    .addHelpText("after", `\n${SETTINGS_HELP}\n\n${EXIT_CODES_HELP}\n\n${EXAMPLES}`);
  // Under --json a refusal also prints the Mixer's error body on stdout: the action says whether it was asked for.
  program.hook("preAction", (_root, action) => {
    ctx.jsonMode = action.opts<{ json?: boolean }>().json === true;
  });
  registerRacks(program, ctx);
  registerScenario(program, ctx);
  registerCluster(program, ctx);
  registerEvents(program, ctx);
  registerPassport(program, ctx);
  registerTokens(program, ctx);
  registerEnrollTokens(program, ctx);
  return program;
}
