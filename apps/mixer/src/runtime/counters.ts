// Named counters for dropped and refused input, so an operator can see what was turned away and why.

/** A set of monotonically increasing counters, e.g. `heartbeat.dropped.unknown_rack`. */
export class Counters {
  readonly #values = new Map<string, number>();

  inc(name: string, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.#values.get(name) ?? 0;
  }

  /** All counters, sorted by name, as a plain object (for the API and logs). */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#values.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** The Mixer's notion of now; injected so tests can move time. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
