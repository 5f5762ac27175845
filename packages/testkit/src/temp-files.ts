// Temp dirs and DuckDB file paths that delete themselves: one fresh place per test, gone when the test is.
import { mkdtempSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { track } from "./cleanup-registry.js";

/** A fresh directory removed (recursively) on dispose, on `remove()`, or by the exit hook if a test forgets. */
export interface TempDir extends AsyncDisposable, Disposable {
  readonly path: string;
  /** Removes the directory and everything in it; idempotent. */
  remove(): Promise<void>;
}

/** A path for a DuckDB file that does not exist yet, inside its own temp dir (DuckDB adds a `.wal` beside it). */
export interface TempDuckDbPath extends TempDir {
  /** The directory holding the file; `path` is the file itself. */
  readonly dir: string;
}

/**
 * Creates a fresh directory under the OS temp dir, named `fluxrig-<prefix>-XXXXXX`.
 * Set `FLUXRIG_TESTKIT_KEEP=1` to keep temp files for a post-mortem (their paths are printed instead).
 *
 * @example
 * await using dir = tempDir("rack-state");
 * writeFileSync(join(dir.path, "state.flux"), "...");
 */
export function tempDir(prefix = "tmp"): TempDir {
  const path = mkdtempSync(join(tmpdir(), `fluxrig-${safe(prefix)}-`));
  const handle = removableDir(path);
  return { path, ...handle };
}

/**
 * A fresh DuckDB file path (`<new temp dir>/<fileName>`); the file itself is left for DuckDB to create.
 *
 * @example
 * await using db = tempDuckDbPath();
 * const mixer = await createMixer({ dbPath: db.path, ... });
 */
export function tempDuckDbPath(fileName = "registry.duckdb"): TempDuckDbPath {
  const dir = mkdtempSync(join(tmpdir(), "fluxrig-duckdb-"));
  return { path: join(dir, fileName), dir, ...removableDir(dir) };
}

/** Removes `path` recursively unless `FLUXRIG_TESTKIT_KEEP` asks to keep test files; never throws on missing. */
export function removeTestPathSync(path: string): void {
  if (keepFiles()) {
    process.stderr.write(`[testkit] FLUXRIG_TESTKIT_KEEP: kept ${path}\n`);
    return;
  }
  rmSync(path, { recursive: true, force: true, maxRetries: 3 });
}

/** Async twin of {@link removeTestPathSync}. */
export async function removeTestPath(path: string): Promise<void> {
  if (keepFiles()) {
    process.stderr.write(`[testkit] FLUXRIG_TESTKIT_KEEP: kept ${path}\n`);
    return;
  }
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}

function keepFiles(): boolean {
  const keep = process.env.FLUXRIG_TESTKIT_KEEP;
  return keep !== undefined && keep !== "" && keep !== "0";
}

function removableDir(
  path: string,
): Pick<TempDir, "remove" | typeof Symbol.asyncDispose | typeof Symbol.dispose> {
  let removed = false;
  const untrack = track({
    label: `temp dir ${path}`,
    stop: () => remove(),
    killSync: () => removeSync(),
  });
  const remove = async (): Promise<void> => {
    if (removed) return;
    removed = true;
    untrack();
    await removeTestPath(path);
  };
  const removeSync = (): void => {
    if (removed) return;
    removed = true;
    untrack();
    removeTestPathSync(path);
  };
  return { remove, [Symbol.asyncDispose]: remove, [Symbol.dispose]: removeSync };
}

/** Keeps a caller's prefix to characters that are safe in a file name. */
function safe(prefix: string): string {
  return prefix.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 40) || "tmp";
}
