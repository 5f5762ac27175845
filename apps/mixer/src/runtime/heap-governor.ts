// Keeps V8's heap near what the Mixer really holds: a full collection once the heap in use passes a soft limit.
import { type EventLoopUtilization, performance } from "node:perf_hooks";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Under a steady stream of heartbeats V8 lets its old generation grow to two or three times the live data before a
 * major collection. At 10,000 Racks the swarm bench saw the Mixer's RSS peak at 305 to 318 MB without this, and at
 * 283 to 299 MB with it (40 to 50 MB live). Lowering V8's growing factor instead (--heap-growing-percent=25) cost 30%
 * more CPU per heartbeat.
 *
 * The limit follows the fleet: after each collection it becomes max(softLimit, 1.5 x what survived), so a fleet
 * whose live data outgrows the soft limit is collected at one and a half times its size, never on every check.
 *
 * A forced collection is a full, atomic mark-compact on the event loop (about 50 ms at 50 MB live), so it waits for a
 * quieter second: while the event loop was busy more than `busyUtilization` of the last check's interval (an
 * overload, a thundering herd), V8's own concurrent collector is left to it. With forced collections at any load the
 * highest heartbeat rate held fell from 80,000/s to 50,000/s.
 */
/** After a collection the limit is this many times what survived (when that is above the soft limit). */
const GROWTH = 1.5;
/**
 * A forced collection is a full, atomic mark-compact on the event loop (V8's own major collections mark concurrently).
 * Spacing them out bounds their cost under heavy load: about 50 ms at 50 MB live, so at most 1% of a core.
 */
const MIN_GAP_MS = 5000;
/** Above this event-loop utilization over the last interval, a collection is deferred. */
const BUSY_UTILIZATION = 0.6;

export class HeapGovernor {
  readonly #softLimit: number;
  readonly #read: () => number;
  readonly #collect: () => void;
  readonly #now: () => number;
  readonly #onCollect: ((liveBytes: number) => void) | undefined;
  readonly #busy: () => number;
  #limit: number;
  #lastCollectionMs = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  readonly stats = { checks: 0, collections: 0, deferredBusy: 0, lastLiveBytes: 0 };

  constructor(opts: {
    softLimitBytes: number;
    read?: () => number;
    collect?: () => void;
    now?: () => number;
    /** Told after each forced collection, with what survived it (the Mixer counts them). */
    onCollect?: (liveBytes: number) => void;
    /** The event loop's utilization (0..1) since the previous call; default from perf_hooks. */
    utilization?: () => number;
  }) {
    this.#busy = opts.utilization ?? loopUtilization();
    this.#onCollect = opts.onCollect;
    this.#now = opts.now ?? (() => performance.now());
    this.#softLimit = opts.softLimitBytes;
    this.#limit = opts.softLimitBytes;
    this.#read = opts.read ?? (() => getHeapStatistics().used_heap_size);
    this.#collect = opts.collect ?? exposedGc();
  }

  /** The heap size in use that triggers the next collection. */
  get limitBytes(): number {
    return this.#limit;
  }

  /**
   * One check: collects when the heap in use is past the limit, at most once per 5 s, and not while the event loop
   * is busy. Returns whether it collected.
   */
  check(): boolean {
    this.stats.checks++;
    // Read every time, so each reading covers exactly one interval.
    const utilization = this.#busy();
    if (this.#read() <= this.#limit) return false;
    const now = this.#now();
    if (now - this.#lastCollectionMs < MIN_GAP_MS) return false;
    if (utilization > BUSY_UTILIZATION) {
      this.stats.deferredBusy++;
      return false;
    }
    this.#lastCollectionMs = now;
    this.#collect();
    const live = this.#read();
    this.stats.collections++;
    this.stats.lastLiveBytes = live;
    this.#limit = Math.max(this.#softLimit, GROWTH * live);
    this.#onCollect?.(live);
    return true;
  }

  start(intervalMs = 1000): void {
    this.#timer ??= setInterval(() => this.check(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * V8's `--optimize-for-size` from inside the process (`[mixer] heap_optimize_for_size`): V8 reads it as it sizes its
 * spaces and decides when to collect, so set before the Mixer starts it applies as the node flag does (unlike
 * `--max-semi-space-size`, fixed when the heap was made). Swarm bench at 10,000 Racks (bench/swarm/README.md, issue
 * 19 fifth round): `rss_at_n` 237 to 247 MB against 276 to 338, V8's heap 52 to 64 MB committed for 48 to 52 used
 * against 100 to 142 for 50 to 63, and 2 to 11 us more CPU per heartbeat than the run beside it (median 7).
 */
export function optimizeHeapForSize(): void {
  setFlagsFromString("--optimize-for-size");
}

/** V8's full collection, made callable without starting Node with --expose-gc. */
function exposedGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** Event-loop utilization since the previous call (the first call covers the time since the process started). */
function loopUtilization(): () => number {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, last);
    last = now;
    return delta.utilization;
  };
}
