// Presence in memory: heartbeats update last_seen and stats at once; DuckDB gets them in batches; a sweep marks silence.
import type { Heartbeat, RackStatus } from "@fluxrig/wire";
import { LiveStats } from "./live-stats.js";

/**
 * What the tracker knows of one Rack; loaded from the registry at start and kept in step by the Mixer.
 *
 * A class, not an object literal: a literal with a `get stats()` accessor is kept by V8 in dictionary mode, about
 * 830 bytes per Rack (8 MB at 10,000), with one getter closure each; instances of a class share one hidden class.
 */
export class PresenceEntry {
  readonly entityId: bigint;
  readonly name: string;
  status: RackStatus;
  /** Last heartbeat or hello, in ms since the epoch; 0 when never seen. */
  lastSeenMs: number;
  /** Stats as loaded from the registry, until the first heartbeat of this run replaces them with `live`. */
  storedStats: Record<string, unknown> | null;
  /** The latest heartbeat's stats, overwritten in place (see live-stats.ts). */
  live: LiveStats | undefined = undefined;
  /** Offline -> back transitions since the Mixer started counting (also in stats.presence.flaps). */
  flaps: number;
  session: string | null = null;
  seq = 0;
  dirty = false;
  /** A status transition for this Rack is being written; the sweep leaves it alone meanwhile. */
  busy = false;

  constructor(rack: {
    entityId: bigint;
    name: string;
    status: RackStatus;
    lastSeenMs?: number;
    stats?: Record<string, unknown> | null;
  }) {
    this.entityId = rack.entityId;
    this.name = rack.name;
    this.status = rack.status;
    this.lastSeenMs = rack.lastSeenMs ?? 0;
    this.storedStats = rack.stats ?? null;
    this.flaps = readFlaps(rack.stats);
  }

  /** What the registry's `stats` column should hold now (built on each read from `live`, or `storedStats`). */
  get stats(): Record<string, unknown> | null {
    return this.live ? this.live.toJSON() : this.storedStats;
  }
}

export type HeartbeatVerdict =
  | { accepted: true; entry: PresenceEntry; cameBack: boolean }
  | { accepted: false; reason: "unknown_rack" | "entity_mismatch" | "rejected" | "revoked" | "replay" };

/** Where presence goes: the batched write, and the status transitions (written at once, with their audit event). */
export interface PresenceSink {
  /**
   * Writes a batch: calls `rows` once, with the connection held, and `rows` calls `row` for each Rack to write
   * (`statsJson` null keeps the stored stats). Nothing of the batch is built before or kept after that call.
   */
  flush(
    rows: (row: (entityId: bigint, lastSeenMs: number, statsJson: string | null) => void) => number,
  ): Promise<void>;
  markOffline(entry: PresenceEntry, details: { lastSeen: Date; missedIntervals: number }): Promise<void>;
  markBack(entry: PresenceEntry, details: { offlineForMs: number; flaps: number }): Promise<void>;
}

export interface PresenceOptions {
  heartbeatIntervalMs: number;
  missedHeartbeats: number;
  /** The Mixer's start: every Rack gets a full window from here before it can be marked offline. */
  startedAtMs: number;
}

/** Tracks presence of every Rack by name. Single-threaded by design: all calls happen on the event loop. */
export class PresenceTracker {
  readonly #entries = new Map<string, PresenceEntry>();
  /** Kept in step on every upsert and removal, so the pending cap costs O(1) per hello. */
  #pending = 0;
  readonly #opts: PresenceOptions;
  readonly #sink: PresenceSink;
  /** Since when the Mixer's own bus link is down (it cannot see heartbeats then); undefined while connected. */
  #blindSinceMs: number | undefined;
  /** The last time the bus link came back: silence before it was not observable, so it is not held against Racks. */
  #regainedAtMs = 0;

  constructor(opts: PresenceOptions, sink: PresenceSink) {
    this.#opts = opts;
    this.#sink = sink;
  }

  /** The silence after which an adopted Rack is offline. */
  get offlineAfterMs(): number {
    return this.#opts.heartbeatIntervalMs * this.#opts.missedHeartbeats;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** How many Racks are pending adoption. */
  get pendingCount(): number {
    return this.#pending;
  }

  get(name: string): PresenceEntry | undefined {
    return this.#entries.get(name);
  }

  /** Adds or refreshes what the registry says about a Rack (enrollment, adoption, load at start). */
  upsert(rack: {
    entityId: bigint;
    name: string;
    status: RackStatus;
    lastSeenMs?: number;
    stats?: Record<string, unknown> | null;
  }): PresenceEntry {
    const existing = this.#entries.get(rack.name);
    if (existing && existing.entityId === rack.entityId) {
      this.#pending += (rack.status === "pending" ? 1 : 0) - (existing.status === "pending" ? 1 : 0);
      existing.status = rack.status;
      if (rack.lastSeenMs !== undefined && rack.lastSeenMs > existing.lastSeenMs)
        existing.lastSeenMs = rack.lastSeenMs;
      return existing;
    }
    const entry = new PresenceEntry(rack);
    if (existing?.status === "pending") this.#pending -= 1;
    if (entry.status === "pending") this.#pending += 1;
    this.#entries.set(rack.name, entry);
    return entry;
  }

  remove(name: string): void {
    if (this.#entries.get(name)?.status === "pending") this.#pending -= 1;
    this.#entries.delete(name);
  }

  /** A sign of life other than a heartbeat (a hello). */
  touch(name: string, nowMs: number): void {
    const entry = this.#entries.get(name);
    if (entry && nowMs > entry.lastSeenMs) {
      entry.lastSeenMs = nowMs;
      entry.dirty = true;
    }
  }

  /**
   * Applies one heartbeat. Never creates a Rack: unknown names, mismatched ids, refused Racks and replays are
   * dropped with a reason for the caller to count. A heartbeat from an offline Rack brings it back at once.
   */
  heartbeat(hb: Heartbeat, entityId: bigint, nowMs: number): HeartbeatVerdict {
    const entry = this.#entries.get(hb.name);
    if (!entry) return { accepted: false, reason: "unknown_rack" };
    if (entry.entityId !== entityId) return { accepted: false, reason: "entity_mismatch" };
    if (entry.status === "rejected") return { accepted: false, reason: "rejected" };
    if (entry.status === "revoked") return { accepted: false, reason: "revoked" };
    if (entry.session === hb.session && hb.seq <= entry.seq) return { accepted: false, reason: "replay" };
    // The same session string is kept rather than replaced by an equal copy: nothing new retained per heartbeat.
    if (entry.session !== hb.session) entry.session = hb.session;
    entry.seq = hb.seq;
    const silentForMs = entry.lastSeenMs > 0 ? nowMs - entry.lastSeenMs : 0;
    entry.lastSeenMs = Math.max(entry.lastSeenMs, nowMs);
    let cameBack = false;
    if (entry.status === "offline" && !entry.busy) {
      cameBack = true;
      entry.flaps += 1;
      entry.status = "active";
    }
    entry.live ??= new LiveStats();
    entry.live.take(hb, entry.flaps);
    entry.storedStats = null;
    entry.dirty = true;
    if (cameBack) {
      this.#transition(
        entry,
        () => this.#sink.markBack(entry, { offlineForMs: silentForMs, flaps: entry.flaps }),
        "offline",
      );
    }
    return { accepted: true, entry, cameBack };
  }

  /**
   * The Mixer lost its bus link: nobody is judged while it cannot see heartbeats. Idempotent; returns true on the
   * first call of an outage.
   */
  busLost(nowMs: number): boolean {
    if (this.#blindSinceMs !== undefined) return false;
    this.#blindSinceMs = nowMs;
    return true;
  }

  /**
   * The bus link is back: every Rack gets a full window from now, as after a restart, so the Racks' own reconnects
   * and the backlog they send are not mistaken for silence. Returns how long the Mixer was blind (0 if it was not).
   */
  busRegained(nowMs: number): number {
    const blindFor = this.#blindSinceMs === undefined ? 0 : Math.max(0, nowMs - this.#blindSinceMs);
    this.#blindSinceMs = undefined;
    this.#regainedAtMs = Math.max(this.#regainedAtMs, nowMs);
    return blindFor;
  }

  /** True while the Mixer's bus link is down. */
  get blind(): boolean {
    return this.#blindSinceMs !== undefined;
  }

  /** The start of the current grace window: the Mixer's start or the last bus reconnect, whichever is later. */
  #graceFromMs(): number {
    return Math.max(this.#opts.startedAtMs, this.#regainedAtMs);
  }

  /** True when a sweep at `nowMs` would mark at least one Rack offline (cheap; lets the caller confirm first). */
  hasSilent(nowMs: number): boolean {
    if (this.#blindSinceMs !== undefined) return false;
    const window = this.offlineAfterMs;
    const graceFrom = this.#graceFromMs();
    if (nowMs - graceFrom <= window) return false;
    for (const entry of this.#entries.values()) {
      if (entry.status !== "active" || entry.busy) continue;
      if (nowMs - Math.max(entry.lastSeenMs, graceFrom) > window) return true;
    }
    return false;
  }

  /**
   * Marks adopted Racks silent for longer than the window (as of `nowMs`) offline. Returns how many were marked.
   * Nobody is marked while the bus link is down, nor within one window of the Mixer's start or of a bus reconnect.
   */
  sweep(nowMs: number): number {
    if (this.#blindSinceMs !== undefined) return 0;
    const window = this.offlineAfterMs;
    const graceFrom = this.#graceFromMs();
    if (nowMs - graceFrom <= window) return 0;
    let marked = 0;
    for (const entry of this.#entries.values()) {
      if (entry.status !== "active" || entry.busy) continue;
      // A Rack is judged from the start of the grace window, not from a last_seen the Mixer could not observe.
      const since = Math.max(entry.lastSeenMs, graceFrom);
      if (nowMs - since <= window) continue;
      entry.status = "offline";
      marked++;
      const missedIntervals = Math.floor((nowMs - since) / this.#opts.heartbeatIntervalMs);
      const lastSeen = new Date(entry.lastSeenMs);
      this.#transition(entry, () => this.#sink.markOffline(entry, { lastSeen, missedIntervals }), "active");
    }
    return marked;
  }

  /**
   * Writes every changed last_seen and stats in one batch. The rows are made while the sink appends them, one at a
   * time, so a batch never outlives the write (see presence-writes.ts). A Rack whose stats were only loaded from the
   * registry is written with `null` stats, which keeps them. Entries changed during the write stay dirty; on failure
   * every entry taken is dirty again.
   */
  async flush(): Promise<number> {
    if (!this.#anyDirty()) return 0;
    const taken: PresenceEntry[] = [];
    try {
      await this.#sink.flush((row) => {
        for (const entry of this.#entries.values()) {
          if (!entry.dirty || entry.lastSeenMs === 0) continue;
          entry.dirty = false;
          taken.push(entry);
          row(entry.entityId, entry.lastSeenMs, entry.live ? entry.live.toJSONText() : null);
        }
        return taken.length;
      });
    } catch (err) {
      for (const entry of taken) entry.dirty = true;
      throw err;
    }
    return taken.length;
  }

  #anyDirty(): boolean {
    for (const entry of this.#entries.values()) if (entry.dirty && entry.lastSeenMs !== 0) return true;
    return false;
  }

  /** Pending Racks silent since before `olderThanMs` (candidates for pending_ttl). */
  stalePending(olderThanMs: number): PresenceEntry[] {
    return [...this.#entries.values()].filter((e) => e.status === "pending" && e.lastSeenMs < olderThanMs);
  }

  entries(): IterableIterator<PresenceEntry> {
    return this.#entries.values();
  }

  #transition(entry: PresenceEntry, write: () => Promise<void>, revertTo: RackStatus): void {
    entry.busy = true;
    write()
      .catch(() => {
        // The write failed (it was logged by the sink): undo so the next sweep or heartbeat tries again.
        if (entry.status !== revertTo) entry.status = revertTo;
      })
      .finally(() => {
        entry.busy = false;
      });
  }
}

function readFlaps(stats: Record<string, unknown> | null | undefined): number {
  const presence = stats?.presence as { flaps?: unknown } | undefined;
  return typeof presence?.flaps === "number" && Number.isFinite(presence.flaps) ? presence.flaps : 0;
}
