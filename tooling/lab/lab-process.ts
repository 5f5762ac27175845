// One child process of the lab: its own process group, output appended to its log file, waits with deadlines, bounded stop.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";

/** How a child ended: its exit code, or the signal that ended it. */
export interface LabExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LabProcessOptions {
  /** Short name used in messages and the lock file: `nats-server`, `mixer`, `rack-manual`. */
  name: string;
  command: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  logFile: string;
  /** Grace between SIGTERM and SIGKILL in `stop()`. */
  stopGraceMs: number;
}

/** Something the lab waited for did not happen: the process exited, the deadline passed, or the lab is stopping. */
export class LabWaitError extends Error {
  override readonly name = "LabWaitError";
  constructor(
    message: string,
    readonly reason: "exited" | "timeout" | "aborted",
  ) {
    super(message);
  }
}

const TAIL_LINES = 200;
// If the pipes stay open after 'exit' (they should not), stop waiting for 'close' after this long.
const CLOSE_AFTER_EXIT_MS = 2_000;

export class LabProcess {
  readonly name: string;
  readonly logFile: string;
  readonly #child: ChildProcess;
  readonly #log: WriteStream;
  readonly #graceMs: number;
  readonly #tail: string[] = [];
  readonly #listeners = new Set<(line: string) => void>();
  readonly #closed: Promise<LabExit>;
  #exit: LabExit | undefined;
  #stopping: Promise<LabExit> | undefined;
  #killed = false;

  constructor(opts: LabProcessOptions) {
    this.name = opts.name;
    this.logFile = opts.logFile;
    this.#graceMs = opts.stopGraceMs;
    this.#log = createWriteStream(opts.logFile, { flags: "a", mode: 0o600 });
    // A log that cannot be written (disk full) must not take the lab down; the tail in memory still works.
    this.#log.once("error", (error) =>
      process.stderr.write(`lab: cannot write ${opts.logFile}: ${error.message}\n`),
    );
    this.#log.on("error", () => {});
    // Its own process group: a Ctrl-C in the terminal reaches the lab only, which then stops children in order.
    this.#child = spawn(opts.command, [...opts.args], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.#writeMarker({ lab: "process started", name: opts.name, pid: this.#child.pid ?? null });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      if (stream)
        createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (l) =>
          this.#line(l),
        );
    }
    this.#closed = new Promise((resolve) => {
      let fallback: NodeJS.Timeout | undefined;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(fallback);
        const exit = this.#exit ?? { code: null, signal: null };
        this.#writeMarker({ lab: "process exited", name: opts.name, code: exit.code, signal: exit.signal });
        // Resolve once the log is flushed: the lab exits right after its last child, and must not lose lines.
        if (this.#log.closed) resolve(exit);
        else this.#log.once("close", () => resolve(exit)).end();
      };
      this.#child.once("exit", (code, signal) => {
        this.#exit = { code, signal };
        fallback = setTimeout(finish, CLOSE_AFTER_EXIT_MS);
      });
      this.#child.once("close", finish);
      this.#child.on("error", (error) => {
        this.#line(`lab: cannot run ${opts.command}: ${error.message}`);
        if (this.#child.pid === undefined) {
          this.#exit = { code: null, signal: null };
          finish();
        }
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exit === undefined && this.#child.pid !== undefined;
  }

  /** How it ended; `undefined` while it runs. */
  get exitStatus(): LabExit | undefined {
    return this.#exit;
  }

  /** Resolves once it has ended and its output is flushed to the log file. */
  exited(): Promise<LabExit> {
    return this.#closed;
  }

  /** The last lines it printed (bounded), for error messages. */
  tail(lines = 20): string[] {
    return this.#tail.slice(-lines);
  }

  /**
   * Resolves with the first line (from now on, or already printed) that `match` accepts. Rejects with a
   * {@link LabWaitError} when the process exits first, after `timeoutMs`, or when `signal` aborts.
   */
  waitForLine<T>(
    match: (line: string) => T | undefined,
    opts: { timeoutMs: number; what: string; signal?: AbortSignal },
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const settle = (fn: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#listeners.delete(listener);
        opts.signal?.removeEventListener("abort", onAbort);
        fn();
      };
      const listener = (line: string): void => {
        const found = match(line);
        if (found !== undefined) settle(() => resolve(found));
      };
      const onAbort = (): void =>
        settle(() => reject(new LabWaitError(`stopped while waiting for ${opts.what}`, "aborted")));
      const timer = setTimeout(
        () =>
          settle(() =>
            reject(
              new LabWaitError(`${this.name}: no ${opts.what} within ${opts.timeoutMs / 1000} s`, "timeout"),
            ),
          ),
        opts.timeoutMs,
      );
      for (const line of this.#tail) {
        const found = match(line);
        if (found !== undefined) return settle(() => resolve(found));
      }
      this.#listeners.add(listener);
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      void this.#closed.then((exit) =>
        settle(() =>
          reject(
            new LabWaitError(`${this.name} exited (${describeExit(exit)}) before ${opts.what}`, "exited"),
          ),
        ),
      );
    });
  }

  /** SIGTERM, then SIGKILL if it still runs after the grace period. Idempotent. */
  stop(): Promise<LabExit & { killed: boolean }> {
    this.#stopping ??= (async () => {
      if (!this.running) return this.#closed;
      this.#signal("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<"grace-over">((resolve) => {
        timer = setTimeout(() => resolve("grace-over"), this.#graceMs);
      });
      const first = await Promise.race([this.#closed, graceOver]);
      clearTimeout(timer);
      if (first === "grace-over") {
        this.#killed = true;
        this.#signal("SIGKILL");
      }
      return this.#closed;
    })();
    return this.#stopping.then((exit) => ({ ...exit, killed: this.#killed }));
  }

  /** SIGKILL now (a second Ctrl-C); `stop()` callers still resolve when it is gone. */
  kill(): void {
    if (this.running) {
      this.#killed = true;
      this.#signal("SIGKILL");
    }
  }

  #signal(signal: NodeJS.Signals): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  #line(text: string): void {
    this.#log.write(`${text}\n`);
    this.#tail.push(text);
    if (this.#tail.length > TAIL_LINES) this.#tail.splice(0, this.#tail.length - TAIL_LINES);
    for (const listener of [...this.#listeners]) listener(text);
  }

  #writeMarker(fields: Record<string, unknown>): void {
    this.#log.write(`${JSON.stringify({ ...fields, time: new Date().toISOString() })}\n`);
  }
}

/** `code 1`, `signal SIGKILL`: how a process ended, for messages. */
export function describeExit(exit: LabExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}
