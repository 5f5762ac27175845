// Small crash-safe writes for the Rack's own state files (rack.json, scenario.json): temp file, fsync, rename.
import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Replaces `path` with `text` so that a crash leaves either the old file or the new one, never a prefix.
 * @example await writeTextAtomic({ path: "/state/rack.json", text, mode: 0o600 });
 */
export async function writeTextAtomic(opts: { path: string; text: string; mode: number }): Promise<void> {
  const temp = join(dirname(opts.path), `.${basename(opts.path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", opts.mode);
    try {
      // fchmod: the umask must not loosen (or tighten) the mode we promise.
      await handle.chmod(opts.mode);
      await handle.writeFile(opts.text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, opts.path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
