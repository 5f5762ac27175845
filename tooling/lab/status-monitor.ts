// Polls GET /api/v1/racks every second: a table redrawn in place on a terminal, appended snapshots otherwise.
import { setTimeout as delay } from "node:timers/promises";
import { listRacks, type RackItem } from "./lab-api.js";
import { type ProcessState, renderTable, summarize } from "./status-table.js";

export interface StatusMonitorOptions {
  apiUrl: string;
  token: string;
  out: NodeJS.WriteStream;
  /** The lab's Rack processes by name, read at every refresh. */
  processes: () => ReadonlyMap<string, ProcessState>;
  /** Between polls (default 1 s). */
  pollMs?: number;
  /** Without a terminal: a snapshot at least this often (default 10 s), and whenever a Rack's status changes. */
  snapshotMs?: number;
}

const REQUEST_TIMEOUT_MS = 3_000;

export class StatusMonitor {
  readonly #opts: StatusMonitorOptions;
  readonly #tty: boolean;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  /** Lines of the block currently drawn on the terminal (TTY only). */
  #drawn: string[] = [];
  #lastKey = "";
  #lastSnapshotAt = 0;
  #apiError: string | undefined;

  constructor(opts: StatusMonitorOptions) {
    this.#opts = opts;
    this.#tty = opts.out.isTTY === true;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Prints a line for the operator above the table (terminal) or in the flow of snapshots. */
  note(text: string): void {
    if (!this.#tty) {
      this.#opts.out.write(`[${clock(new Date())}] ${text}\n`);
      return;
    }
    const block = this.#drawn;
    this.#erase();
    this.#opts.out.write(`${text}\n`);
    this.#draw(block);
  }

  /** Stops polling; the last table stays on screen. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const pollMs = this.#opts.pollMs ?? 1_000;
    while (!this.#stop.signal.aborted) {
      const started = Date.now();
      await this.#refresh();
      try {
        await delay(Math.max(0, pollMs - (Date.now() - started)), undefined, { signal: this.#stop.signal });
      } catch {
        // Aborted: the lab is stopping.
      }
    }
  }

  async #refresh(): Promise<void> {
    let racks: RackItem[];
    try {
      racks = await listRacks({
        apiUrl: this.#opts.apiUrl,
        token: this.#opts.token,
        signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      const message = `status: cannot list Racks: ${(error as Error).message}`;
      if (this.#apiError !== message) this.note(message);
      this.#apiError = message;
      return;
    }
    if (this.#apiError !== undefined) {
      this.note("status: the API answers again");
      // Show the table at once: after a Mixer restart the operator wants to see the Racks, not wait 10 s.
      this.#lastKey = "";
    }
    this.#apiError = undefined;
    const now = new Date();
    const table = renderTable({ racks, processes: this.#opts.processes(), now });
    if (this.#tty) {
      const head = `Racks at ${clock(now)}: ${summarize(racks) || "none yet"}`;
      this.#erase();
      this.#draw([head, ...table.map((l) => `  ${l}`), "  (Ctrl-C stops the lab)"]);
      return;
    }
    const key = racks.map((r) => `${r.name}:${r.status}`).join(",");
    const snapshotMs = this.#opts.snapshotMs ?? 10_000;
    if (key === this.#lastKey && now.getTime() - this.#lastSnapshotAt < snapshotMs) return;
    this.#lastKey = key;
    this.#lastSnapshotAt = now.getTime();
    const racksLine = `racks: ${summarize(racks) || "none yet"}`;
    this.#opts.out.write(`\n[${clock(now)}] ${racksLine}\n${table.map((l) => `  ${l}\n`).join("")}`);
  }

  #draw(lines: string[]): void {
    // Lines longer than the terminal would wrap and throw off the redraw; an unknown width means no cut.
    const columns = this.#opts.out.columns ?? 0;
    const width = columns > 20 ? columns - 1 : Number.POSITIVE_INFINITY;
    const fitted = lines.map((l) => (l.length > width ? l.slice(0, width) : l));
    this.#opts.out.write(fitted.map((l) => `${l}\n`).join(""));
    this.#drawn = fitted;
  }

  #erase(): void {
    // Up over the lines drawn last time, then clear to the end of the screen.
    if (this.#drawn.length > 0) this.#opts.out.write(`\x1b[${this.#drawn.length}A\x1b[0J`);
    this.#drawn = [];
  }
}

function clock(date: Date): string {
  return date.toTimeString().slice(0, 8);
}
