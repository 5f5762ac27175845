// Phase: a slice of the Racks falls silent; how long until the Mixer marks each offline, and back when it returns.
import { ascending, percentile, round } from "./figures.js";
import type { AuditEventRow } from "./mixer-under-test.js";
import type { SwarmContext } from "./swarm-context.js";
import { sleep } from "./waits.js";

const POLL_MS = 250;

/** Every k-th Rack past the sampled ones, so the silent slice is spread over connections and the ring. */
function pickSlice(ctx: SwarmContext): number[] {
  const { fleet, opts } = ctx;
  const candidates: number[] = [];
  for (let i = fleet.sampleSize; i < fleet.size; i++) if (fleet.isEnrolled(i)) candidates.push(i);
  const count = Math.max(1, Math.round(fleet.enrolled * opts.killFraction));
  const stride = Math.max(1, Math.floor(candidates.length / count));
  const out: number[] = [];
  for (let k = Math.floor(stride / 2); k < candidates.length && out.length < count; k += stride)
    out.push(candidates[k]!);
  return out;
}

/**
 * Polls the audit log since `since` until every Rack in `want` has an event to `toStatus`, or the deadline; answers
 * the first such event of each Rack by name, and how many such events named other Racks.
 */
async function waitForTransitions(
  ctx: SwarmContext,
  opts: { since: Date; want: Set<string>; toStatus: string; deadline: number; label: string },
): Promise<{ found: Map<string, AuditEventRow>; others: number }> {
  const found = new Map<string, AuditEventRow>();
  let others = 0;
  while (performance.now() < opts.deadline) {
    const events = await ctx.mut.eventsSince(opts.since);
    others = 0;
    for (const e of events) {
      if (e.to_status !== opts.toStatus || e.name === null) continue;
      if (opts.want.has(e.name)) {
        if (!found.has(e.name)) found.set(e.name, e);
      } else others++;
    }
    ctx.progress.update(`${opts.label}: ${found.size}/${opts.want.size}`);
    if (found.size === opts.want.size) break;
    await sleep(POLL_MS);
  }
  return { found, others };
}

export async function offlinePhase(ctx: SwarmContext): Promise<void> {
  const { fleet, opts } = ctx;
  const slice = pickSlice(ctx);
  const windowMs = opts.intervalMs * opts.missed;
  const sweepMs = Math.max(25, Math.min(1000, Math.floor(opts.intervalMs / 4)));
  ctx.progress.phase(
    `offline detection: ${slice.length} Racks fall silent (window ${windowMs} ms + sweep ${sweepMs} ms)`,
  );
  ctx.pump.setPeriod(opts.intervalMs);
  const names = new Map(slice.map((i) => [fleet.racks[i]!.name, i] as const));
  const since = new Date(Date.now() - 1_000);
  for (const i of slice) fleet.live[i] = 0;
  const silencedAt = Date.now();
  const down = await waitForTransitions(ctx, {
    since,
    want: new Set(names.keys()),
    toStatus: "offline",
    deadline: performance.now() + windowMs + 30_000,
    label: "marked offline",
  });
  const detect = ascending(
    [...down.found].map(([name, e]) => Date.parse(e.at) - fleet.lastSentMs[names.get(name)!]!),
  );
  // Where the time went, from the event's own details.last_seen (the Mixer's clock when it took the last beat).
  const ingest: number[] = [];
  const pastWindow: number[] = [];
  for (const [name, e] of down.found) {
    const seen = typeof e.details?.last_seen === "string" ? Date.parse(e.details.last_seen) : Number.NaN;
    if (Number.isNaN(seen)) continue;
    ingest.push(seen - fleet.lastSentMs[names.get(name)!]!);
    pastWindow.push(Date.parse(e.at) - seen - windowMs);
  }
  const split =
    ingest.length > 0
      ? `; split p50: last heartbeat sent -> taken by the Mixer ${round(percentile(ascending(ingest), 50), 0)} ms, ` +
        `then window ${windowMs} ms, then ${round(percentile(ascending(pastWindow), 50), 0)} ms to the sweep that marked it ` +
        `(p99 ${round(percentile(ascending(pastWindow), 99), 0)} ms)`
      : "";
  ctx.book.add(
    {
      name: "offline.p50",
      value: round(percentile(detect, 50), 0),
      unit: "ms",
      note:
        `last heartbeat sent -> audit event to_status offline (its 'at'), ${down.found.size}/${slice.length} Racks ` +
        `(${round(opts.killFraction * 100, 2)}% of ${fleet.enrolled}) silenced at once; bound: heartbeat_interval ` +
        `${opts.intervalMs} ms x missed ${opts.missed} + one sweep tick (${sweepMs} ms) = ${windowMs + sweepMs} ms; ` +
        `${down.others} other Racks marked offline meanwhile${split}; ${ctx.command}`,
    },
    { name: "offline.p99", value: round(percentile(detect, 99), 0), unit: "ms", note: "as offline.p50" },
    {
      name: "offline.max",
      value: round(detect[detect.length - 1] ?? Number.NaN, 0),
      unit: "ms",
      note: `as offline.p50; silence began ${round(silencedAt - Math.max(...slice.map((i) => fleet.lastSentMs[i]!)), 0)} ms after the newest of their last heartbeats`,
    },
  );

  // They come back: the first heartbeat of each makes it active again at once (a presence transition).
  const backSince = new Date(Date.now() - 1_000);
  for (const i of slice) {
    fleet.watchNext[i] = 1;
    fleet.live[i] = 1;
  }
  const up = await waitForTransitions(ctx, {
    since: backSince,
    want: new Set(names.keys()),
    toStatus: "active",
    deadline: performance.now() + opts.intervalMs + 30_000,
    label: "back online",
  });
  const back = ascending(
    [...up.found].map(([name, e]) => Date.parse(e.at) - fleet.firstSentMs[names.get(name)!]!),
  );
  ctx.book.add(
    {
      name: "back_online.p50",
      value: round(percentile(back, 50), 0),
      unit: "ms",
      note: `first heartbeat after the silence -> audit event to_status active, ${up.found.size}/${slice.length} Racks; no hello needed`,
    },
    {
      name: "back_online.p99",
      value: round(percentile(back, 99), 0),
      unit: "ms",
      note: "as back_online.p50",
    },
  );
}
