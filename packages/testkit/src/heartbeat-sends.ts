// When a test's own scripted Racks sent their heartbeats, so a fault test can tell a false offline from its own stall.
//
// A scripted Rack heartbeats from the test process's event loop. On a loaded machine that loop can stall for seconds,
// and the Mixer then rightly marks the Rack offline: the product did nothing wrong. The swarm bench keeps a per-Rack
// largest send gap for the same reason (bench/swarm/heartbeat-pump.ts, phase-herd.ts); this is that, per event.

/** Why the Mixer's offline verdict on one Rack was or was not the product's mistake. */
export interface OfflineVerdict {
  name: string;
  /** The largest gap between the test's own sends for this Rack over the window before the verdict. */
  gapMs: number;
  /** True when the test left the Rack silent for (nearly) the whole window itself: the verdict was right. */
  excused: boolean;
}

/**
 * Heartbeat send times per scripted Rack, recorded by the test as it publishes them.
 *
 * @example
 * const sends = new HeartbeatSends();
 * rack.heartbeat(); sends.record(rack.name);
 * const v = sends.judgeOffline("rack-1", { at: Date.parse(event.at), windowMs: 5_000, intervalMs: 500 });
 */
export class HeartbeatSends {
  readonly #at = new Map<string, number[]>();

  /** `name` published a heartbeat at `at` (now by default). Times must not go backwards per Rack. */
  record(name: string, at = Date.now()): void {
    const times = this.#at.get(name);
    if (times === undefined) this.#at.set(name, [at]);
    else times.push(at);
  }

  /** Every Rack with at least one send. */
  names(): string[] {
    return [...this.#at.keys()];
  }

  /**
   * The longest the test left `name` without a heartbeat during `[from, to]`: the largest gap between consecutive
   * sends that overlaps the span, counting from `from` when nothing was sent before it and up to `to` when nothing
   * was sent after it.
   */
  largestGap(name: string, from: number, to: number): number {
    const times = this.#at.get(name) ?? [];
    let previous: number | undefined;
    let largest = 0;
    for (const t of times) {
      if (t < from) {
        previous = t;
        continue;
      }
      largest = Math.max(largest, t - (previous ?? from));
      previous = t;
      if (t > to) return largest;
    }
    return Math.max(largest, to - (previous ?? from));
  }

  /**
   * Judges an offline verdict made at `at` by a Mixer that waits `windowMs` of silence: excused when the test's own
   * largest send gap over that window reaches the window less one interval (one beat may be in flight), so a Rack
   * the test kept sending for is a false offline and one the test left silent is not.
   */
  judgeOffline(name: string, opts: { at: number; windowMs: number; intervalMs: number }): OfflineVerdict {
    const gapMs = this.largestGap(name, opts.at - opts.windowMs, opts.at);
    return { name, gapMs, excused: gapMs >= opts.windowMs - opts.intervalMs };
  }
}
