// fluxrig-mixer: reads its config, builds its connections and starts; the only file that touches process state.
import { parseArgs } from "node:util";
import { ConfigError } from "@fluxrig/config";
import { configFileToRead, loadMixerConfig, requireApiAuth } from "./config.js";
import { kvCommand, kvCommandExitCode, kvCommandText } from "./kv-command.js";
import { startMixer } from "./mixer.js";
import { natsConfigCommand } from "./nats-config-command.js";
import { MixerError } from "./runtime/errors.js";
import { HeapGovernor, optimizeHeapForSize } from "./runtime/heap-governor.js";
import { createLogger } from "./runtime/logger.js";
import { MIXER_VERSION } from "./version.js";

const USAGE = `Usage: fluxrig-mixer [--config fluxrig-mixer.toml]
       fluxrig-mixer nats-config --resolver-dir DIR [--config FILE] [--out FILE] [--bootstrap-creds FILE]
       fluxrig-mixer kv import|verify [--config FILE] [--dry-run] [--replicas 3]

Runs the fluxrig control plane: registry, enrollment, presence, passports, scenarios and the REST API.
Every config key can be set by an environment variable FLUXRIG_<SECTION>_<KEY>, e.g. FLUXRIG_API_AUTH_TOKEN.

Options:
  -c, --config FILE   config file (default: $FLUXRIG_CONFIG, else ./fluxrig-mixer.toml when present)
  -v, --version       print the version
  -h, --help          this help

nats-config: creates the bus keys in the data dir if missing and prints nats-server's config block for JWT mode
([nats] auth = "jwt"); run it before starting nats-server and again after a key change (see docs/operations.md).

kv import: copies a stopped single Mixer's registry into the cluster's KV buckets; kv verify compares both sides
(see docs/cluster.md).`;

const KV_USAGE = `Usage: fluxrig-mixer kv import [--config FILE] [--dry-run] [--replicas 1|3|5]
       fluxrig-mixer kv verify [--config FILE] [--replicas 1|3|5]

import: reads the registry in [mixer] data_dir (the Mixer must be stopped: its data-dir lock is taken) and writes
every Rack, node row, claim (MachineID, name, key fingerprint) and scenario into the KV buckets at [nats] url, as the
Mixer's fleet user in JWT mode. Idempotent: a record already there is counted, a different one is reported and left
as it is (exit 1). --dry-run reads and compares but writes nothing.
verify: reads both sides and reports every record that differs, is missing from KV, or is in KV only (exit 1).

Options:
  -c, --config FILE    Mixer config file (default as for the Mixer)
  --dry-run            import: write nothing, say what would be written
  --replicas N         replicas of the buckets, created when absent (default 3; 1 for a single nats-server)
  -h, --help           this help`;

/** `fluxrig-mixer kv import|verify ...`: exit 0 done, 1 conflicts, differences or failure, 2 bad usage or config. */
async function kvMain(argv: string[]): Promise<number> {
  const options = {
    config: { type: "string", short: "c" },
    "dry-run": { type: "boolean" },
    replicas: { type: "string" },
    help: { type: "boolean", short: "h" },
  } as const;
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`fluxrig-mixer kv: ${(err as Error).message}\n\n${KV_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${KV_USAGE}\n`);
    return 0;
  }
  const action = positionals[0];
  if ((action !== "import" && action !== "verify") || positionals.length !== 1) {
    process.stderr.write(`fluxrig-mixer kv: say import or verify\n\n${KV_USAGE}\n`);
    return 2;
  }
  if (action === "verify" && values["dry-run"]) {
    process.stderr.write(`fluxrig-mixer kv: --dry-run is for import (verify never writes)\n\n${KV_USAGE}\n`);
    return 2;
  }
  const replicas = Number(values.replicas ?? "3");
  if (replicas !== 1 && replicas !== 3 && replicas !== 5) {
    process.stderr.write(`fluxrig-mixer kv: --replicas must be 1, 3 or 5\n\n${KV_USAGE}\n`);
    return 2;
  }
  let config: Awaited<ReturnType<typeof loadMixerConfig>>["config"];
  try {
    const file = configFileToRead({ named: values.config ?? process.env.FLUXRIG_CONFIG, cwd: process.cwd() });
    config = (await loadMixerConfig({ file })).config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`fluxrig-mixer kv: config error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    const result = await kvCommand({ action, config, dryRun: values["dry-run"] ?? false, replicas });
    process.stdout.write(kvCommandText(result));
    return kvCommandExitCode(result);
  } catch (err) {
    if (err instanceof MixerError) {
      process.stderr.write(`fluxrig-mixer kv ${action}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

const NATS_CONFIG_USAGE = `Usage: fluxrig-mixer nats-config --resolver-dir DIR [--config FILE] [--out FILE] [--bootstrap-creds FILE]

Creates the bus keys under <data_dir>/bus/ if missing (0600) and prints the nats-server config block for JWT mode:
the operator JWT, the system account, the full resolver storing pushed JWTs in DIR (keep it across restarts) and the
current fleet account JWT. Include it in a nats-server config that sets port etc. Needs no API token.

Options:
  -c, --config FILE          Mixer config file, for [mixer] data_dir (default as for the Mixer)
  --resolver-dir DIR         where nats-server keeps account JWTs (created by nats-server)
  --out FILE                 write the block to FILE instead of stdout
  --bootstrap-creds FILE     also write the shared bootstrap .creds (0600; a secret) that new Racks connect with
  -h, --help                 this help`;

/** `fluxrig-mixer nats-config ...`: exit 0 done, 1 failed, 2 bad usage or config. */
async function natsConfigMain(argv: string[]): Promise<number> {
  const options = {
    config: { type: "string", short: "c" },
    "resolver-dir": { type: "string" },
    out: { type: "string" },
    "bootstrap-creds": { type: "string" },
    help: { type: "boolean", short: "h" },
  } as const;
  let values: ReturnType<typeof parseArgs<{ options: typeof options }>>["values"];
  try {
    values = parseArgs({ args: argv, options, allowPositionals: false }).values;
  } catch (err) {
    process.stderr.write(`fluxrig-mixer nats-config: ${(err as Error).message}\n\n${NATS_CONFIG_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${NATS_CONFIG_USAGE}\n`);
    return 0;
  }
  for (const flag of ["resolver-dir", "out", "bootstrap-creds"] as const) {
    const value = values[flag];
    if (value === "" || (flag === "resolver-dir" && value === undefined)) {
      process.stderr.write(`fluxrig-mixer nats-config: --${flag} needs a path\n\n${NATS_CONFIG_USAGE}\n`);
      return 2;
    }
  }
  let dataDir: string;
  try {
    const file = configFileToRead({ named: values.config ?? process.env.FLUXRIG_CONFIG, cwd: process.cwd() });
    dataDir = (await loadMixerConfig({ file })).config.mixer.data_dir;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`fluxrig-mixer nats-config: config error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    const done = await natsConfigCommand({
      dataDir,
      resolverDir: values["resolver-dir"] ?? "",
      out: values.out,
      bootstrapCreds: values["bootstrap-creds"],
      cwd: process.cwd(),
      now: new Date(),
    });
    const note = (line: string) => process.stderr.write(`fluxrig-mixer nats-config: ${line}\n`);
    if (done.createdKeys.length > 0)
      note(`created bus keys ${done.createdKeys.join(", ")} in ${done.keyDir}`);
    note(
      done.fleetJwt === "stored"
        ? "fleet account JWT: the one the Mixer last pushed (current revocations)"
        : "fleet account JWT: issued now, no revocations (the Mixer has not pushed one yet)",
    );
    if (done.bootstrapCredsPath !== undefined) {
      note(
        `wrote bootstrap creds ${done.bootstrapCredsPath} (0600, expires ${done.bootstrapExpiresAt?.toISOString()})`,
      );
    }
    if (done.outPath === undefined) process.stdout.write(done.text);
    else note(`wrote nats-server config block ${done.outPath}`);
    return 0;
  } catch (err) {
    if (err instanceof MixerError) {
      process.stderr.write(`fluxrig-mixer nats-config: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function main(): Promise<number> {
  if (process.argv[2] === "nats-config") return natsConfigMain(process.argv.slice(3));
  if (process.argv[2] === "kv") return kvMain(process.argv.slice(3));
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
  if (loaded.config.mixer.heap_optimize_for_size) optimizeHeapForSize();
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
