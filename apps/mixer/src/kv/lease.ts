// One holder at a time under a key in KV: renewed by revision (compare-and-set), taken over by another process once
// the holder has stopped renewing for the lease's time-to-live. For the work several Mixers must do once (docs/cluster.md).
import { performance } from "node:perf_hooks";
import type { KvBucket, KvRecord } from "./kv-bucket.js";
import {
  KvError,
  KvKeyExistsError,
  KvRevisionConflictError,
  KvUnavailableError,
  LeaseLostError,
} from "./kv-errors.js";

/** What a lease key holds. */
export interface LeaseValue {
  holder: string;
  /** Set by a holder that stopped cleanly: the next contender takes over at once. */
  released?: boolean;
}

export interface LeaseOptions {
  /** The bucket of leases (R3 in cluster mode). */
  bucket: KvBucket;
  /** The lease's key, e.g. `"offline-sweep"`. */
  name: string;
  /** This process's id (unique per process: a restarted Mixer is a new holder). */
  holder: string;
  /** How long a holder that stopped renewing keeps the lease, as its contenders count it (default 10 000 ms). */
  ttlMs?: number;
  /** The holder's renewal period (default ttl / 3). */
  renewEveryMs?: number;
  /** How often a contender reads the key (default ttl / 5). */
  pollMs?: number;
  /** A monotonic clock in ms (default `performance.now`). */
  now?: () => number;
  /** Called when this process becomes the holder. */
  onAcquired?: () => void;
  /** Called after each successful renewal: the lease may be acted on for longer ({@link Lease.heldForMs}). */
  onRenewed?: () => void;
  /** Called when this process stops being the holder without asking to: work under the lease must stop. */
  onLost?: (error: LeaseLostError) => void;
}

/**
 * A lease. Safety rests on compare-and-set (two processes can never both write the next revision); the time-to-live
 * only decides when a contender may take over from a silent holder, and a holder that cannot renew gives up before
 * any contender may act: its lease is valid until (send time of its last successful renewal) + ttl - margin, while a
 * contender waits ttl from the first time it *saw* that revision, which is after it was sent.
 *
 * Takeover bound: a holder killed at time K is replaced by a live contender by K + {@link Lease.takeoverBoundMs}
 * (ttl + 2 polls + one write), plus any time the cluster itself has no quorum.
 *
 * @example
 * const lease = new Lease({ bucket: leases, name: "offline-sweep", holder: mixerId, onLost: stopSweeping });
 * lease.start();
 * if (lease.isHeld()) sweep();
 */
export class Lease {
  readonly name: string;
  readonly holder: string;
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  readonly pollMs: number;
  readonly #bucket: KvBucket;
  readonly #now: () => number;
  readonly #marginMs: number;
  readonly #onAcquired: (() => void) | undefined;
  readonly #onRenewed: (() => void) | undefined;
  readonly #onLost: ((error: LeaseLostError) => void) | undefined;
  #revision = 0;
  #held = false;
  #validUntil = 0;
  /** The revision a contender last saw change, and when it first saw it. */
  #seen: { revision: number; at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #stopped = false;

  constructor(opts: LeaseOptions) {
    this.#bucket = opts.bucket;
    this.name = opts.name;
    this.holder = opts.holder;
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.renewEveryMs = opts.renewEveryMs ?? Math.floor(this.ttlMs / 3);
    this.pollMs = opts.pollMs ?? Math.floor(this.ttlMs / 5);
    if (!(this.renewEveryMs > 0 && this.renewEveryMs * 2 <= this.ttlMs && this.pollMs > 0)) {
      throw new KvError(
        "lease_config",
        `lease ${this.name}: renew_every (${this.renewEveryMs} ms) must be > 0 and at most half the ttl (${this.ttlMs} ms), poll > 0`,
      );
    }
    // Room for timer lateness and clock-rate drift between the holder and its contenders.
    this.#marginMs = Math.floor(this.ttlMs / 10);
    this.#now = opts.now ?? (() => performance.now());
    this.#onAcquired = opts.onAcquired;
    this.#onRenewed = opts.onRenewed;
    this.#onLost = opts.onLost;
  }

  /** The bound within which a live contender takes over from a holder that died (given a cluster with quorum). */
  get takeoverBoundMs(): number {
    return this.ttlMs + 2 * this.pollMs + 2_000;
  }

  /** True while this process holds the lease and its last renewal is recent enough to act on. */
  isHeld(): boolean {
    return this.#held && this.#now() < this.#validUntil;
  }

  /**
   * How much longer this process may act on the lease from now, given no further renewal (0 when not held): a gate
   * arms a timer on it so the work stops the moment the lease can no longer be counted on, not when a late renewal
   * attempt finally gives up (kv/lease-gate.ts).
   */
  heldForMs(): number {
    return this.#held ? Math.max(0, this.#validUntil - this.#now()) : 0;
  }

  /** Starts contending (and renewing once held), in the background. */
  start(): void {
    if (this.#stopped || this.#timer !== undefined || this.#tick !== undefined) return;
    this.#schedule(0);
  }

  /**
   * Stops; a holder marks the lease released (best effort, bounded) so a contender takes over without waiting the ttl.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#tick;
    if (!this.#held) return;
    this.#held = false;
    try {
      await this.#bucket.update<LeaseValue>(
        this.name,
        { holder: this.holder, released: true },
        this.#revision,
        { retryWindowMs: Math.max(0, this.#validUntil - this.#now()) },
      );
    } catch {
      // Not released: contenders take over after the ttl instead.
    }
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#tick = this.#step().finally(() => {
        this.#tick = undefined;
        this.#schedule(this.#held ? this.renewEveryMs : this.pollMs);
      });
    }, ms);
    this.#timer.unref?.();
  }

  async #step(): Promise<void> {
    try {
      if (this.#held) await this.#renew();
      else await this.#contend();
    } catch (error) {
      // Unexpected (a refused request, a foreign value): a holder gives up, a contender tries again next poll.
      if (this.#held) this.#lose(error instanceof Error ? error.message : String(error));
    }
  }

  async #renew(): Promise<void> {
    const sentAt = this.#now();
    try {
      const record = await this.#bucket.update<LeaseValue>(
        this.name,
        { holder: this.holder },
        this.#revision,
        { retryWindowMs: Math.max(0, this.#validUntil - sentAt) },
      );
      this.#revision = record.revision;
      this.#validUntil = sentAt + this.ttlMs - this.#marginMs;
      if (!this.#stopped) this.#onRenewed?.();
    } catch (error) {
      if (error instanceof KvRevisionConflictError) {
        const now = await this.#bucket.get<LeaseValue>(this.name).catch(() => null);
        this.#lose(`taken over${now ? ` by ${now.value.holder} (revision ${now.revision})` : ""}`);
      } else if (error instanceof KvUnavailableError) {
        if (this.#now() >= this.#validUntil)
          this.#lose(`no renewal within the ttl (${this.ttlMs} ms): ${error.message}`);
      } else {
        throw error;
      }
    }
  }

  async #contend(): Promise<void> {
    let current: KvRecord<LeaseValue> | null;
    try {
      current = await this.#bucket.get<LeaseValue>(this.name, { retryWindowMs: this.pollMs });
    } catch (error) {
      if (error instanceof KvUnavailableError) return;
      throw error;
    }
    const now = this.#now();
    if (current === null) {
      await this.#take(() =>
        this.#bucket.create<LeaseValue>(this.name, { holder: this.holder }, this.#writeWindow()),
      );
      return;
    }
    const free = current.value.released === true || current.value.holder === this.holder;
    if (!free) {
      if (this.#seen?.revision !== current.revision) {
        this.#seen = { revision: current.revision, at: now };
        return;
      }
      if (now - this.#seen.at < this.ttlMs) return;
    }
    const revision = current.revision;
    await this.#take(() =>
      this.#bucket.update<LeaseValue>(this.name, { holder: this.holder }, revision, this.#writeWindow()),
    );
  }

  async #take(write: () => Promise<KvRecord<LeaseValue>>): Promise<void> {
    const sentAt = this.#now();
    try {
      const record = await write();
      this.#revision = record.revision;
      this.#validUntil = sentAt + this.ttlMs - this.#marginMs;
      this.#held = true;
      this.#seen = undefined;
      if (!this.#stopped) this.#onAcquired?.();
    } catch (error) {
      // Someone else won the compare-and-set, or the cluster did not answer: watch again from the next poll.
      if (error instanceof KvKeyExistsError || error instanceof KvRevisionConflictError) return;
      if (error instanceof KvUnavailableError) return;
      throw error;
    }
  }

  #writeWindow(): { retryWindowMs: number } {
    return { retryWindowMs: this.pollMs };
  }

  #lose(reason: string): void {
    this.#held = false;
    this.#seen = undefined;
    this.#onLost?.(new LeaseLostError(this.name, this.holder, reason));
  }
}
