// The live tail of the audit log, shared by every open event stream: ONE poller per Mixer reads the events committed
// after the highest seq it has seen and hands each to every subscriber. It runs only while a subscriber exists.
//
// The seam: the poller learns of new events by reading DuckDB on a timer (`read` after `#seen`). A commit hook of the
// registry writer could replace the timer later: call `poke()` after each commit and set a long interval; nothing
// else here changes, as subscribers only ever see `#fanOut`.
import type { Logger } from "pino";
import { OperationError } from "../errors/wire-refusal.js";
import type { AuditEvent } from "../registry/audit-chain.js";

export interface AuditFeedOptions {
  /** Committed events with seq > `afterSeq`, oldest first, at most `limit`. */
  read(afterSeq: number, limit: number): Promise<AuditEvent[]>;
  /** The seq of the newest committed event, 0 for an empty log. */
  head(): Promise<number>;
  /** How often to look for new events while someone listens (default 250 ms). */
  intervalMs?: number;
  /** Subscribers at once (default 64); one more is refused `unavailable`. */
  maxSubscribers?: number;
  /**
   * Events a subscriber may have waiting (default 10,000). A subscriber that falls further behind is ended rather
   * than allowed to grow without bound; its client resumes from its last event id and reads the rest from DuckDB.
   */
  maxQueued?: number;
  /** Events per read (default 500). */
  pageSize?: number;
  logger?: Logger;
}

/** Why a subscription ended. */
export type FeedEnd = "closed" | "stopping" | "overflow";

/** One listener's view of the feed: every event committed after `startSeq`, in seq order, none twice. */
export interface FeedSubscription {
  /** The highest seq the feed had seen when this subscription began; every later event is delivered. */
  readonly startSeq: number;
  /** Why it ended, once it has. */
  readonly ended: FeedEnd | undefined;
  /** Aborted when it ends, for whatever reason: a writer blocked on a slow client can stop waiting. */
  readonly signal: AbortSignal;
  /** The events waiting, or those that arrive within `waitMs`; [] when none did; null once ended. */
  take(waitMs: number): Promise<AuditEvent[] | null>;
  close(): void;
}

class Subscriber implements FeedSubscription {
  startSeq = 0;
  ended: FeedEnd | undefined;
  readonly #ended = new AbortController();
  #queue: AuditEvent[] = [];
  #wake: (() => void) | undefined;

  constructor(private readonly onClose: (s: Subscriber) => void) {}

  get signal(): AbortSignal {
    return this.#ended.signal;
  }

  get queued(): number {
    return this.#queue.length;
  }

  push(event: AuditEvent): void {
    this.#queue.push(event);
    this.#wake?.();
  }

  end(why: FeedEnd): void {
    if (this.ended !== undefined) return;
    this.ended = why;
    this.#queue = [];
    this.#wake?.();
    this.#ended.abort(why);
  }

  async take(waitMs: number): Promise<AuditEvent[] | null> {
    if (this.#queue.length === 0 && this.ended === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
    }
    if (this.ended !== undefined) return null;
    const events = this.#queue;
    this.#queue = [];
    return events;
  }

  close(): void {
    this.end("closed");
    this.onClose(this);
  }
}

/**
 * The shared poller. `subscribe()` adds a listener (starting the poller if it was idle); closing the last one stops
 * it; `close()` ends every subscription and refuses new ones (the Mixer is stopping).
 *
 * @example
 * const feed = new AuditFeed({ read: (after, limit) => listAudit(db, { afterSeq: after, limit }), head });
 * const sub = await feed.subscribe();
 * const events = await sub.take(15_000);
 */
export class AuditFeed {
  readonly #o: Required<Omit<AuditFeedOptions, "logger">> & { logger: Logger | undefined };
  readonly #subs = new Set<Subscriber>();
  /** The highest seq read and handed out; meaningful while running. */
  #seen = 0;
  #running = false;
  #starting: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;
  /** Reads done, for tests and the brief's "one poller" claim. */
  polls = 0;

  constructor(opts: AuditFeedOptions) {
    this.#o = {
      read: opts.read,
      head: opts.head,
      intervalMs: opts.intervalMs ?? 250,
      maxSubscribers: opts.maxSubscribers ?? 64,
      maxQueued: opts.maxQueued ?? 10_000,
      pageSize: opts.pageSize ?? 500,
      logger: opts.logger,
    };
  }

  get subscribers(): number {
    return this.#subs.size;
  }

  get limit(): number {
    return this.#o.maxSubscribers;
  }

  /** Throws OperationError(unavailable) when the Mixer is stopping or `maxSubscribers` are already listening. */
  async subscribe(): Promise<FeedSubscription> {
    if (this.#closed) throw new OperationError("unavailable", "the Mixer is stopping; reconnect to another");
    if (this.#subs.size >= this.#o.maxSubscribers) {
      throw new OperationError(
        "unavailable",
        `${this.#o.maxSubscribers} event streams are open, the most this Mixer serves; try again later`,
        { limit: this.#o.maxSubscribers },
      );
    }
    const sub = new Subscriber((s) => this.#subs.delete(s));
    // Added before the start is awaited: whatever is read from here on reaches it.
    this.#subs.add(sub);
    if (!this.#running) {
      this.#running = true;
      this.#starting = this.#o.head().then(
        (head) => {
          this.#seen = head;
          this.#schedule();
        },
        (err: unknown) => {
          this.#running = false;
          throw err;
        },
      );
    }
    try {
      await this.#starting;
    } catch (err) {
      this.#subs.delete(sub);
      throw err;
    }
    sub.startSeq = this.#seen;
    return sub;
  }

  /** Looks for new events now instead of at the next tick (the hook a writer's commit could call). */
  poke(): void {
    if (!this.#running || this.#polling !== undefined || this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#tick();
  }

  /** Ends every subscription, stops the poller and waits for a read in flight. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const sub of this.#subs) sub.end("stopping");
    this.#subs.clear();
    await this.#starting?.catch(() => undefined);
    await this.#polling;
  }

  #schedule(): void {
    if (this.#closed || this.#subs.size === 0) {
      this.#running = false;
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#tick();
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  #tick(): void {
    this.#polling = this.#poll().finally(() => {
      this.#polling = undefined;
      this.#schedule();
    });
  }

  async #poll(): Promise<void> {
    for (;;) {
      if (this.#closed || this.#subs.size === 0) return;
      let page: AuditEvent[];
      try {
        this.polls += 1;
        page = await this.#o.read(this.#seen, this.#o.pageSize);
      } catch (err) {
        // Nothing is lost: `#seen` did not move, the next tick reads the same events again.
        this.#o.logger?.warn({ err }, "audit feed: reading new events failed; retrying");
        return;
      }
      for (const event of page) this.#fanOut(event);
      if (page.length < this.#o.pageSize) return;
    }
  }

  #fanOut(event: AuditEvent): void {
    if (event.seq <= this.#seen) return;
    this.#seen = event.seq;
    for (const sub of this.#subs) {
      if (sub.queued >= this.#o.maxQueued) {
        sub.end("overflow");
        this.#subs.delete(sub);
        this.#o.logger?.warn(
          { limit: this.#o.maxQueued },
          "audit feed: an event stream fell too far behind; ended it (its client resumes from its last event id)",
        );
        continue;
      }
      sub.push(event);
    }
  }
}
