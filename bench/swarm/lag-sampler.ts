// How far the registry trails the heartbeats sent: read for a sample of Racks through the REST API.
import type { RackRow } from "./mixer-under-test.js";
import { rackName, SEND_HISTORY } from "./simulated-fleet.js";
import type { SwarmContext } from "./swarm-context.js";

export interface LagSample {
  /** Per sampled Rack, in ms: age at the read of the oldest heartbeat sent before it that the row does not show. */
  lagsMs: number[];
  /** Rows that said which heartbeat they reflect (stats.presence.seq); the rest fell back to last_seen. */
  bySeq: number;
  /** Sampled Racks with no last_seen yet. */
  missing: number;
  /** How long the API took to answer the read, request sent to body read, timed off the generator's loop. */
  readMs: number;
}

/** The heartbeat seq the Mixer stored in the row's stats (`stats.presence.seq`), when it says. */
function storedSeq(row: RackRow): number | undefined {
  const presence = row.stats?.presence as { seq?: unknown } | undefined;
  return typeof presence?.seq === "number" ? presence.seq : undefined;
}

/**
 * One read of the first 100 Racks by name (`GET /api/v1/racks?prefix=...&limit=100`), which the Mixer serves
 * from DuckDB: what its batched flush has written. For each Rack the lag is the age, when the read was sent, of
 * the oldest heartbeat sent before the read that the row does not reflect yet (0 when it reflects the newest).
 * The row names the heartbeat it reflects by the seq the Mixer keeps in `stats.presence`, so the flush interval
 * and any backlog inside the Mixer both count; `last_seen` alone would hide a backlog (it is stamped when the
 * Mixer takes a heartbeat, not when the Rack sent it). Polled every few hundred ms, the largest lag seen is the
 * largest sent-to-visible delay to within one poll.
 */
export async function sampleLag(ctx: SwarmContext): Promise<LagSample> {
  const { fleet } = ctx;
  const n = fleet.sampleSize;
  const newest = new Map<string, { i: number; seq: number; sent: number }>();
  for (let i = 0; i < n; i++) {
    if (fleet.live[i] === 1 && fleet.seq[i]! > 0)
      newest.set(rackName(i, fleet.width), { i, seq: fleet.seq[i]!, sent: fleet.lastSentMs[i]! });
  }
  const askedAt = Date.now();
  // Timed on a thread of its own, not this busy loop: the API's latency is a figure (api.racks_at_n_p99).
  const { body: page, ms: readMs } = await ctx.mut.timedApi<{ items: RackRow[] }>(
    `/api/v1/racks?prefix=${fleet.samplePrefix}&limit=${n}`,
  );
  const lagsMs: number[] = [];
  let bySeq = 0;
  let missing = 0;
  for (const row of page.items) {
    const mine = newest.get(row.name);
    if (mine === undefined) continue;
    const seq = storedSeq(row);
    if (seq !== undefined) {
      bySeq++;
      if (seq >= mine.seq) {
        lagsMs.push(0);
        continue;
      }
      // The first heartbeat the row misses; past the kept history, the oldest one kept (a lower bound).
      const firstMissing = fleet.sentAt(mine.i, seq + 1) ?? fleet.sentAt(mine.i, mine.seq - SEND_HISTORY + 1);
      if (firstMissing !== undefined) {
        lagsMs.push(Math.max(0, askedAt - firstMissing));
        continue;
      }
    }
    // No seq in the row: newest sent minus last_seen, a lower bound of the lag.
    const seen = row.last_seen === null ? Number.NaN : Date.parse(row.last_seen);
    if (Number.isNaN(seen)) missing++;
    else lagsMs.push(Math.max(0, mine.sent - seen));
  }
  return { lagsMs, bySeq, missing, readMs };
}
