// Disk faults for tests: a directory made unwritable (also for root), a tiny tmpfs, and a filesystem filled to ENOSPC.
//
// Root ignores permission bits, so `chmod` alone proves nothing when tests run as root (as CI does here). As root,
// `chattr +i` (immutable) refuses every write, even through descriptors opened before; a tmpfs can be mounted with a
// size, filled, and remounted read-only (EROFS) once nobody holds a file open for writing. Without root, `chmod`
// works, and mounting is out of reach: `fsFaultSupport()` says which faults this machine can produce.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { track } from "./cleanup-registry.js";

/** Which disk faults this machine can produce, and how. */
export interface FsFaultSupport {
  root: boolean;
  /** `mount -t tmpfs` works: a full disk and a read-only filesystem (EROFS) can be produced. */
  tmpfs: boolean;
  /** `chattr +i` works on the temp dir's filesystem: a running process's open files can be made unwritable. */
  chattr: boolean;
  /** How `lockDirectory` makes a directory unwritable here. */
  lockMethod: "chattr +i" | "chmod" | "none";
}

let support: FsFaultSupport | undefined;

/** One line for a report: how this machine's disk faults are made. */
export function describeFsFaultSupport(s: FsFaultSupport): string {
  return `faults made with: ${s.root ? "root" : "non-root"}, tmpfs ${s.tmpfs ? "available" : "unavailable"}, directory lock by ${s.lockMethod}`;
}

/** Probes once (cached) what this machine allows. */
export function fsFaultSupport(): FsFaultSupport {
  if (support) return support;
  const root = process.getuid?.() === 0;
  const probe = mkdtempSync(join(tmpdir(), "fluxrig-fsprobe-"));
  let tmpfs = false;
  let chattr = false;
  try {
    if (root) {
      const mnt = join(probe, "mnt");
      execFileSync("mkdir", [mnt]);
      tmpfs = tryRun("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]);
      if (tmpfs) tryRun("umount", [mnt]);
      const file = join(probe, "f");
      closeSync(openSync(file, "w"));
      chattr = tryRun("chattr", ["+i", file]);
      if (chattr) {
        // Immutable must really refuse a write, and must come off again.
        try {
          closeSync(openSync(file, "a"));
          chattr = false;
        } catch {
          // Refused, as it should be.
        }
        tryRun("chattr", ["-i", file]);
      }
    }
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
  const lockMethod = root ? (chattr ? "chattr +i" : "none") : "chmod";
  support = { root, tmpfs, chattr, lockMethod };
  return support;
}

function tryRun(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

/** Undoes a fault; idempotent. */
export interface FsFault extends AsyncDisposable {
  undo(): Promise<void>;
}

function fault(label: string, undoSync: () => void): FsFault {
  let done = false;
  const untrack = track({ label, stop: async () => run(), killSync: () => run() });
  const run = (): void => {
    if (done) return;
    done = true;
    untrack();
    undoSync();
  };
  return {
    undo: async () => run(),
    [Symbol.asyncDispose]: async () => run(),
  };
}

/**
 * Makes `dir` and the files directly in it unwritable: no new file, no rename, no write to an existing file (as
 * root, also through descriptors already open). Throws when this machine cannot (root without chattr).
 */
export function lockDirectory(dir: string): FsFault {
  const { lockMethod } = fsFaultSupport();
  const files = readdirSync(dir)
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile());
  if (lockMethod === "chattr +i") {
    execFileSync("chattr", ["+i", ...files, dir], { stdio: "pipe" });
    return fault(`chattr +i ${dir}`, () => {
      tryRun("chattr", ["-i", dir, ...files]);
    });
  }
  if (lockMethod === "chmod") {
    const modes = new Map([dir, ...files].map((p) => [p, statSync(p).mode & 0o777]));
    for (const f of files) chmodSync(f, 0o400);
    chmodSync(dir, 0o500);
    return fault(`chmod a-w ${dir}`, () => {
      for (const [p, mode] of modes) {
        try {
          chmodSync(p, mode);
        } catch {
          // Gone meanwhile.
        }
      }
    });
  }
  throw new Error(
    "lockDirectory: running as root without a working chattr; cannot make a directory unwritable",
  );
}

/** A tmpfs of `sizeBytes` mounted on `dir` (which must exist); unmounted (lazily if still busy) on undo. */
export function mountTmpfs(dir: string, sizeBytes: number): FsFault {
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes},mode=0700`, "tmpfs", dir], {
    stdio: "pipe",
  });
  return fault(`tmpfs on ${dir}`, () => {
    if (!tryRun("umount", [dir])) tryRun("umount", ["-l", dir]);
  });
}

/** Remounts the tmpfs on `dir` read-only (fails while any file on it is open for writing). */
export function remountReadOnly(dir: string): FsFault {
  execFileSync("mount", ["-o", "remount,ro", dir], { stdio: "pipe" });
  return fault(`read-only ${dir}`, () => {
    tryRun("mount", ["-o", "remount,rw", dir]);
  });
}

/** Writes a filler file into `dir` until the filesystem answers ENOSPC; undo deletes it. */
export function fillFilesystem(dir: string): FsFault & { bytes: number } {
  const path = join(dir, `.filler-${process.pid}-${Date.now()}`);
  const fd = openSync(path, "w");
  let bytes = 0;
  try {
    const big = Buffer.alloc(64 * 1024);
    const small = Buffer.alloc(512);
    for (const chunk of [big, small]) {
      for (;;) {
        try {
          bytes += writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  const undo = fault(`filler ${path}`, () => rmSync(path, { force: true }));
  return Object.assign(undo, { bytes });
}
