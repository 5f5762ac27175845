// A child process under test: its output captured line by line, waits with deadlines, and a stop that always ends it.
import { type ChildProcess, spawn } from "node:child_process";
import { basename } from "node:path";
import { type Started, track } from "./cleanup-registry.js";
import { ProcessExitedError, ProcessTimeoutError } from "./errors.js";
import {
  describeMatcher,
  type EntryMatcher,
  type LogEntry,
  matchesEntry,
  parseLogLine,
} from "./json-lines.js";
import { type CapturedLine, LineLog } from "./line-log.js";

/** How a process ended: `code` when it exited, `signal` when a signal killed it. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options for starting any program under the testkit's watch. */
export interface StartProcessOptions {
  command: string;
  args?: readonly string[];
  /** Merged over `process.env`; a key set to `undefined` is removed. */
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  /** Name used in logs and errors (default: the command's base name). */
  label?: string;
  /** `pipe` to write to `child.stdin` (default `ignore`). */
  stdin?: "ignore" | "pipe";
  /** Grace between SIGTERM and SIGKILL in `stop()` (default 5000 ms). */
  stopGraceMs?: number;
  /** Capture into this log instead of a new one (the nats-server helper keeps one log across restarts). */
  log?: LineLog;
  /** Register with the exit-hook registry (default true; the nats-server helper registers itself instead). */
  track?: boolean;
}

/** Which lines to consider: only those from `since` on (see `mark()`), and only one stream if given. */
export interface LineFilter {
  since?: number;
  stream?: "stdout" | "stderr";
}

const DEFAULT_WAIT_MS = 10_000;
// If a grandchild keeps our pipes open, 'close' never comes; after 'exit' we wait this long for the last output.
const CLOSE_AFTER_EXIT_MS = 2_000;

/**
 * A running (or finished) child process with captured output. Get one from `spawnScript`, `spawnBinary` or
 * {@link startProcess}; dispose it (`await using`) or call `stop()`.
 *
 * @example
 * await using rack = spawnBinary("fluxrig-rack", { env: { FLUXRIG_NATS_URL: nats.url } });
 * await rack.waitForJson({ msg: "enrollment pending" });
 */
export class SpawnedProcess implements AsyncDisposable, Started {
  readonly label: string;
  readonly child: ChildProcess;
  readonly #log: LineLog;
  readonly #graceMs: number;
  readonly #closed: Promise<ExitStatus>;
  readonly #untrack: () => void;
  #exit: ExitStatus | undefined;
  #done = false;
  #stopping: Promise<ExitStatus> | undefined;

  constructor(opts: StartProcessOptions) {
    this.label = opts.label ?? basename(opts.command);
    this.#graceMs = opts.stopGraceMs ?? 5_000;
    this.#log = opts.log ?? new LineLog({ label: this.label });
    this.child = spawn(opts.command, [...(opts.args ?? [])], {
      cwd: opts.cwd,
      env: mergeEnv(opts.env),
      stdio: [opts.stdin ?? "ignore", "pipe", "pipe"],
    });
    if (this.child.stdout) this.#log.attach(this.child.stdout, "stdout");
    if (this.child.stderr) this.#log.attach(this.child.stderr, "stderr");
    this.#closed = new Promise((resolve) => {
      let fallback: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(fallback);
        this.#done = true;
        resolve(this.#exit ?? { code: null, signal: null });
      };
      this.child.once("exit", (code, signal) => {
        this.#exit = { code, signal };
        fallback = setTimeout(finish, CLOSE_AFTER_EXIT_MS);
        fallback.unref();
      });
      this.child.once("close", finish);
      this.child.on("error", (error) => {
        // Spawn failures (ENOENT, EACCES) emit 'error' and maybe no 'exit'; make them an exit with the reason.
        this.#log.push("note", `failed to run ${opts.command}: ${error.message}`);
        if (this.child.pid === undefined) {
          this.#exit = { code: null, signal: null };
          finish();
        }
      });
    });
    this.#untrack = opts.track === false ? () => {} : track(this);
  }

  /** The OS process id (undefined only if the spawn itself failed). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How it ended, once it has; `undefined` while it runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.#exit;
  }

  get running(): boolean {
    return this.#exit === undefined && this.child.pid !== undefined;
  }

  /** The captured lines as text (both streams), optionally only those after a `mark()` or of one stream. */
  lines(filter: LineFilter = {}): string[] {
    return this.#select(filter).map((l) => l.text);
  }

  /** The captured lines that are JSON objects, parsed; other lines are skipped. */
  json<T extends LogEntry = LogEntry>(filter: LineFilter = {}): T[] {
    return this.#select(filter).flatMap((l) => {
      const entry = parseLogLine(l.text);
      return entry === undefined ? [] : [entry as T];
    });
  }

  /** A position in the output: pass it as `since` to look only at lines written after this call. */
  mark(): number {
    return this.#log.mark();
  }

  /** Everything captured (bounded), `tail` last lines only when given; for printing when a test fails. */
  output(tail?: number): string {
    return this.#log.text(tail);
  }

  /**
   * Resolves with the first line (already captured or still to come) matching `match`. Rejects with
   * {@link ProcessExitedError} if the process ends without printing one, or {@link ProcessTimeoutError}.
   *
   * @example
   * await proc.waitForLine(/listening on/, { timeoutMs: 5_000 });
   */
  waitForLine(
    match: RegExp | ((line: string) => boolean),
    opts: LineFilter & { timeoutMs?: number } = {},
  ): Promise<string> {
    const test = match instanceof RegExp ? (text: string) => match.test(text) : match;
    return this.#waitFor(
      (line) => (test(line.text) ? line.text : undefined),
      `a line matching ${describeMatcher(match)}`,
      opts,
    );
  }

  /**
   * Resolves with the first JSON log entry matching `match` (an example object or a predicate).
   *
   * @example
   * const entry = await rack.waitForJson({ msg: "passport stored", name: "rack-1" });
   */
  waitForJson<T extends LogEntry = LogEntry>(
    match: EntryMatcher<T>,
    opts: LineFilter & { timeoutMs?: number } = {},
  ): Promise<T> {
    return this.#waitFor(
      (line) => {
        const entry = parseLogLine(line.text) as T | undefined;
        return entry !== undefined && matchesEntry(entry, match) ? entry : undefined;
      },
      `a JSON entry matching ${describeMatcher(match)}`,
      opts,
    );
  }

  /** Resolves with how the process ended; rejects with {@link ProcessTimeoutError} if it is still running. */
  async waitForExit(opts: { timeoutMs?: number } = {}): Promise<ExitStatus> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.#timeoutError(`${this.label} did not exit within ${timeoutMs} ms`, timeoutMs)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.#closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` (default SIGTERM); false if the process has already ended. */
  kill(signal: NodeJS.Signals = "SIGTERM"): boolean {
    return this.running ? this.child.kill(signal) : false;
  }

  /** SIGKILL: the crash a test wants to simulate (no cleanup runs in the child). */
  kill9(): boolean {
    return this.kill("SIGKILL");
  }

  /**
   * Ends the process: SIGTERM, then SIGKILL if it is still running after the grace period. Idempotent; resolves
   * with how it ended and unregisters it.
   */
  stop(opts: { graceMs?: number } = {}): Promise<ExitStatus> {
    this.#stopping ??= (async () => {
      if (this.running) {
        this.kill("SIGTERM");
        const graceMs = opts.graceMs ?? this.#graceMs;
        const ended = await Promise.race([this.#closed.then(() => true), delay(graceMs).then(() => false)]);
        if (!ended) {
          this.#log.push("note", `still running ${graceMs} ms after SIGTERM: SIGKILL`);
          this.kill("SIGKILL");
        }
      }
      const status = await this.#closed;
      this.#untrack();
      return status;
    })();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #select(filter: LineFilter): CapturedLine[] {
    return this.#log
      .lines(filter.since)
      .filter((l) => l.source !== "note" && (filter.stream === undefined || l.source === filter.stream));
  }

  #waitFor<R>(
    pick: (line: CapturedLine) => R | undefined,
    what: string,
    opts: LineFilter & { timeoutMs?: number },
  ): Promise<R> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_MS;
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      let unsubscribe = (): void => {};
      let timer: NodeJS.Timeout | undefined;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unsubscribe();
        fn();
      };
      const consider = (line: CapturedLine): boolean => {
        if (line.source === "note" || (opts.stream !== undefined && line.source !== opts.stream))
          return false;
        if (opts.since !== undefined && line.seq < opts.since) return false;
        const found = pick(line);
        if (found === undefined) return false;
        settle(() => resolve(found));
        return true;
      };
      for (const line of this.#log.lines(opts.since)) if (consider(line)) return;
      unsubscribe = this.#log.onLine(consider);
      timer = setTimeout(() => {
        const message = `${what} from ${this.label}: none within ${timeoutMs} ms`;
        settle(() => reject(this.#timeoutError(message, timeoutMs)));
      }, timeoutMs);
      // Only after 'close' is all output in, so a line printed just before exiting still counts.
      void this.#closed.then((status) =>
        settle(() => reject(this.#exitedError(`${this.label} exited before printing ${what}`, status))),
      );
    });
  }

  /** Last resort for exit hooks: SIGKILL now, without waiting. Prefer `stop()`. */
  killSync(): void {
    if (this.#done || this.#exit !== undefined || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, "SIGKILL");
    } catch {
      // Already gone: nothing left to kill.
    }
  }

  #exitedError(message: string, status: ExitStatus): ProcessExitedError {
    const output = this.output(200);
    const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
    return new ProcessExitedError(`${message} (${how}). Output:\n${output}`, {
      label: this.label,
      code: status.code,
      signal: status.signal,
      output,
    });
  }

  #timeoutError(message: string, timeoutMs: number): ProcessTimeoutError {
    const output = this.output(200);
    return new ProcessTimeoutError(`${message}. Output:\n${output}`, {
      label: this.label,
      timeoutMs,
      output,
    });
  }
}

/**
 * Starts any program with its output captured; prefer `spawnScript`/`spawnBinary` for Node programs.
 *
 * @example
 * await using proc = startProcess({ command: "sleep", args: ["30"] });
 */
export function startProcess(opts: StartProcessOptions): SpawnedProcess {
  return new SpawnedProcess(opts);
}

function mergeEnv(extra: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
