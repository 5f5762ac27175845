// The fleet at rest: every Rack heartbeating at the Mixer's interval; the Mixer's RSS and CPU at N, and settling.
import { round } from "./figures.js";
import { between, cpuText, takeReading, type Window } from "./load-meter.js";
import { rssBytes } from "./proc-stats.js";
import type { SwarmContext } from "./swarm-context.js";
import { sleep } from "./waits.js";

const MB = 1024 * 1024;

/**
 * Waits until the Mixer keeps up with the base rate again (a 1 s window with under 1% not accepted) and the
 * registry has no offline Rack, after an overload or an outage. Bounded by `timeoutMs`; answers whether it did.
 */
export async function settle(ctx: SwarmContext, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  ctx.pump.setPeriod(ctx.opts.intervalMs);
  let prev = await takeReading(ctx);
  while (performance.now() < deadline) {
    await sleep(1_000);
    const now = await takeReading(ctx);
    const w = between(prev, now);
    prev = now;
    const counts = (await ctx.mut.cluster()).counts;
    ctx.progress.update(
      `settling: sent ${round(w.sentRate, 0)}/s, accepted ${round(w.acceptedRate, 0)}/s, ${counts.offline ?? 0} offline`,
    );
    if (w.lossFraction <= 0.01 && (counts.offline ?? 0) === 0 && (counts.active ?? 0) === ctx.fleet.enrolled)
      return true;
  }
  return false;
}

/** Holds the base rate for a window and reports the Mixer's RSS and CPU with N Racks heartbeating. */
export async function steadyPhase(ctx: SwarmContext, windowMs: number): Promise<Window> {
  const { opts, fleet } = ctx;
  const racks = fleet.enrolled;
  const rate = round((racks * 1000) / opts.intervalMs, 0);
  ctx.progress.phase(`steady state: ${racks} Racks every ${opts.intervalMs} ms (${rate} heartbeats/s)`);
  ctx.pump.setPeriod(opts.intervalMs);
  // One full period (and a flush) first, so every Rack has beaten at this cadence before measuring.
  await sleep(Math.min(opts.intervalMs, 5_000) + opts.flushIntervalMs);
  const r0 = await takeReading(ctx);
  const rssSamples: number[] = [];
  const end = performance.now() + windowMs;
  while (performance.now() < end) {
    await sleep(500);
    const rss = rssBytes(ctx.mut.mixerPid);
    if (rss !== undefined) rssSamples.push(rss);
    ctx.progress.update(`${round((end - performance.now()) / 1000, 0)} s left`);
  }
  const r1 = await takeReading(ctx);
  const w = between(r0, r1);
  const db = (await ctx.mut.cluster()).memory;
  const dbNote = db
    ? `; DuckDB's own accounting ${round(db.db_bytes / MB, 1)} MB (${Object.entries(db.db_by_tag)
        .map(([tag, bytes]) => `${tag} ${round(bytes / MB, 1)}`)
        .join(", ")})`
    : "";
  const rssMax = rssSamples.length > 0 ? Math.max(...rssSamples) : Number.NaN;
  const heldNote = `${racks} Racks, each every ${opts.intervalMs} ms: offered ${rate}/s, sent ${round(w.sentRate, 0)}/s, accepted ${round(w.acceptedRate, 0)}/s over ${round(w.seconds, 1)} s`;
  ctx.book.add(
    {
      name: "mixer.rss_at_n",
      value: round(rssMax / MB, 1),
      unit: "MB",
      note: `fluxrig-mixer VmRSS (max of 0.5 s samples) with ${heldNote}; ${ctx.mut.memoryText()}${dbNote}; target <= 300 MB at 10,000; ${ctx.command}`,
    },
    {
      name: "mixer.cpu_at_n",
      value: round(w.cpu.mixer, 1),
      unit: "% of a core",
      note: `fluxrig-mixer user+system CPU from /proc/<pid>/stat; ${round(w.mixerUsPerHeartbeat, 1)} us per accepted heartbeat; ${cpuText(w)}`,
    },
  );
  return w;
}
