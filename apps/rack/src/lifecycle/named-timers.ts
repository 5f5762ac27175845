// Named one-shot timers for the agent (hello, renewal, expiry): re-arming one replaces it; far deadlines are chained.

// setTimeout holds at most 2^31-1 ms (about 24.8 days); passports may live longer.
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * One-shot timers by name: `set` replaces a pending timer of the same name, `clearAll` on shutdown.
 * @example timers.at("renew", dueAtMs, () => renew()); timers.after("hello", 5000, () => hello());
 */
export class NamedTimers<Name extends string> {
  readonly #timers = new Map<Name, NodeJS.Timeout>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Runs `fn` after `delayMs`. */
  after(name: Name, delayMs: number, fn: () => void): void {
    this.at(name, this.#now() + Math.max(0, delayMs), fn);
  }

  /** Runs `fn` at wall-clock time `whenMs` (checked again on waking, so a far deadline is chained). */
  at(name: Name, whenMs: number, fn: () => void): void {
    this.clear(name);
    const wait = Math.min(MAX_TIMEOUT_MS, Math.max(0, whenMs - this.#now()));
    const timer = setTimeout(() => {
      this.#timers.delete(name);
      if (this.#now() < whenMs) this.at(name, whenMs, fn);
      else fn();
    }, wait);
    this.#timers.set(name, timer);
  }

  has(name: Name): boolean {
    return this.#timers.has(name);
  }

  clear(name: Name): void {
    clearTimeout(this.#timers.get(name));
    this.#timers.delete(name);
  }

  clearAll(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
