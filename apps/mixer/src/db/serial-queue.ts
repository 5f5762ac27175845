// A FIFO of async jobs that run one at a time: DuckDB gets one statement (or one transaction) at a time.

/** Runs jobs strictly one after another, in the order they were queued; a failed job does not stop the queue. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;

  /** Queues `job` and settles with its result once every earlier job has settled. */
  run<T>(job: () => Promise<T>): Promise<T> {
    this.#pending++;
    const result = this.#tail.then(job);
    const settled = result.then(
      () => this.#done(),
      () => this.#done(),
    );
    this.#tail = settled;
    return result;
  }

  /** Jobs queued or running. */
  get pending(): number {
    return this.#pending;
  }

  /** Resolves once every job queued so far has settled. */
  async idle(): Promise<void> {
    await this.#tail;
  }

  #done(): void {
    this.#pending--;
  }
}
