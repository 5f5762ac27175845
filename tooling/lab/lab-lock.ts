// One lab per directory: a pid lock file naming the lab and its children; a dead lab's lock (and orphans) is taken over.
import { constants, readFileSync } from "node:fs";
import { open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { isAlive } from "../../apps/mixer/src/runtime/data-dir.js";

/** What `lab.lock` holds. */
export interface LabLockRecord {
  pid: number;
  started_at: string;
  lab_dir: string;
  /** `tier`: the order they were started in (nats-server 0, Mixer 1, Racks 2); orphans are stopped in reverse. */
  children: Array<{ name: string; pid: number; tier: number }>;
}

/** Another lab, still running, holds the directory. */
export class LabLockedError extends Error {
  override readonly name = "LabLockedError";
  constructor(
    readonly holder: LabLockRecord,
    lockFile: string,
  ) {
    super(
      `another lab (pid ${holder.pid}, started ${holder.started_at}) is running on ${holder.lab_dir}. ` +
        `Stop it with Ctrl-C in its terminal or \`kill -TERM ${holder.pid}\`, or use --lab-dir for a second lab. ` +
        `(lock: ${lockFile})`,
    );
  }
}

/** Environment variable every child carries, so an orphan of this lab dir is recognised (and nothing else). */
export const LAB_DIR_ENV = "FLUXRIG_LAB_DIR";
// Recognises the lab's own node process in /proc/<pid>/cmdline.
const LAB_MAIN = "tooling/lab/main.ts";
const ORPHAN_GRACE_MS = 5_000;

export class LabLock {
  readonly #file: string;
  readonly #record: LabLockRecord;

  private constructor(file: string, record: LabLockRecord) {
    this.#file = file;
    this.#record = record;
  }

  /**
   * Takes the lock. A lock whose lab no longer runs is taken over, after stopping the children it recorded that
   * still run (found by pid, confirmed by their environment); `note` reports what was done.
   */
  static async acquire(opts: {
    file: string;
    labDir: string;
    note: (text: string) => void;
  }): Promise<LabLock> {
    const record: LabLockRecord = {
      pid: process.pid,
      started_at: new Date().toISOString(),
      lab_dir: opts.labDir,
      children: [],
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(
          opts.file,
          constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY,
          0o600,
        );
        await handle.writeFile(`${JSON.stringify(record)}\n`);
        await handle.close();
        return new LabLock(opts.file, record);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = await readLock(opts.file);
      if (holder !== undefined && holder.pid !== process.pid && isLabProcess(holder.pid)) {
        throw new LabLockedError(holder, opts.file);
      }
      opts.note(
        holder === undefined
          ? "taking over an unreadable lab lock"
          : `taking over the lock of a lab that is gone (pid ${holder.pid}, started ${holder.started_at})`,
      );
      await stopOrphans(holder?.children ?? [], opts);
      await rm(opts.file, { force: true });
    }
    throw new Error(`could not take the lab lock ${opts.file} after 3 attempts`);
  }

  /** Records a child's pid, so a later lab can stop it if this one is killed. */
  async recordChild(child: { name: string; pid: number; tier: number }): Promise<void> {
    this.#record.children = [...this.#record.children.filter((c) => c.name !== child.name), child];
    const temp = `${this.#file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(this.#record)}\n`, { mode: 0o600 });
    await rename(temp, this.#file);
  }

  async release(): Promise<void> {
    const holder = await readLock(this.#file);
    if (holder?.pid === process.pid) await rm(this.#file, { force: true });
  }
}

async function readLock(file: string): Promise<LabLockRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<LabLockRecord>;
    if (typeof parsed.pid !== "number" || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return undefined;
    return {
      pid: parsed.pid,
      started_at: String(parsed.started_at ?? "?"),
      lab_dir: String(parsed.lab_dir ?? "?"),
      children: (Array.isArray(parsed.children) ? parsed.children : [])
        .filter((c) => Number.isInteger(c?.pid) && c.pid > 0)
        .map((c) => ({ name: String(c.name), pid: c.pid, tier: Number.isInteger(c.tier) ? c.tier : 2 })),
    };
  } catch {
    return undefined;
  }
}

/** A live process that is a lab; where /proc cannot tell (not Linux), any live process counts. */
function isLabProcess(pid: number): boolean {
  if (!isAlive(pid)) return false;
  const cmdline = readProc(pid, "cmdline");
  return cmdline === undefined || cmdline.includes(LAB_MAIN);
}

/** Stops what a dead lab left running, the last started first (Racks together, then the Mixer, then nats-server). */
async function stopOrphans(
  children: LabLockRecord["children"],
  opts: { labDir: string; note: (text: string) => void },
): Promise<void> {
  const tiers = [...new Set(children.map((c) => c.tier))].sort((a, b) => b - a);
  for (const tier of tiers) {
    await Promise.all(
      children
        .filter((c) => c.tier === tier)
        .map(async (c) => {
          if (await stopOrphan(c.pid, opts.labDir)) opts.note(`stopped ${c.name} (pid ${c.pid}) left by it`);
        }),
    );
  }
}

/** Stops a recorded child that still runs and carries this lab dir in its environment; true if it did. */
async function stopOrphan(pid: number, labDir: string): Promise<boolean> {
  const environ = readProc(pid, "environ");
  if (!isAlive(pid) || environ === undefined || !environ.split("\0").includes(`${LAB_DIR_ENV}=${labDir}`)) {
    return false;
  }
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + ORPHAN_GRACE_MS;
  while (isAlive(pid) && Date.now() < deadline) await delay(100);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  return true;
}

function readProc(pid: number, file: "cmdline" | "environ"): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "latin1");
  } catch {
    return undefined;
  }
}
