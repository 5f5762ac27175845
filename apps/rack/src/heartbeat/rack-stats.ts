// Runtime stats for heartbeats: CPU (process and host, as deltas), memory, event-loop lag, handles, uptime.
import { cpus } from "node:os";
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import type { GearHealth, RackStats } from "@fluxrig/wire";

/** Gear and message counts, present once the gear runtime runs. */
export interface WorkloadStats {
  /** `failed` counts the gears failed for good and those waiting for a restart. */
  gears: { running: number; failed: number; restarts: number };
  messages: { in: number; out: number };
  /** Each gear deployed to the Rack, in scenario order (the heartbeat's `stats.gear_list`). */
  gearList?: GearHealth[];
}

interface CpuTimes {
  /** Process CPU time in microseconds (user + system). */
  processUs: number;
  /** Host busy and total time in milliseconds, summed over cores. */
  hostBusyMs: number;
  hostTotalMs: number;
  /** Wall clock in milliseconds. */
  wallMs: number;
}

function readCpu(): CpuTimes {
  const usage = process.cpuUsage();
  let busy = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return {
    processUs: usage.user + usage.system,
    hostBusyMs: busy,
    hostTotalMs: total,
    wallMs: performance.now(),
  };
}

/** How often the event-loop delay monitor samples, in milliseconds. */
const EVENT_LOOP_SAMPLE_MS = 100;

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Samples stats between two calls: CPU percentages are over the time since the previous sample, the
 * event-loop lag is the p99 delay observed meanwhile. Call `close()` to stop the delay monitor.
 *
 * @example
 * const sampler = new StatsSampler(); ...; const stats = sampler.sample(); sampler.close();
 */
export class StatsSampler {
  #last: CpuTimes = readCpu();
  // The monitor is a timer that wakes the loop every `resolution` ms. At 20 ms it cost an idle Rack about 0.5 % of a
  // core on its own (half the idle budget, bench/rack-footprint.bench.ts); 100 ms still catches every stall longer
  // than 100 ms and most shorter ones over a heartbeat interval, for a fifth of the wake-ups.
  readonly #loop: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS });

  constructor() {
    this.#loop.enable();
  }

  /** Stats since the previous call, with workload counts when given. */
  sample(workload?: WorkloadStats): RackStats {
    const now = readCpu();
    const wallUs = Math.max(1, (now.wallMs - this.#last.wallMs) * 1000);
    // Percent of one core, like `top`: a busy process on two cores can show up to 200.
    const processPct = Math.max(0, ((now.processUs - this.#last.processUs) / wallUs) * 100);
    const hostTotal = now.hostTotalMs - this.#last.hostTotalMs;
    const hostPct =
      hostTotal > 0 ? Math.max(0, ((now.hostBusyMs - this.#last.hostBusyMs) / hostTotal) * 100) : 0;
    this.#last = now;

    // The histogram reports nanoseconds and is reset per sample, so lag is "recent", not "since boot".
    const lagNs = this.#loop.count > 0 ? this.#loop.percentile(99) : 0;
    this.#loop.reset();
    const mem = process.memoryUsage();
    const stats: RackStats = {
      cpu: { process_pct: round(processPct), host_pct: round(Math.min(100, hostPct)) },
      mem: { rss_bytes: mem.rss, heap_used_bytes: mem.heapUsed },
      event_loop_lag_ms: round(Math.max(0, lagNs / 1e6), 3),
      active_handles: process.getActiveResourcesInfo().length,
      uptime_s: round(process.uptime(), 1),
    };
    if (workload !== undefined) {
      stats.gears = { ...workload.gears };
      stats.messages = { ...workload.messages };
      if (workload.gearList !== undefined) stats.gear_list = workload.gearList;
    }
    return stats;
  }

  close(): void {
    this.#loop.disable();
  }
}
