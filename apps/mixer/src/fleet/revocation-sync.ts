// Keeps nats-server's copy of the bus revocation list in step with the registry's: pushes after every cut-off
// (coalesced, retried until the bus takes it) and prunes entries no live credential can match. The prune is work done
// once across Mixers: only the leader runs it (docs/cluster.md, "Work done once").
import type { Logger } from "pino";
import type { BusCredentials } from "../bus-auth/bus-credentials.js";
import type { RegistryWrites } from "../registry/registry-writer.js";
import { planPruneRevocations } from "../registry/write-plans.js";
import type { Clock, Counters } from "../runtime/counters.js";
import { ALWAYS_LEADING, type LeaderGate } from "../runtime/leader-gate.js";

const SECOND = 1_000;
const HOUR = 3_600_000;

export interface RevocationSyncOptions {
  credentials: BusCredentials;
  writer: RegistryWrites;
  clock: Clock;
  logger: Logger;
  counters: Counters;
  /** Revocations older than this are pruned: the longest lifetime of any credential the Mixer issues. */
  horizonMs: number;
  /** Delay before retrying a failed push, doubled after each failure up to `retryMaxMs` (default 1 s and 60 s). */
  retryMs?: number;
  retryMaxMs?: number;
  /** How often {@link RevocationSync.start} prunes (default hourly). */
  pruneEveryMs?: number;
  /**
   * Whether this Mixer runs the timed prune (a registry write, done once across Mixers); absent: always. A Mixer that
   * becomes leader prunes and pushes at once. Pushes after a cut-off, and their retries, run on the Mixer that made
   * the cut-off, leading or not: a push sends the whole list, so a second one is harmless, and a failure no other
   * Mixer knows of must still be repaired.
   */
  leader?: LeaderGate;
}

/**
 * The registry is the truth (table `bus_revocations`, written with each cut-off); nats-server holds a copy in the
 * fleet account JWT. A push sends the whole current list, so any later successful push repairs an earlier failed
 * one: a failure is logged and counted (`bus.revocation_push_failed`) and retried with backoff until one succeeds,
 * never thrown at the operation that committed the cut-off.
 */
export class RevocationSync {
  readonly #o: RevocationSyncOptions;
  /** The push on its way to the server, if any. */
  #inFlight: Promise<boolean> | undefined;
  /** The push that starts once #inFlight settles: every caller that came after #inFlight began shares it. */
  #queued: Promise<boolean> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay: number;
  #pruneTimer: NodeJS.Timeout | undefined;
  #unfollowLeader: (() => void) | undefined;
  #closed = false;
  readonly #leader: LeaderGate;

  constructor(options: RevocationSyncOptions) {
    this.#o = options;
    this.#retryDelay = options.retryMs ?? SECOND;
    this.#leader = options.leader ?? ALWAYS_LEADING;
  }

  /**
   * Pushes the list as committed now. Resolves true once nats-server accepted a push that started after this call
   * (so it carries every revocation committed before it), false when that push failed (a retry is scheduled).
   * Concurrent calls share pushes: at most one in flight and one waiting, whatever the number of cut-offs.
   */
  push(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    // An open bus has no list to push; the registry keeps its rows all the same (for a later switch to jwt).
    if (this.#o.credentials.mode === "none") return Promise.resolve(true);
    if (this.#queued) return this.#queued;
    const running = this.#inFlight;
    if (!running) return this.#start();
    const queued = running.then(() => {
      this.#queued = undefined;
      return this.#start();
    });
    this.#queued = queued;
    return queued;
  }

  /** Prunes what no credential can match any more; pushes the shorter list when anything went. Never throws. */
  async prune(): Promise<number> {
    if (this.#closed) return 0;
    let pruned: number;
    try {
      pruned = await this.#o.writer.submit((stage) =>
        planPruneRevocations(stage, { horizonMs: this.#o.horizonMs, now: this.#o.clock() }),
      );
    } catch (error) {
      this.#o.counters.inc("bus.revocation_prune_failed");
      this.#o.logger.error({ err: (error as Error).message }, "pruning the bus revocation list failed");
      return 0;
    }
    if (pruned > 0) {
      this.#o.counters.inc("bus.revocation_pruned", pruned);
      this.#o.logger.info({ pruned }, "expired bus revocations pruned");
      await this.push();
    }
    return pruned;
  }

  /** Prunes now and then every `pruneEveryMs`, each time only while leading; on becoming leader, prunes and pushes. */
  start(): void {
    if (this.#closed || this.#pruneTimer) return;
    const prune = () => {
      if (this.#leader.leading) void this.prune();
    };
    prune();
    this.#pruneTimer = setInterval(prune, this.#o.pruneEveryMs ?? HOUR);
    this.#pruneTimer.unref();
    // The last leader may have died between a cut-off and its push: a new leader's push repairs that at once.
    this.#unfollowLeader = this.#leader.onChange((leading) => {
      if (leading) void this.prune().then((pruned) => (pruned > 0 ? undefined : this.push()));
    });
  }

  /** Stops the timers and waits for a push under way. Pushes after this resolve false at once. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unfollowLeader?.();
    this.#unfollowLeader = undefined;
    clearInterval(this.#pruneTimer);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#queued;
    await this.#inFlight;
  }

  #start(): Promise<boolean> {
    const run: Promise<boolean> = this.#attempt().finally(() => {
      if (this.#inFlight === run) this.#inFlight = undefined;
    });
    this.#inFlight = run;
    return run;
  }

  async #attempt(): Promise<boolean> {
    if (this.#closed) return false;
    const started = performance.now();
    try {
      await this.#o.credentials.pushRevocations();
    } catch (error) {
      this.#o.counters.inc("bus.revocation_push_failed");
      this.#o.logger.error(
        { err: (error as Error).message, retry_ms: this.#retryDelay },
        "pushing the bus revocation list failed; revoked keys may still be on the bus until a retry succeeds",
      );
      this.#scheduleRetry();
      return false;
    }
    this.#o.counters.inc("bus.revocation_pushed");
    this.#o.logger.debug({ ms: Math.round(performance.now() - started) }, "bus revocation list pushed");
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#retryDelay = this.#o.retryMs ?? SECOND;
    return true;
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retryTimer) return;
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(delay * 2, this.#o.retryMaxMs ?? 60 * SECOND);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.push();
    }, delay);
    this.#retryTimer.unref();
  }
}
