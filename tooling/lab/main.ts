// `npm run lab`: parses the options, starts the lab cluster, prints where everything is, and stops it on Ctrl-C.
import { relative } from "node:path";
import { ConfigError } from "../../packages/config/src/index.js";
import { bannerLines } from "./lab-banner.js";
import { LabCluster, LabStartError } from "./lab-cluster.js";
import { LabLockedError } from "./lab-lock.js";
import { LabClusterStartError, LabNatsCluster } from "./lab-nats-cluster.js";
import { type LabOptions, LabUsageError, parseLabOptions, USAGE } from "./lab-options.js";
import { LabWaitError } from "./lab-process.js";

// npm and pnpm forward the terminal's SIGINT to the script, which also gets it from the terminal: one Ctrl-C arrives
// twice within milliseconds. Only a signal this long after the first is a second Ctrl-C.
const REPEAT_SIGNAL_MS = 1_000;

const say = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** A path as the operator would type it from here: relative when inside the working directory. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" ? "." : rel.startsWith("..") ? path : rel;
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseLabOptions>;
  try {
    options = parseLabOptions(process.argv.slice(2), process.cwd());
  } catch (error) {
    if (!(error instanceof LabUsageError)) throw error;
    process.stderr.write(`lab: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    say(USAGE);
    return 0;
  }

  if (options.cluster) return runClusterLab(options);

  const lab = new LabCluster({ options, say: (text) => say(`lab: ${text}`) });
  return runUntilStopped(
    lab,
    async () => {
      const info = await lab.start();
      const banner = bannerLines({
        ...info,
        labDir: shown(info.labDir),
        tokenFile: shown(info.tokenFile),
        envFile: shown(info.envFile),
        logsDir: shown(info.logsDir),
        scenarioFile: shown(info.scenarioFile),
      });
      say(banner.join("\n"));
      lab.startMonitor();
    },
    LabStartError,
  );
}

/** `--cluster`: three nats-servers, two Mixers in cluster mode and the Racks until Ctrl-C (tooling/lab/lab-nats-cluster.ts). */
async function runClusterLab(options: LabOptions): Promise<number> {
  const lab = new LabNatsCluster({ options, say: (text) => say(`lab: ${text}`) });
  return runUntilStopped(lab, async () => say((await lab.start()).join("\n")), LabClusterStartError);
}

/** What both labs offer the run loop. */
interface StoppableLab {
  requestStop(signal: NodeJS.Signals): void;
  killAll(): void;
  untilStopRequested(): Promise<unknown>;
  stop(): Promise<void>;
  /** Set when a part of the lab died on its own (the full lab watches its processes). */
  readonly failure?: string | undefined;
}

/**
 * Runs a lab until a signal or a failure stops it: the first Ctrl-C stops it cleanly, a second one (not the echo of
 * the first) kills what is left, and its children never outlive this process. Resolves with the exit code.
 */
async function runUntilStopped(
  lab: StoppableLab,
  start: () => Promise<void>,
  StartError: new (...args: never[]) => Error,
): Promise<number> {
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      say(`\nlab: ${signal}: stopping (Ctrl-C again to kill at once)`);
      lab.requestStop(signal);
    } else if (Date.now() - firstSignalAt >= REPEAT_SIGNAL_MS) {
      say(`lab: ${signal} again: killing what is left`);
      lab.killAll();
    }
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
  // Whatever happens to this process, the children it started do not outlive it.
  process.on("exit", () => lab.killAll());

  let failed = false;
  try {
    await start();
    await lab.untilStopRequested();
  } catch (error) {
    if (!(error instanceof LabWaitError && error.reason === "aborted")) {
      failed = true;
      const known =
        error instanceof StartError ||
        error instanceof LabLockedError ||
        error instanceof LabWaitError ||
        error instanceof ConfigError;
      say(
        `lab: cannot start: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}`,
      );
    }
  }
  await lab.stop();
  return failed || lab.failure !== undefined ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`lab: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
