// The presence timers: batched flushes of last_seen and stats, offline sweeps, and removal of silent pending Racks.
// Sweeps and pending removals are work done once across Mixers: only while this Mixer leads (docs/cluster.md).
import type { Logger } from "pino";
import type { RackStatusChanges } from "../fleet/rack-status-changes.js";
import { NotFoundError, UnexpectedStatusError } from "../registry/registry-errors.js";
import type { Clock, Counters } from "../runtime/counters.js";
import { ALWAYS_LEADING, type LeaderGate } from "../runtime/leader-gate.js";
import type { PresenceStatusChanges } from "./presence-status.js";
import type { PresenceTracker } from "./presence-tracker.js";

/** Where the sweeper reports how long each flush and sweep took (the Mixer's Prometheus histograms). */
export interface PresenceTimings {
  flush(seconds: number): void;
  sweep(seconds: number): void;
}

export interface PresenceSweeperOptions {
  presence: PresenceTracker;
  lifecycle: Pick<RackStatusChanges, "flushHelloFacts" | "remove">;
  /** Where a sweep's verdicts are written. */
  changes: Pick<PresenceStatusChanges, "offline">;
  clock: Clock;
  logger: Logger;
  counters: Counters;
  flushIntervalMs: number;
  sweepIntervalMs: number;
  pendingTtlMs: number;
  /**
   * Resolves once every heartbeat the bus held when it was called has been applied (a round trip to the server: the
   * subscription applies heartbeats as they are read, in order). A sweep that would mark a Rack offline waits for it first, so a Mixer that is
   * behind on its own backlog never mistakes that backlog for silence. Rejecting or overrunning `confirmTimeoutMs`
   * defers the sweep to the next tick.
   */
  confirmCaughtUp?: () => Promise<void>;
  confirmTimeoutMs?: number;
  /** Told the duration of every flush and sweep; nothing is timed without it. */
  timings?: PresenceTimings;
  /**
   * Whether this Mixer gives verdicts (offline sweeps, pending TTL); absent: always (a single Mixer). Flushes run
   * on every Mixer. On becoming leader, presence restarts its grace ({@link PresenceTracker.leadingFrom}).
   */
  leader?: LeaderGate;
}

/** One timer loop per duty; each waits for its own work to finish before it is scheduled again. */
export class PresenceSweeper {
  readonly #o: PresenceSweeperOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #running = new Set<Promise<unknown>>();
  readonly #leader: LeaderGate;
  #unfollowLeader: (() => void) | undefined;
  #stopped = false;

  constructor(opts: PresenceSweeperOptions) {
    this.#o = opts;
    this.#leader = opts.leader ?? ALWAYS_LEADING;
  }

  start(): void {
    this.#unfollowLeader ??= this.#leader.onChange((leading) => this.#leadingChanged(leading));
    this.#loop(this.#o.flushIntervalMs, () => this.#timed("flush", () => this.flush()));
    this.#loop(this.#o.sweepIntervalMs, () => this.#timed("sweep", () => this.sweep()));
    // Pending TTL is coarse by nature; checking ten times per TTL (at most once a second) is plenty.
    this.#loop(Math.max(1000, Math.floor(this.#o.pendingTtlMs / 10)), () => this.expirePending());
  }

  /** Writes dirty presence (last_seen, stats) and the hello facts of known Racks now, each in one batch. */
  async flush(): Promise<void> {
    try {
      const rows = await this.#o.presence.flush(this.#o.clock().getTime());
      if (rows > 0) this.#o.counters.inc("presence.flushed_rows", rows);
    } catch (err) {
      this.#o.counters.inc("presence.flush_failed");
      this.#o.logger.error({ err: (err as Error).message }, "presence flush failed; will retry");
    }
    try {
      const racks = await this.#o.lifecycle.flushHelloFacts();
      if (racks > 0) this.#o.counters.inc("hello.facts_flushed", racks);
    } catch (err) {
      this.#o.counters.inc("hello.facts_flush_failed");
      this.#o.logger.error({ err: (err as Error).message }, "hello facts flush failed; will retry");
    }
  }

  /**
   * Marks silent Racks offline. When someone looks silent, the sweep first confirms that the Mixer has caught up with
   * the bus, then judges as of the moment it asked: a heartbeat that was already on its way counts. The verdicts are
   * written through the lifecycle, once each, and awaited: the next sweep starts after they are committed, when the
   * directory (which presence reads) says offline.
   */
  async sweep(): Promise<number> {
    const { presence, clock, counters } = this.#o;
    if (!this.#leader.leading) return 0;
    const asOf = clock().getTime();
    if (!presence.hasSilent(asOf)) return 0;
    if (this.#o.confirmCaughtUp) {
      try {
        await withTimeout(this.#o.confirmCaughtUp(), this.#o.confirmTimeoutMs ?? 5000);
      } catch (err) {
        counters.inc("presence.sweep.deferred");
        this.#o.logger.warn(
          { err: (err as Error).message },
          "presence sweep deferred: not caught up with the bus",
        );
        return 0;
      }
    }
    // Leadership may have ended while the sweep waited for the bus: each verdict is given only while still leading.
    const silent = presence.silent(asOf);
    const given: Promise<void>[] = [];
    for (const rack of silent) {
      if (!this.#leader.leading) {
        counters.inc("presence.sweep.not_leading");
        break;
      }
      given.push(this.#o.changes.offline(rack));
    }
    if (given.length === 0) return 0;
    counters.inc("presence.sweep.marked", given.length);
    await Promise.all(given);
    return given.length;
  }

  /** The Mixer's bus link is down: offline detection pauses (see PresenceTracker.busLost). */
  busLost(): void {
    if (this.#o.presence.busLost(this.#o.clock().getTime())) {
      this.#o.logger.warn("bus link lost: offline detection paused");
    }
  }

  /** The bus link is back: every Rack gets a full presence window from now. */
  busRegained(): void {
    const blindForMs = this.#o.presence.busRegained(this.#o.clock().getTime());
    this.#o.counters.inc("presence.bus_regained");
    this.#o.logger.info(
      { blind_for_ms: blindForMs, grace_ms: this.#o.presence.offlineAfterMs },
      "bus link back: every Rack gets a full presence window",
    );
  }

  /** Removes pending Racks silent for longer than pending_ttl (while this Mixer leads). */
  async expirePending(): Promise<number> {
    if (!this.#leader.leading) return 0;
    const stale = this.#o.presence.stalePending(this.#o.clock().getTime() - this.#o.pendingTtlMs);
    // All at once, so the writer commits them together rather than one transaction per Rack.
    const removals: Promise<unknown>[] = [];
    for (const rack of stale) {
      if (!this.#leader.leading) break;
      removals.push(
        this.#o.lifecycle.remove(rack, { cause: "pending_ttl", actor: "mixer", expectFrom: "pending" }),
      );
    }
    const results = await Promise.allSettled(removals);
    const removed = results.filter((r) => r.status === "fulfilled").length;
    if (removed > 0) this.#o.counters.inc("presence.pending_expired", removed);
    // A Rack adopted (or removed) since it was picked is left alone; anything else is worth a log line.
    const failed = results.find(
      (r): r is PromiseRejectedResult =>
        r.status === "rejected" &&
        !(r.reason instanceof UnexpectedStatusError) &&
        !(r.reason instanceof NotFoundError),
    );
    if (failed) throw failed.reason;
    return removed;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unfollowLeader?.();
    this.#unfollowLeader = undefined;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.allSettled([...this.#running]);
  }

  /**
   * Becoming leader restarts presence's grace: a Rack silent since before now was not this Mixer's to judge, and
   * may be one whose nats-server went down with the last leader. Ending it needs nothing: every verdict checks.
   */
  #leadingChanged(leading: boolean): void {
    if (leading) this.#o.presence.leadingFrom(this.#o.clock().getTime());
    this.#o.logger.info(
      { grace_ms: this.#o.presence.offlineAfterMs },
      leading
        ? "leading: offline sweeps and pending expiry run here, after a full presence window"
        : "not leading: no offline or pending verdicts from this Mixer",
    );
  }

  /** Runs one duty and reports its wall time (monotonic clock), failed or not. */
  async #timed(duty: keyof PresenceTimings, fn: () => Promise<unknown>): Promise<unknown> {
    const timings = this.#o.timings;
    if (timings === undefined) return fn();
    const started = performance.now();
    try {
      return await fn();
    } finally {
      timings[duty]((performance.now() - started) / 1000);
    }
  }

  #loop(intervalMs: number, fn: () => Promise<unknown>): void {
    const tick = () => {
      if (this.#stopped) return;
      const work = Promise.resolve()
        .then(fn)
        .catch((err: unknown) => this.#o.logger.error({ err }, "presence task failed"));
      this.#running.add(work);
      void work.finally(() => {
        this.#running.delete(work);
        if (this.#stopped) return;
        const timer = setTimeout(tick, intervalMs);
        timer.unref();
        this.#timers.add(timer);
      });
    };
    const timer = setTimeout(tick, intervalMs);
    timer.unref();
    this.#timers.add(timer);
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
