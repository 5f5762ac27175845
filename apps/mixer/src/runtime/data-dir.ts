// The Mixer's data dir: created with mode 0700 and held by one process at a time through a pid lock file.
import { constants } from "node:fs";
import { mkdir, open, readFile, rm, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { DataDirError, DataDirLockedError } from "./errors.js";

const LOCK_FILE = "mixer.lock";

export interface DataDirLock {
  readonly dir: string;
  release(): Promise<void>;
}

/**
 * Creates the data dir if needed and takes its lock. A lock left by a process that no longer runs (kill -9) is taken
 * over; a lock held by a live process is refused with DataDirLockedError.
 */
export async function acquireDataDir(dataDir: string): Promise<DataDirLock> {
  const dir = resolve(dataDir);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const info = await stat(dir);
    if (!info.isDirectory()) throw new DataDirError(dir, "exists but is not a directory");
  } catch (err) {
    if (err instanceof DataDirError) throw err;
    throw new DataDirError(dir, `cannot create it: ${(err as Error).message}`, { cause: err });
  }
  const lockPath = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lockPath, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.sync();
      await handle.close();
      return {
        dir,
        release: async () => {
          const holder = await readHolder(lockPath);
          if (holder === process.pid) await rm(lockPath, { force: true });
        },
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EROFS" || code === "EACCES" || code === "ENOSPC" || code === "EPERM") {
        throw new DataDirError(dir, `cannot write the lock file (${code})`, { cause: err });
      }
      if (code !== "EEXIST") throw err;
      const holder = await readHolder(lockPath);
      if (holder !== undefined && holder !== process.pid && isAlive(holder))
        throw new DataDirLockedError(dir, holder);
      // A stale lock from a process that died without releasing it: remove and retry. A crash is often followed
      // by a disk that went read-only or full: say so as plainly as when the lock cannot be written.
      try {
        await unlink(lockPath);
      } catch (rmErr) {
        if ((rmErr as NodeJS.ErrnoException).code === "ENOENT") continue;
        const rmCode = (rmErr as NodeJS.ErrnoException).code ?? "unknown error";
        throw new DataDirError(
          dir,
          `cannot remove the stale lock file ${LOCK_FILE}${holder === undefined ? "" : ` of pid ${holder}`} (${rmCode})`,
          { cause: rmErr },
        );
      }
    }
  }
  throw new DataDirError(dir, "could not take the lock file after 3 attempts");
}

async function readHolder(lockPath: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(lockPath, "utf8")).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (ours or anyone's); the lab's lock file uses it too. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
