// fluxrig-rack: reads the command line and config, builds the agent's deps, runs it until SIGTERM/SIGINT.
import { ConfigError } from "@fluxrig/config";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { parseRackArgs, USAGE } from "./cli/cli-args.js";
import { runStatus } from "./cli/run-status.js";
import { loadRackConfig } from "./config.js";
import { statePaths } from "./identity/state-paths.js";
import { connectWithRetry } from "./nats-link.js";
import { createRack } from "./rack.js";
import { RackUsageError } from "./rack-error.js";
import { RACK_VERSION } from "./version.js";

const DRAIN_TIMEOUT_MS = 10_000;

async function runAgent(configFile: string | undefined): Promise<number> {
  const config = await loadRackConfig({ file: configFile });
  // Synchronous writes: lines stay in order and none is lost when the process exits right after logging.
  const logger = pino(
    { level: config.rack.log_level, base: { app: "fluxrig-rack", rack: config.rack.name } },
    pino.destination({ dest: 1, sync: true }),
  );
  const connecting = new AbortController();
  let nc: NatsConnection | undefined;
  const ncPromise = connectWithRetry({
    url: config.nats.url,
    clientName: `fluxrig-rack/${config.rack.name}`,
    logger,
    signal: connecting.signal,
  }).then((connection) => {
    nc = connection;
    return connection;
  });
  // A first connect abandoned at shutdown rejects; that is expected, not a failure.
  ncPromise.catch(() => undefined);
  const rack = createRack({ config, paths: statePaths(config.rack.state_dir), logger, nc: ncPromise });

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
      connecting.abort(new Error(`${signal} before NATS connected`));
      void (async () => {
        await rack.stop(`received ${signal}`);
        if (nc !== undefined && !nc.isClosed()) {
          await Promise.race([nc.drain(), new Promise((r) => setTimeout(r, DRAIN_TIMEOUT_MS).unref())]).catch(
            (error: unknown) => logger.warn({ err: error }, "nats: drain failed"),
          );
        }
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
    if (error instanceof ConfigError || error instanceof RackUsageError) {
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
