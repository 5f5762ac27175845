// Times REST reads on a thread of their own, so a read's latency is the Mixer's and the machine's, not the
// generator's: the generator's event loop (10,000 simulated Racks, their sockets, the pump) delays a response's
// callback by whatever turn it is in, which a read timed on that loop counts as the API's.
import { Worker } from "node:worker_threads";

/** One timed read: the body as text and how long it took, request sent to body read, on the timer's thread. */
export interface TimedRead {
  status: number;
  text: string;
  ms: number;
}

interface Answer {
  id: number;
  status?: number;
  text?: string;
  ms?: number;
  error?: string;
}

// CommonJS, evaluated in the worker: fetch and performance are globals there as here.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", async ({ id, url, headers, timeoutMs }) => {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    parentPort.postMessage({ id, status: res.status, text, ms: performance.now() - t0 });
  } catch (err) {
    parentPort.postMessage({ id, error: String((err && err.message) || err) });
  }
});
`;

export class ApiTimer {
  readonly #worker = new Worker(WORKER_SOURCE, { eval: true });
  readonly #pending = new Map<number, { resolve: (r: TimedRead) => void; reject: (e: Error) => void }>();
  #next = 0;

  constructor() {
    // Never what keeps the benchmark alive; a read in flight keeps it referenced (see `get`).
    this.#worker.unref();
    this.#worker.on("message", (a: Answer) => {
      const p = this.#pending.get(a.id);
      if (p === undefined) return;
      this.#pending.delete(a.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (a.error !== undefined) p.reject(new Error(a.error));
      else p.resolve({ status: a.status ?? 0, text: a.text ?? "", ms: a.ms ?? Number.NaN });
    });
    this.#worker.on("error", (err) => this.#failAll(err));
    this.#worker.on("exit", (code) => this.#failAll(new Error(`API timer thread exited (${code})`)));
  }

  /** GET `url` with `headers`, timed on the timer's thread. */
  get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<TimedRead> {
    const id = this.#next++;
    return new Promise<TimedRead>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ id, url, headers, timeoutMs });
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
