// Keeps V8's heap near what the Mixer really holds: a full collection once the heap in use passes a soft limit.
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Under a steady stream of heartbeats V8 lets its old generation grow to three or four times the live data before a
 * major collection: the swarm bench saw 156 to 185 MB of heap in use against 50 MB live (a snapshot taken during
 * 10,000 heartbeats/s), and the Mixer's RSS at 10,000 Racks at 340 to 396 MB. Lowering V8's growing factor
 * (--heap-growing-percent=25) cost 30% more CPU per heartbeat; one full collection whenever the heap passes a soft
 * limit (checked every second, at most one every 5 s) brought RSS to about 300 MB.
 *
 * The limit follows the fleet: after each collection it becomes max(softLimit, 1.5 x what survived), so a fleet
 * whose live data outgrows the soft limit is collected at one and a half times its size, never on every check.
 */
/** After a collection the limit is this many times what survived (when that is above the soft limit). */
const GROWTH = 1.5;
/**
 * A forced collection is a full, atomic mark-compact on the event loop (V8's own major collections mark concurrently).
 * Spacing them out bounds their cost under heavy load: about 50 ms at 50 MB live, so at most 1% of a core.
 */
const MIN_GAP_MS = 5000;

export class HeapGovernor {
  readonly #softLimit: number;
  readonly #read: () => number;
  readonly #collect: () => void;
  readonly #now: () => number;
  readonly #onCollect: ((liveBytes: number) => void) | undefined;
  #limit: number;
  #lastCollectionMs = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  readonly stats = { checks: 0, collections: 0, lastLiveBytes: 0 };

  constructor(opts: {
    softLimitBytes: number;
    read?: () => number;
    collect?: () => void;
    now?: () => number;
    /** Told after each forced collection, with what survived it (the Mixer counts them). */
    onCollect?: (liveBytes: number) => void;
  }) {
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

  /** One check: collects when the heap in use is past the limit (at most once per 5 s). Returns whether it collected. */
  check(): boolean {
    this.stats.checks++;
    if (this.#read() <= this.#limit) return false;
    const now = this.#now();
    if (now - this.#lastCollectionMs < MIN_GAP_MS) return false;
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

/** V8's full collection, made callable without starting Node with --expose-gc. */
function exposedGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}
