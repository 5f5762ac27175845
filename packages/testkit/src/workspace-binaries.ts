// Runs Node programs under test: the built workspace binaries (fluxrig-mixer, fluxrig-rack, fluxrig) and ad-hoc scripts.
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ExitStatus, SpawnedProcess, type StartProcessOptions } from "./child-process.js";
import { BundleMissingError, ProcessTimeoutError, TestkitError } from "./errors.js";

/** The workspace binaries, each bundled by `pnpm build` into one `dist/<name>.js`. */
export type WorkspaceBinary = "fluxrig-mixer" | "fluxrig-rack" | "fluxrig";

// Where each bundle may live, first match wins (the spec allows the CLI to ship inside the mixer app).
const BUNDLES: Record<WorkspaceBinary, readonly string[]> = {
  "fluxrig-mixer": ["apps/mixer/dist/fluxrig-mixer.js"],
  "fluxrig-rack": ["apps/rack/dist/fluxrig-rack.js"],
  fluxrig: ["apps/cli/dist/fluxrig.js", "apps/mixer/dist/fluxrig.js"],
};

/** Options for starting a Node program. */
export interface NodeSpawnOptions
  extends Pick<StartProcessOptions, "env" | "cwd" | "label" | "stdin" | "stopGraceMs"> {
  args?: readonly string[];
  /** Flags for node itself (default `--enable-source-maps`, so stack traces point at the TypeScript). */
  nodeArgs?: readonly string[];
}

/** Options for a one-shot run. */
export interface RunOptions extends Omit<NodeSpawnOptions, "args" | "stdin"> {
  /** Kill it (SIGKILL) and reject after this long (default 30 000 ms). */
  timeoutMs?: number;
  /** Written to its stdin, which is then closed. */
  input?: string;
}

/** What a one-shot run printed and how it ended; `stdout`/`stderr` are complete (not bounded like `lines()`). */
export interface RunResult extends ExitStatus {
  stdout: string;
  stderr: string;
}

/**
 * The monorepo root, found from this file's location (never from the current directory).
 *
 * @example
 * join(repoRoot(), "apps/mixer/dist/fluxrig-mixer.js");
 */
export function repoRoot(): string {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  if (!existsSync(join(root, "pnpm-workspace.yaml"))) {
    throw new TestkitError(`repoRoot: expected pnpm-workspace.yaml in ${root}; has packages/testkit moved?`);
  }
  return root;
}

/**
 * The path of a binary's built bundle; throws {@link BundleMissingError} (telling you to run `pnpm build`) if absent.
 *
 * @example
 * binaryPath("fluxrig-rack"); // "/repo/apps/rack/dist/fluxrig-rack.js"
 */
export function binaryPath(name: WorkspaceBinary): string {
  const candidates = BUNDLES[name];
  if (candidates === undefined) throw new TestkitError(`unknown workspace binary ${JSON.stringify(name)}`);
  const root = repoRoot();
  const found = candidates.map((c) => join(root, c)).find((p) => existsSync(p));
  if (found !== undefined) return found;
  const bundlePath = join(root, candidates[0] ?? "");
  throw new BundleMissingError(
    `${name} is not built: ${bundlePath} does not exist. Run \`pnpm build\` at the repo root first ` +
      "(`pnpm test:int` builds before testing).",
    { binary: name, bundlePath },
  );
}

/**
 * Starts a Node script with `process.execPath`, output captured. Dispose it or `stop()` it.
 *
 * @example
 * await using proc = spawnScript(join(dir.path, "echo.mjs"), { args: ["hello"] });
 * await proc.waitForLine(/hello/);
 */
export function spawnScript(path: string, opts: NodeSpawnOptions = {}): SpawnedProcess {
  const { args = [], nodeArgs = ["--enable-source-maps"], env, ...rest } = opts;
  return new SpawnedProcess({
    label: basename(path),
    ...rest,
    command: process.execPath,
    args: [...nodeArgs, path, ...args],
    // Plain text in logs and CLI output, whatever the developer's terminal asks for.
    env: { NO_COLOR: "1", FORCE_COLOR: undefined, ...env },
  });
}

/**
 * Starts a workspace binary from its built bundle (`apps/<app>/dist/<name>.js`).
 *
 * @example
 * await using mixer = spawnBinary("fluxrig-mixer", { args: ["--config", configPath] });
 * await mixer.waitForJson({ msg: /api listening/ });
 */
export function spawnBinary(name: WorkspaceBinary, opts: NodeSpawnOptions = {}): SpawnedProcess {
  return spawnScript(binaryPath(name), { label: name, ...opts });
}

/**
 * Runs a workspace binary to completion (a CLI call) and resolves with its exit and full output. A non-zero exit
 * resolves (scripts check codes); only the timeout rejects, with {@link ProcessTimeoutError}.
 *
 * @example
 * const { code, stdout } = await runBinary("fluxrig", ["racks", "list", "--json"], { env: { FLUXRIG_API_URL: url } });
 */
export function runBinary(
  name: WorkspaceBinary,
  args: readonly string[] = [],
  opts: RunOptions = {},
): Promise<RunResult> {
  return runScript(binaryPath(name), args, { label: name, ...opts });
}

/** {@link runBinary} for an arbitrary Node script. */
export async function runScript(
  path: string,
  args: readonly string[] = [],
  opts: RunOptions = {},
): Promise<RunResult> {
  const { timeoutMs = 30_000, input, ...rest } = opts;
  const proc = spawnScript(path, { ...rest, args, stdin: input === undefined ? "ignore" : "pipe" });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  proc.child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
  proc.child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
  if (input !== undefined && proc.child.stdin) {
    // A child that exits without reading its input must not turn into an EPIPE crash here.
    proc.child.stdin.on("error", () => {});
    proc.child.stdin.end(input);
  }
  try {
    const status = await proc.waitForExit({ timeoutMs });
    return {
      ...status,
      stdout: Buffer.concat(stdout).toString("utf8"),
      stderr: Buffer.concat(stderr).toString("utf8"),
    };
  } catch (error) {
    if (error instanceof ProcessTimeoutError) proc.kill9();
    throw error;
  } finally {
    await proc.stop();
  }
}
