// Whether this Mixer leads the work done once across Mixers (offline sweeps, pending TTL, revocation pruning): read by
// presence/ and fleet/ without knowing what decides it (a KV lease in cluster mode, kv/lease-gate.ts; always in single
// mode). docs/cluster.md, "Work done once".

/** Tells whether this Mixer leads now, and when that changes. */
export interface LeaderGate {
  /** True while this Mixer may do the work done once: read it right before each verdict, not once per batch. */
  readonly leading: boolean;
  /**
   * Calls `listener` with the new state on each change (false at once when leadership ends; true when it begins, so the
   * listener can start its grace from that moment). Returns the unsubscribe.
   */
  onChange(listener: (leading: boolean) => void): () => void;
}

/** A single Mixer: it always leads, and that never changes. */
export const ALWAYS_LEADING: LeaderGate = Object.freeze({
  leading: true,
  onChange: () => () => undefined,
});

/**
 * A gate whose state is set by its owner (the lease adapter, tests): tells listeners once per change, in the order they
 * subscribed. A listener that throws does not keep the others from hearing it.
 */
export class LeaderFlag implements LeaderGate {
  #leading: boolean;
  readonly #listeners = new Set<(leading: boolean) => void>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(initial = false, opts: { onListenerError?: (error: unknown) => void } = {}) {
    this.#leading = initial;
    this.#onListenerError = opts.onListenerError ?? (() => undefined);
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Sets the state; listeners hear it only when it changed. */
  set(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    for (const listener of [...this.#listeners]) {
      try {
        listener(leading);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  onChange(listener: (leading: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
