// Pacing of the first redial after the Rack's link dropped. After a nats-server restart every Rack of the fleet loses
// its link in the same instant; on the JWT bus each reconnect costs nats-server about 0.5 ms of CPU (it verifies the
// Rack's user JWT and nonce signature), so 10,000 handshakes landing within the reconnect backoff's +-20 % (about
// 0.2 s) overload it: refusals ("Authentication Timeout"), retries, and a herd of 20 to 40 s on 2 cores. Each Rack
// therefore waits a uniformly random part of `[nats] reconnect_spread` before its first redial, so the fleet arrives
// at about fleet / spread handshakes a second (docs/bus-auth.md, "The herd: spreading the first redial"). A later
// redial of the same outage (the server still down, or refused) waits the reconnect backoff's step but at least the
// spread: a Rack keeps its place in the window, so the Racks that drew less than the outage come back spread over one
// window after the server is up instead of together one 0.5 s step after it, and a refused herd does not retry
// faster than it arrived.
import type { ReconnectToServerHandler } from "@nats-io/transport-node";
import type { RandomSource } from "../lifecycle/backoff.js";

/**
 * Default of `[nats] reconnect_spread`: 10,000 Racks arrive at about 2,000 handshakes a second, which one nats-server
 * on 2 shared cores authenticates without refusals (measured, docs/bus-auth.md); a lone Rack waits 2.5 s on average.
 */
export const DEFAULT_RECONNECT_SPREAD = "5s";

/**
 * The delay before the first redial after a drop: uniform in `[0, spreadMs)`, whole milliseconds.
 * @example firstRedialDelayMs(5_000) // somewhere in 0..4999
 */
export function firstRedialDelayMs(spreadMs: number, random: RandomSource = Math.random): number {
  if (!(spreadMs > 0)) return 0;
  return Math.min(spreadMs - 1, Math.floor(spreadMs * random()));
}

/**
 * The wait between two redials of one outage: the reconnect backoff's step, but at least the spread.
 * @example redialDelayMs(5_000, 500) // 5000: a Rack keeps its place in the window
 * @example redialDelayMs(5_000, 8_000) // 8000
 */
export function redialDelayMs(spreadMs: number, backoffStepMs: number): number {
  return spreadMs > 0 ? Math.max(spreadMs, backoffStepMs) : backoffStepMs;
}

/**
 * How many handshakes a second a fleet of `fleet` Racks brings to nats-server after a restart when each spreads its
 * first redial over `spreadMs` (the mean rate over the window; everyone at once when the spread is 0).
 * @example arrivalRate(10_000, 5_000) // 2000
 */
export function arrivalRate(fleet: number, spreadMs: number): number {
  return spreadMs > 0 ? (fleet * 1000) / spreadMs : Number.POSITIVE_INFINITY;
}

/**
 * The spread as a nats.js `reconnectToServer` handler: the first dial after each drop waits
 * {@link firstRedialDelayMs}, later redials of that outage at least the spread apart ({@link waitMs}); every other
 * dial (initial connect, a reconnect the Rack forced itself to present a new credential) is paced only by the
 * reconnect backoff. `arm()` once connected and after each reconnect; `disarm()` before forcing a reconnect.
 */
export class FirstRedialSpread {
  readonly #spreadMs: number;
  readonly #random: RandomSource;
  readonly #onSpread: ((delayMs: number) => void) | undefined;
  #armed = false;
  /** Between a spread first redial and the next connect: later redials wait at least the spread. */
  #spreading = false;

  /** `onSpread` is told each first redial's delay (for the log). */
  constructor(spreadMs: number, random: RandomSource = Math.random, onSpread?: (delayMs: number) => void) {
    this.#spreadMs = spreadMs;
    this.#random = random;
    this.#onSpread = onSpread;
  }

  arm(): void {
    this.#armed = true;
    this.#spreading = false;
  }

  /** Whether the next drop's first redial will be spread (the link is up and nothing disarmed it). */
  get armed(): boolean {
    return this.#armed;
  }

  disarm(): void {
    this.#armed = false;
    this.#spreading = false;
  }

  /**
   * The wait before the next redial, given the backoff's `stepMs`: at least the spread once this outage's first redial
   * was spread ({@link redialDelayMs}); any other dial (a forced reconnect, one soon after a connect) keeps the plain
   * step. The dial pacer (`DialPacer`, nats-link.ts) asks once per dial, when the dial starts.
   */
  waitMs(stepMs: number): number {
    return this.#spreading ? redialDelayMs(this.#spreadMs, stepMs) : stepMs;
  }

  /** For `ConnectionOptions.reconnectToServer`. */
  readonly handler: ReconnectToServerHandler = (pool, info) => {
    // info is null on the initial connect; an unarmed pass is a later redial of the same outage.
    if (!this.#armed || info === null || pool.length === 0) return null;
    this.#armed = false;
    this.#spreading = this.#spreadMs > 0;
    const delay = firstRedialDelayMs(this.#spreadMs, this.#random);
    this.#onSpread?.(delay);
    return delay > 0 ? { server: pool[0] as (typeof pool)[number], delay } : null;
  };
}
