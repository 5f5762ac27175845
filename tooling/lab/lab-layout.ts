// What lives where under the lab directory (.lab/), the tokens generated once, and --reset.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Every path the lab reads or writes; see docs/lab.md for what each holds. */
export interface LabLayout {
  dir: string;
  lockFile: string;
  tokenFile: string;
  telemetryTokenFile: string;
  natsDir: string;
  natsConfig: string;
  /** jwt bus: the block `fluxrig-mixer nats-config` writes, included by `natsConfig`. */
  natsAuthConfig: string;
  /** jwt bus: where nats-server's full resolver keeps the account JWTs the Mixer pushes (kept across runs). */
  natsResolverDir: string;
  /** jwt bus: the shared bootstrap credential every lab Rack starts with (`[nats] creds`). */
  bootstrapCreds: string;
  mixerDir: string;
  racksDir: string;
  logsDir: string;
  /** `source .lab/env`: the CLI on PATH, pointed at this lab (holds the token). */
  envFile: string;
  /** Holds the `fluxrig` shim that `envFile` puts on PATH. */
  binDir: string;
}

export function labLayout(dir: string): LabLayout {
  return {
    dir,
    lockFile: join(dir, "lab.lock"),
    tokenFile: join(dir, "token"),
    telemetryTokenFile: join(dir, "telemetry-token"),
    natsDir: join(dir, "nats"),
    natsConfig: join(dir, "nats", "nats-server.conf"),
    natsAuthConfig: join(dir, "nats", "auth.conf"),
    natsResolverDir: join(dir, "nats", "jwt"),
    bootstrapCreds: join(dir, "bootstrap.creds"),
    mixerDir: join(dir, "mixer"),
    racksDir: join(dir, "racks"),
    logsDir: join(dir, "logs"),
    envFile: join(dir, "env"),
    binDir: join(dir, "bin"),
  };
}

/** A Rack's state dir: `.lab/racks/<name>/`. */
export function rackStateDir(layout: LabLayout, name: string): string {
  return join(layout.racksDir, name);
}

/** A process's log: `.lab/logs/<name>.log`. */
export function logFile(layout: LabLayout, name: string): string {
  return join(layout.logsDir, `${name}.log`);
}

/** Creates the directories (mode 0700: they hold keys and tokens). The Mixer and Racks create their own. */
export async function prepareLayout(layout: LabLayout): Promise<void> {
  for (const dir of [layout.dir, layout.natsDir, layout.racksDir, layout.logsDir, layout.binDir]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }
}

// Logs are appended across runs; past this size a log is moved to <name>.log.1 (replacing the previous one).
const MAX_LOG_BYTES = 20 * 1024 * 1024;

/** Keeps each log below {@link MAX_LOG_BYTES} by moving a large one aside before a run. */
export async function rotateLogs(layout: LabLayout): Promise<void> {
  for (const entry of await readdir(layout.logsDir)) {
    if (!entry.endsWith(".log")) continue;
    const path = join(layout.logsDir, entry);
    if ((await stat(path)).size > MAX_LOG_BYTES) await rename(path, `${path}.1`);
  }
}

/** `--reset`: removes everything in the lab dir but the lock the caller holds. */
export async function wipeLab(layout: LabLayout): Promise<void> {
  for (const entry of await readdir(layout.dir)) {
    const path = join(layout.dir, entry);
    if (path !== layout.lockFile) await rm(path, { recursive: true, force: true });
  }
}

/**
 * The token in `file`, created (random, mode 0600) when absent or empty, so every run reuses the same one.
 * @example const { token, created } = await readOrCreateToken(".lab/token");
 */
export async function readOrCreateToken(file: string): Promise<{ token: string; created: boolean }> {
  try {
    const token = (await readFile(file, "utf8")).trim();
    if (token !== "") {
      await chmod(file, 0o600);
      return { token, created: false };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const token = `lab_${randomBytes(24).toString("base64url")}`;
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { token, created: true };
}
