// A bounded, line-by-line capture of a child's output, shared by the nats-server helper and spawned processes.
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";

/** Where a captured line came from; `note` lines are the testkit's own markers (start, restart, stop). */
export type LineSource = "stdout" | "stderr" | "note";

/** One captured line; `seq` counts every line ever captured, so it survives the buffer dropping old ones. */
export interface CapturedLine {
  readonly seq: number;
  readonly source: LineSource;
  readonly text: string;
}

export interface LineLogOptions {
  /** Label used when echoing (and by failure reports). */
  label: string;
  /** How many lines to keep; older ones are dropped and counted (default 5000). */
  maxLines?: number;
  /** Echo every line to stderr as it arrives (default: env `FLUXRIG_TESTKIT_ECHO` is set). */
  echo?: boolean;
  /** Prefix stderr lines with `[err]` in {@link LineLog.text} (default true; nats-server logs only to stderr). */
  tagStderr?: boolean;
}

/** A single line longer than this is cut, so one runaway write cannot eat the memory bound. */
const MAX_LINE_CHARS = 16_384;

/**
 * Keeps the last `maxLines` lines written to the streams attached to it and tells listeners about each new one.
 *
 * @example
 * const log = new LineLog({ label: "nats" });
 * log.attach(child.stderr, "stderr");
 * log.text(); // everything kept so far, one line each
 */
export class LineLog {
  readonly label: string;
  readonly #maxLines: number;
  readonly #echo: boolean;
  readonly #tagStderr: boolean;
  readonly #lines: CapturedLine[] = [];
  readonly #listeners = new Set<(line: CapturedLine) => void>();
  #next = 0;

  constructor(opts: LineLogOptions) {
    this.label = opts.label;
    this.#maxLines = opts.maxLines ?? 5_000;
    this.#echo = opts.echo ?? Boolean(process.env.FLUXRIG_TESTKIT_ECHO);
    this.#tagStderr = opts.tagStderr ?? true;
  }

  /** Captures `readable` line by line until it ends; a trailing partial line is kept too. */
  attach(readable: Readable, source: Exclude<LineSource, "note">): void {
    const decoder = new StringDecoder("utf8");
    let pending = "";
    const take = (text: string): void => {
      pending += text;
      let newline = pending.indexOf("\n");
      while (newline !== -1) {
        this.push(source, pending.slice(0, newline).replace(/\r$/, ""));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
      }
      if (pending.length > MAX_LINE_CHARS) {
        this.push(source, pending);
        pending = "";
      }
    };
    readable.on("data", (chunk: Buffer) => take(decoder.write(chunk)));
    readable.on("end", () => {
      take(decoder.end());
      if (pending !== "") this.push(source, pending);
      pending = "";
    });
    // A broken pipe on our side must not crash the test run; the exit event reports what matters.
    readable.on("error", () => {});
  }

  /** Adds one line (the testkit uses `note` for its own markers, e.g. "restarted"). */
  push(source: LineSource, text: string): void {
    const line: CapturedLine = {
      seq: this.#next++,
      source,
      text: text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}…[cut]` : text,
    };
    this.#lines.push(line);
    if (this.#lines.length > this.#maxLines) this.#lines.splice(0, this.#lines.length - this.#maxLines);
    if (this.#echo) process.stderr.write(`[${this.label}] ${line.text}\n`);
    for (const listener of this.#listeners) listener(line);
  }

  /** The lines still kept, oldest first; `since` keeps only lines with `seq >= since` (see {@link mark}). */
  lines(since = 0): CapturedLine[] {
    return this.#lines.filter((l) => l.seq >= since);
  }

  /** The `seq` the next line will get: pass it as `since` to look only at what comes after now. */
  mark(): number {
    return this.#next;
  }

  /** How many old lines the bound has dropped. */
  get dropped(): number {
    return this.#next - this.#lines.length;
  }

  /** The kept lines as text, `tail` last ones only when given; notes and stderr are tagged. */
  text(tail?: number): string {
    const kept = tail === undefined ? this.#lines : this.#lines.slice(-tail);
    const skipped = this.#next - kept.length;
    const head = skipped > 0 ? [`… ${skipped} earlier line${skipped === 1 ? "" : "s"} not shown`] : [];
    return [...head, ...kept.map((line) => this.#render(line))].join("\n");
  }

  /** Calls `listener` for every line from now on; returns the unsubscribe function. */
  onLine(listener: (line: CapturedLine) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #render(line: CapturedLine): string {
    if (line.source === "note") return `-- ${line.text} --`;
    return line.source === "stderr" && this.#tagStderr ? `[err] ${line.text}` : line.text;
  }
}
