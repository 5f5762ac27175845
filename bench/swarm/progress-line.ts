// Progress on stderr: one line redrawn in place on a terminal, a line every few seconds in a log (pnpm bench, CI).

const BAR_WIDTH = 24;

/** A bar like `[#########---------] 48%`, from done/total. */
export function bar(done: number, total: number): string {
  const f = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(f * BAR_WIDTH);
  return `[${"#".repeat(full)}${"-".repeat(BAR_WIDTH - full)}] ${Math.floor(f * 100)
    .toString()
    .padStart(3)}%`;
}

export class ProgressLine {
  readonly #tty = process.stderr.isTTY === true;
  readonly #logEveryMs: number;
  #lastDraw = 0;
  #width = 0;
  #phase = "";

  constructor(opts: { logEveryMs?: number } = {}) {
    this.#logEveryMs = opts.logEveryMs ?? 5_000;
  }

  /** Starts a phase: always printed, on its own line. */
  phase(name: string): void {
    this.#clear();
    this.#phase = name;
    process.stderr.write(`swarm: ${name}\n`);
    this.#lastDraw = Date.now();
  }

  /** The phase's current state; redrawn at most 5 times a second on a terminal. */
  update(text: string): void {
    const now = Date.now();
    if (now - this.#lastDraw < (this.#tty ? 200 : this.#logEveryMs)) return;
    this.#lastDraw = now;
    const line = `swarm: ${this.#phase}: ${text}`;
    if (this.#tty) {
      process.stderr.write(`\r${line.padEnd(this.#width)}`);
      this.#width = line.length;
    } else {
      process.stderr.write(`${line}\n`);
    }
  }

  /** A note that must not be overwritten (a warning, a phase's outcome). */
  note(text: string): void {
    this.#clear();
    process.stderr.write(`swarm: ${text}\n`);
  }

  #clear(): void {
    if (this.#tty && this.#width > 0) process.stderr.write(`\r${" ".repeat(this.#width)}\r`);
    this.#width = 0;
  }
}
