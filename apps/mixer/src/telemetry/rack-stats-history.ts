// The last minutes of each Rack's heartbeat stats (CPU, memory, messages), for the console's chart: a small ring of
// typed arrays per Rack, filled by presence as heartbeats arrive, at most one sample per step.
import { z } from "zod";

/** One sample as the API answers it; a figure the heartbeat did not carry is null. */
export const StatsSampleSchema = z
  .object({
    at: z.string().describe("ISO 8601: when the Mixer received the heartbeat"),
    cpu_pct: z.number().nullable().describe("the Rack process's CPU, percent"),
    rss_bytes: z.number().nullable(),
    messages_in: z.number().nullable().describe("messages delivered to its gears since they started"),
    messages_out: z.number().nullable(),
  })
  .meta({ id: "StatsSample" });
export type StatsSample = z.infer<typeof StatsSampleSchema>;

export const RackStatsHistorySchema = z
  .object({
    entity_id: z.string(),
    name: z.string(),
    window_seconds: z.number().int(),
    step_seconds: z.number().int(),
    /** Oldest first, within the window. */
    samples: z.array(StatsSampleSchema),
  })
  .meta({ id: "RackStatsHistory" });
export type RackStatsHistoryView = z.infer<typeof RackStatsHistorySchema>;

/** The figures a sample keeps, in this order, from a heartbeat's stats. */
const FIELDS = 4;

interface Ring {
  /** ms since the epoch per slot; 0 = empty. */
  at: Float64Array;
  /** FIELDS values per slot, NaN where the heartbeat had none. Float32: a chart needs no more. */
  values: Float32Array;
  /** The next slot to write. */
  next: number;
  lastMs: number;
}

export interface RackStatsHistoryOptions {
  /** How far back samples are kept (default 5 minutes). */
  windowMs?: number;
  /** At most one sample per Rack this often (default 10 s); heartbeats in between are not sampled. */
  stepMs?: number;
  /** Racks kept at most; past it the Rack heard from least recently is dropped first (default 20,000). */
  maxRacks?: number;
}

function numberAt(value: unknown, ...path: string[]): number {
  let at: unknown = value;
  for (const key of path) at = (at as Record<string, unknown> | null | undefined)?.[key];
  return typeof at === "number" && Number.isFinite(at) ? at : Number.NaN;
}

/**
 * The stats history of every Rack, in memory only (empty after a restart): 24 bytes per sample slot, so 5 minutes
 * at one sample per 10 s (31 slots) is under 1 KB per Rack with its arrays, about 10 MB at 10,000 Racks, allocated
 * at a Rack's first heartbeat.
 *
 * @example
 * const history = new RackStatsHistory({ windowMs: 300_000, stepMs: 10_000 });
 * history.record(rack.entityId, Date.now(), heartbeat.stats);
 * history.samples(rack.entityId, Date.now()); // oldest first
 */
export class RackStatsHistory {
  readonly windowMs: number;
  readonly stepMs: number;
  readonly #slots: number;
  readonly #maxRacks: number;
  readonly #rings = new Map<bigint, Ring>();

  constructor(opts: RackStatsHistoryOptions = {}) {
    this.windowMs = opts.windowMs ?? 5 * 60_000;
    this.stepMs = Math.max(1, opts.stepMs ?? 10_000);
    this.#slots = Math.max(2, Math.ceil(this.windowMs / this.stepMs) + 1);
    this.#maxRacks = opts.maxRacks ?? 20_000;
  }

  /**
   * Notes a heartbeat's stats; a no-op within `stepMs` of the Rack's last sample. Returns when the next sample is due
   * (ms since the epoch): a caller that keeps it per Rack (presence does, in the Rack's entry) may skip the calls
   * before then, which would be no-ops, and with them a Map lookup by entity id per heartbeat.
   */
  record(entityId: bigint, nowMs: number, stats: unknown): number {
    let ring = this.#rings.get(entityId);
    if (ring !== undefined && nowMs - ring.lastMs < this.stepMs) return ring.lastMs + this.stepMs;
    if (ring === undefined) {
      if (this.#rings.size >= this.#maxRacks) {
        const oldest = this.#rings.keys().next().value;
        if (oldest !== undefined) this.#rings.delete(oldest);
      }
      ring = {
        at: new Float64Array(this.#slots),
        values: new Float32Array(this.#slots * FIELDS),
        next: 0,
        lastMs: 0,
      };
    } else {
      // Re-inserted, so the Map's order is the order Racks were last heard from.
      this.#rings.delete(entityId);
    }
    this.#rings.set(entityId, ring);
    const slot = ring.next;
    ring.at[slot] = nowMs;
    const base = slot * FIELDS;
    ring.values[base] = numberAt(stats, "cpu", "process_pct");
    ring.values[base + 1] = numberAt(stats, "mem", "rss_bytes");
    ring.values[base + 2] = numberAt(stats, "messages", "in");
    ring.values[base + 3] = numberAt(stats, "messages", "out");
    ring.next = (slot + 1) % this.#slots;
    ring.lastMs = nowMs;
    return nowMs + this.stepMs;
  }

  /** The Rack's samples within the window before `nowMs`, oldest first; [] when none. */
  samples(entityId: bigint, nowMs: number): StatsSample[] {
    const ring = this.#rings.get(entityId);
    if (ring === undefined) return [];
    const from = nowMs - this.windowMs;
    const out: StatsSample[] = [];
    for (let i = 0; i < this.#slots; i += 1) {
      const slot = (ring.next + i) % this.#slots;
      const at = ring.at[slot]!;
      if (at === 0 || at < from || at > nowMs) continue;
      const base = slot * FIELDS;
      const value = (k: number) => {
        const v = ring.values[base + k]!;
        return Number.isNaN(v) ? null : v;
      };
      out.push({
        at: new Date(at).toISOString(),
        cpu_pct: value(0),
        rss_bytes: value(1),
        messages_in: value(2),
        messages_out: value(3),
      });
    }
    return out;
  }

  /** Forgets a Rack (removed from the registry). */
  forget(entityId: bigint): void {
    this.#rings.delete(entityId);
  }

  /** How many Racks have a history. */
  get size(): number {
    return this.#rings.size;
  }
}
