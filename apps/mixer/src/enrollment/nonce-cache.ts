// Remembers the nonces of recent hellos so a captured hello cannot be replayed inside the freshness window.

/**
 * A hello is fresh for `windowMs` either side of the Mixer's clock, so a nonce only needs remembering for twice that:
 * after it, the timestamp check refuses the replay on its own. Bounded by `maxEntries` (oldest dropped first); when the
 * bound is hit, nonces older than the window are pruned first, so replays inside the window stay refused unless more
 * than `maxEntries` distinct hellos arrive within it.
 */
export class NonceCache {
  readonly #seen = new Map<string, number>();
  readonly #windowMs: number;
  readonly #maxEntries: number;

  constructor(opts: { windowMs: number; maxEntries?: number }) {
    this.#windowMs = opts.windowMs;
    this.#maxEntries = opts.maxEntries ?? 500_000;
  }

  /** Records the nonce; returns false when it was already seen within the window (a replay). */
  remember(key: string, nowMs: number): boolean {
    const seenAt = this.#seen.get(key);
    if (seenAt !== undefined && nowMs - seenAt <= 2 * this.#windowMs) return false;
    if (seenAt !== undefined) this.#seen.delete(key);
    this.#seen.set(key, nowMs);
    if (this.#seen.size > this.#maxEntries) this.prune(nowMs);
    return true;
  }

  /** Drops nonces older than twice the window, then the oldest ones if still over the bound. */
  prune(nowMs: number): void {
    const horizon = nowMs - 2 * this.#windowMs;
    for (const [key, at] of this.#seen) {
      // Map keeps insertion order, and insertion order is time order: stop at the first fresh one.
      if (at >= horizon) break;
      this.#seen.delete(key);
    }
    while (this.#seen.size > this.#maxEntries) {
      const oldest = this.#seen.keys().next();
      if (oldest.done) break;
      this.#seen.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#seen.size;
  }
}
