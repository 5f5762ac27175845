// Crash-safe file replacement: temp file in the same dir, write, fsync, rename (or link), fsync the dir.

import { randomBytes } from "node:crypto";
import { link, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  path: string;
  data: string | Uint8Array;
  /** Permission bits of the new file, applied with fchmod so the umask cannot widen or narrow them. */
  mode: number;
  /** Fail with EEXIST rather than replace an existing file (publishes with link(2) instead of rename(2)). */
  exclusive?: boolean;
  /** Crash points for tests: called after the temp file is durable and before it is published. */
  hooks?: { beforePublish?: (tempPath: string) => Promise<void> };
}

/**
 * The name pattern of temp files left by {@link writeFileAtomic} for `path`; readers never look at them.
 *
 * @example
 * tempFilePattern("/s/state.flux").test(".state.flux.4242.a1b2c3d4e5f6.tmp") // true
 */
export function tempFilePattern(path: string): RegExp {
  const base = basename(path).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^\\.${base}\\.\\d+\\.[0-9a-f]{12}\\.tmp$`);
}

/**
 * Replaces (or, with `exclusive`, creates) `path` so that a reader, or the file after a crash at any
 * point, holds either the old content or the new one in full: never a prefix of it.
 *
 * @example
 * await writeFileAtomic({ path: "/var/lib/rack/state.flux", data: text, mode: 0o600 });
 */
export async function writeFileAtomic(opts: AtomicWriteOptions): Promise<void> {
  const dir = dirname(opts.path);
  // A unique name per call: two writes in flight from one process must never share (and clobber) a temp file.
  const temp = join(dir, `.${basename(opts.path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let published = false;
  try {
    const handle = await open(temp, "wx", opts.mode);
    try {
      await handle.chmod(opts.mode);
      await handle.writeFile(opts.data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await opts.hooks?.beforePublish?.(temp);
    if (opts.exclusive) {
      await link(temp, opts.path);
    } else {
      await rename(temp, opts.path);
      published = true;
    }
  } finally {
    // After a link the temp name is a second name for the published file; after a failure it is debris.
    if (!published) await unlink(temp).catch(() => undefined);
  }
  await syncDirectory(dir);
}

/** Makes a rename or link in `dir` durable, where the platform can fsync a directory. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // The file is already published by now; a directory we may not open or sync only costs durability.
    if (!["EISDIR", "EINVAL", "EPERM", "EACCES", "ENOTSUP"].includes(code ?? "")) throw error;
  } finally {
    await handle?.close();
  }
}
