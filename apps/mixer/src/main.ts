// fluxrig-mixer: reads its config, builds its connections and starts; the only file that touches process state.
import { parseArgs } from "node:util";
import { ConfigError } from "@fluxrig/config";
import { configFileToRead, loadMixerConfig, requireApiAuth } from "./config.js";
import { startMixer } from "./mixer.js";
import { MixerError } from "./runtime/errors.js";
import { HeapGovernor } from "./runtime/heap-governor.js";
import { createLogger } from "./runtime/logger.js";
import { MIXER_VERSION } from "./version.js";

const USAGE = `Usage: fluxrig-mixer [--config fluxrig-mixer.toml]

Runs the fluxrig control plane: registry, enrollment, presence, passports, scenarios and the REST API.
Every config key can be set by an environment variable FLUXRIG_<SECTION>_<KEY>, e.g. FLUXRIG_API_AUTH_TOKEN.

Options:
  -c, --config FILE   config file (default: $FLUXRIG_CONFIG, else ./fluxrig-mixer.toml when present)
  -v, --version       print the version
  -h, --help          this help`;

async function main(): Promise<number> {
  let args: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>;
  const OPTIONS = {
    config: { type: "string", short: "c" },
    version: { type: "boolean", short: "v" },
    help: { type: "boolean", short: "h" },
  } as const;
  try {
    args = parseArgs({ options: OPTIONS, allowPositionals: false });
  } catch (err) {
    process.stderr.write(`fluxrig-mixer: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.values.version) {
    process.stdout.write(`fluxrig-mixer ${MIXER_VERSION}\n`);
    return 0;
  }

  let loaded: Awaited<ReturnType<typeof loadMixerConfig>>;
  try {
    const file = configFileToRead({
      named: args.values.config ?? process.env.FLUXRIG_CONFIG,
      cwd: process.cwd(),
    });
    loaded = await loadMixerConfig({ file });
    requireApiAuth(loaded);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`fluxrig-mixer: config error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  const logger = createLogger({ level: loaded.config.mixer.log_level });
  try {
    const running = await startMixer({ config: loaded.config, logger, version: MIXER_VERSION });
    const softLimitMb = loaded.config.mixer.heap_soft_limit_mb;
    const heap =
      softLimitMb > 0
        ? new HeapGovernor({
            softLimitBytes: softLimitMb * 1024 * 1024,
            onCollect: () => running.mixer.counters.inc("memory.heap_collections_forced"),
          })
        : undefined;
    heap?.start();
    const stop = once(async (signal: string) => {
      heap?.stop();
      logger.info({ signal }, "stopping");
      await running.stop();
      logger.info("stopped");
      process.exit(0);
    });
    process.on("SIGINT", () => void stop("SIGINT"));
    process.on("SIGTERM", () => void stop("SIGTERM"));
    return -1;
  } catch (err) {
    if (err instanceof MixerError) {
      logger.fatal({ code: err.code, err: err.message }, "cannot start");
      process.stderr.write(`fluxrig-mixer: ${err.message}\n`);
      return 1;
    }
    logger.fatal({ err }, "cannot start");
    process.stderr.write(`fluxrig-mixer: ${(err as Error).message}\n`);
    return 1;
  }
}

function once<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let running: Promise<void> | undefined;
  return (...args: A) => {
    running ??= fn(...args);
    return running;
  };
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`fluxrig-mixer: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
