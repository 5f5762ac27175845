// Ed25519 checks of hello signatures on worker threads, so the event loop keeps answering while keys are checked.
import { Worker } from "node:worker_threads";
import { type HelloSignatureInput, verifyHelloSignatureInput } from "@fluxrig/wire";

/**
 * Checking a hello's signature costs about 100 us, the largest single cost of an enrollment on the event loop.
 * The pool sends the checks that arrive in one loop turn to a worker as one message, and answers each hello's
 * promise when the worker replies. With no workers (or once every worker has failed) checks run inline: a hello is
 * never refused because of the pool.
 */
export interface SignatureVerifier {
  verify(input: HelloSignatureInput): Promise<boolean>;
  close(): Promise<void>;
  readonly stats: { inline: number; offloaded: number; batches: number; workers: number };
}

/** Checks in this thread: the default for tests and for `verify_threads = 0`. */
export function inlineVerifier(): SignatureVerifier {
  const stats = { inline: 0, offloaded: 0, batches: 0, workers: 0 };
  return {
    verify: async (input) => {
      stats.inline++;
      return verifyHelloSignatureInput(input);
    },
    close: async () => undefined,
    stats,
  };
}

// The worker's whole program: CommonJS evaluated from a string, so the Mixer stays one bundled file. It applies the
// same check as verifyHelloSignatureInput (an Ed25519 JWK from the raw key, node:crypto verify, false on any error);
// the structural checks were already done by helloSignatureInput in the main thread.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createPublicKey, verify } = require("node:crypto");
parentPort.on("message", (batch) => {
  const out = new Uint8Array(batch.keys.length);
  for (let i = 0; i < out.length; i++) {
    try {
      const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: batch.keys[i] }, format: "jwk" });
      out[i] = verify(null, batch.messages[i], key, batch.signatures[i]) ? 1 : 0;
    } catch {
      out[i] = 0;
    }
  }
  parentPort.postMessage({ id: batch.id, out }, [out.buffer]);
});
`;

interface Job {
  input: HelloSignatureInput;
  resolve: (ok: boolean) => void;
}

interface Lane {
  worker: Worker;
  /** Batches sent to this worker and not answered yet, by id. */
  open: Map<number, Job[]>;
  jobsInFlight: number;
}

/** A pool of `threads` workers (at least 1). Batches go to the least busy worker. */
export class WorkerSignatureVerifier implements SignatureVerifier {
  readonly #lanes: Lane[] = [];
  #queued: Job[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  #nextId = 1;
  #closed = false;
  readonly #onWorkerLost: (err: Error) => void;
  readonly #source: string;
  readonly stats = { inline: 0, offloaded: 0, batches: 0, workers: 0 };

  /** `workerSource` replaces the worker's program (tests use one that crashes). */
  constructor(opts: { threads: number; onWorkerLost?: (err: Error) => void; workerSource?: string }) {
    this.#onWorkerLost = opts.onWorkerLost ?? (() => undefined);
    this.#source = opts.workerSource ?? WORKER_SOURCE;
    for (let i = 0; i < Math.max(1, opts.threads); i++) this.#addLane();
  }

  verify(input: HelloSignatureInput): Promise<boolean> {
    if (this.#closed || this.#lanes.length === 0) return Promise.resolve(this.#inline(input));
    return new Promise<boolean>((resolve) => {
      this.#queued.push({ input, resolve });
      this.#scheduled ??= setImmediate(() => this.#send());
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    // Whatever is still waiting is answered here and now, so no hello hangs on a pool that is going away.
    for (const job of this.#queued.splice(0)) job.resolve(this.#inline(job.input));
    const lanes = this.#lanes.splice(0);
    for (const lane of lanes) this.#settleInline(lane);
    this.stats.workers = 0;
    await Promise.allSettled(lanes.map((lane) => lane.worker.terminate()));
  }

  #inline(input: HelloSignatureInput): boolean {
    this.stats.inline++;
    return verifyHelloSignatureInput(input);
  }

  #addLane(): void {
    const worker = new Worker(this.#source, { eval: true, name: "fluxrig-hello-verify" });
    // The pool must never keep a stopping Mixer alive.
    worker.unref();
    const lane: Lane = { worker, open: new Map(), jobsInFlight: 0 };
    worker.on("message", (reply: { id: number; out: Uint8Array }) => {
      const jobs = lane.open.get(reply.id);
      if (jobs === undefined) return;
      lane.open.delete(reply.id);
      lane.jobsInFlight -= jobs.length;
      jobs.forEach((job, i) => {
        job.resolve(reply.out[i] === 1);
      });
    });
    const lost = (err: Error) => {
      const at = this.#lanes.indexOf(lane);
      if (at < 0) return;
      this.#lanes.splice(at, 1);
      this.stats.workers = this.#lanes.length;
      this.#settleInline(lane);
      if (!this.#closed) this.#onWorkerLost(err);
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`signature worker exited with code ${code}`)));
    this.#lanes.push(lane);
    this.stats.workers = this.#lanes.length;
  }

  /** Answers a lost lane's open jobs in this thread. */
  #settleInline(lane: Lane): void {
    for (const jobs of lane.open.values()) for (const job of jobs) job.resolve(this.#inline(job.input));
    lane.open.clear();
    lane.jobsInFlight = 0;
  }

  #send(): void {
    this.#scheduled = undefined;
    const jobs = this.#queued;
    this.#queued = [];
    if (jobs.length === 0) return;
    const lane = this.#lanes.reduce<Lane | undefined>(
      (best, l) => (best === undefined || l.jobsInFlight < best.jobsInFlight ? l : best),
      undefined,
    );
    if (lane === undefined) {
      for (const job of jobs) job.resolve(this.#inline(job.input));
      return;
    }
    const id = this.#nextId++;
    lane.open.set(id, jobs);
    lane.jobsInFlight += jobs.length;
    this.stats.offloaded += jobs.length;
    this.stats.batches++;
    lane.worker.postMessage({
      id,
      keys: jobs.map((j) => j.input.publicKey),
      messages: jobs.map((j) => j.input.message),
      signatures: jobs.map((j) => j.input.signature),
    });
  }
}
