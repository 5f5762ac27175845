// fluxrig-rack: reads the command line and config, builds the agent's deps, runs it until SIGTERM/SIGINT.
import { ConfigError } from "@fluxrig/config";
import { pino } from "pino";
import { loadCredsFile } from "./bus/creds-file.js";
import { parseRackArgs, USAGE } from "./cli/cli-args.js";
import { runStatus } from "./cli/run-status.js";
import { loadRackConfig } from "./config.js";
import { statePaths } from "./identity/state-paths.js";
import { connectWithRetry } from "./nats-link.js";
import { createRack } from "./rack.js";
import { RackCredsError, RackUsageError } from "./rack-error.js";
import { RACK_VERSION } from "./version.js";

async function runAgent(configFile: string | undefined): Promise<number> {
  const config = await loadRackConfig({ file: configFile });
  // Synchronous writes: lines stay in order and none is lost when the process exits right after logging.
  const logger = pino(
    { level: config.rack.log_level, base: { app: "fluxrig-rack", rack: config.rack.name } },
    pino.destination({ dest: 1, sync: true }),
  );
  // A bootstrap .creds file others can read is refused before anything starts, like the Rack's key.
  const creds = config.nats.creds === undefined ? undefined : await loadCredsFile(config.nats.creds);
  const rack = createRack({
    config,
    paths: statePaths(config.rack.state_dir),
    logger,
    ...(creds !== undefined ? { creds } : {}),
    dial: (req) =>
      connectWithRetry({
        url: config.nats.url,
        clientName: `fluxrig-rack/${config.rack.name}`,
        logger,
        signal: req.signal,
        failOnAuthError: req.failOnAuthError,
        reconnectSpreadMs: config.nats.reconnect_spread,
        ...(req.authenticator !== undefined ? { authenticator: req.authenticator } : {}),
        ...(req.inboxPrefix !== undefined ? { inboxPrefix: req.inboxPrefix } : {}),
      }),
  });

  let stopping = false;
  const done = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, "rack: second signal, exiting now");
        resolve(1);
        return;
      }
      stopping = true;
      logger.info({ signal }, "rack: stopping");
      void (async () => {
        // Also abandons a first connect still in progress and drains the connection.
        await rack.stop(`received ${signal}`);
        logger.info("rack: stopped");
        resolve(0);
      })();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  try {
    await rack.start();
  } catch (error) {
    logger.fatal({ err: error }, "rack: cannot start");
    return 1;
  }
  return done;
}

async function main(argv: readonly string[]): Promise<number> {
  const cmd = parseRackArgs(argv);
  switch (cmd.command) {
    case "help":
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case "version":
      process.stdout.write(`fluxrig-rack ${RACK_VERSION}\n`);
      return 0;
    case "status":
      return runStatus({ ...cmd, out: (text) => process.stdout.write(`${text}\n`) });
    case "run":
      return runAgent(cmd.config);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof RackUsageError || error instanceof RackCredsError) {
      process.stderr.write(`fluxrig-rack: ${error.message}\n`);
      if (error instanceof RackUsageError && error.showUsage) process.stderr.write(`\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `fluxrig-rack: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
