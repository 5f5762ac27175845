// RSS and CPU time of a process from /proc (Linux): what the Mixer, nats-server and the no-op subscriber cost.
import { readFileSync } from "node:fs";

// USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK); /proc/<pid>/stat counts CPU time in these ticks.
const TICKS_PER_S = 100;

/** Resident set size in bytes (VmRSS), or undefined when the process is gone or there is no /proc. */
export function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * User plus system CPU time in ms (10 ms resolution), or undefined when unknown. With `mainThreadOnly`, only the
 * thread whose id is the pid: for Node that is the event loop (JS), apart from GC helpers, libuv and DuckDB threads.
 */
export function cpuMs(pid: number | undefined, mainThreadOnly = false): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces; fields after it start at state (3rd): utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/**
 * Scheduler times of a process's main thread, in ms (/proc/<pid>/task/<pid>/schedstat): on a CPU, and runnable but
 * waiting for one (run delay). Run delay is CPU starvation by other work; time in neither is sleep or blocking.
 */
export function schedMs(pid: number | undefined): { runMs: number; waitMs: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8")
      .trim()
      .split(" ")
      .map(Number);
    return run === undefined || wait === undefined ? undefined : { runMs: run / 1e6, waitMs: wait / 1e6 };
  } catch {
    return undefined;
  }
}

/** This process's own CPU time in ms. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Samples RSS of one process on a timer and keeps the peak (bounded: one number, not a series). */
export class RssWatch {
  #peak = 0;
  #peakDetail = "";
  #timer: NodeJS.Timeout | undefined;

  /** `detail` describes the process at a new peak (e.g. how its memory splits), kept with the peak. */
  constructor(
    readonly pid: () => number | undefined,
    readonly detail: () => string = () => "",
  ) {}

  start(everyMs = 500): this {
    this.#timer = setInterval(() => this.sample(), everyMs);
    this.#timer.unref();
    return this;
  }

  sample(): number | undefined {
    const rss = rssBytes(this.pid());
    if (rss !== undefined && rss > this.#peak) {
      this.#peak = rss;
      this.#peakDetail = this.detail();
    }
    return rss;
  }

  get peak(): number {
    return this.#peak;
  }

  get peakDetail(): string {
    return this.#peakDetail;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
