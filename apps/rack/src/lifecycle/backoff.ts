// Jittered exponential backoff and interval jitter, so a fleet that lost its Mixer does not come back in lockstep.

/** How a backoff grows. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Growth per attempt, e.g. 2. */
  factor: number;
  /** Relative jitter each way, 0..1 (0.2 = ±20 %). */
  jitter: number;
}

/** A source of uniform numbers in [0, 1), injectable for tests. */
export type RandomSource = () => number;

/**
 * `baseMs` moved by up to `ratio` of itself either way, never below 1 ms.
 * @example jitter(10_000, 0.1) // somewhere in 9000..11000
 */
export function jitter(baseMs: number, ratio: number, random: RandomSource = Math.random): number {
  const spread = baseMs * ratio;
  return Math.max(1, Math.round(baseMs - spread + 2 * spread * random()));
}

/**
 * Exponential backoff with jitter: `next()` gives the delay before the next attempt, `reset()` after a success.
 * @example const b = new Backoff({ initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 }); b.next();
 */
export class Backoff {
  #attempt = 0;
  readonly policy: BackoffPolicy;
  readonly #random: RandomSource;

  constructor(policy: BackoffPolicy, random: RandomSource = Math.random) {
    this.policy = policy;
    this.#random = random;
  }

  /** The delay before the next attempt; each call counts one failed attempt. */
  next(): number {
    const { initialMs, maxMs, factor } = this.policy;
    const base = Math.min(maxMs, initialMs * factor ** Math.min(this.#attempt, 64));
    this.#attempt += 1;
    return Math.min(
      Math.round(maxMs * (1 + this.policy.jitter)),
      jitter(base, this.policy.jitter, this.#random),
    );
  }

  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}

/** The backoff policies of the agent, overridable in tests. */
export interface RackTiming {
  /** Hellos before any answer, and after transport failures. */
  enroll: BackoffPolicy;
  /** Re-hellos while pending ("ask again from time to time"). */
  pending: BackoffPolicy;
  /** Hellos after a `rejected` answer: long and patient. */
  rejected: BackoffPolicy;
  /** Hellos after a `refused` answer (name taken, registry full, ...). */
  refused: BackoffPolicy;
  /** Renewal retries once the passport is past 2/3 of its life. */
  renew: BackoffPolicy;
  /** NATS reconnects. */
  reconnect: BackoffPolicy;
  /** How long to wait for a hello reply. */
  helloTimeoutMs: number;
  /** Clock skew allowed when verifying passports. */
  skewMs: number;
}

/** Defaults for a real fleet. */
export const DEFAULT_TIMING: RackTiming = {
  enroll: { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.2 },
  pending: { initialMs: 5_000, maxMs: 300_000, factor: 2, jitter: 0.2 },
  rejected: { initialMs: 300_000, maxMs: 3_600_000, factor: 2, jitter: 0.2 },
  refused: { initialMs: 30_000, maxMs: 600_000, factor: 2, jitter: 0.2 },
  renew: { initialMs: 5_000, maxMs: 300_000, factor: 2, jitter: 0.2 },
  reconnect: { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 },
  helloTimeoutMs: 5_000,
  skewMs: 120_000,
};
