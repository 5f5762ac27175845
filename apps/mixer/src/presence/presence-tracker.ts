// Presence in memory: heartbeats update last_seen and stats at once; DuckDB gets them in batches; a sweep finds silence.
import type { Heartbeat } from "@fluxrig/wire";
import type { DirectoryFollower, RackDirectory, RackSlot } from "../registry/rack-directory.js";
import type { RackRecord } from "../registry/registry-records.js";
import { ALWAYS_LEADING, type LeaderGate } from "../runtime/leader-gate.js";
import { LiveStats } from "./live-stats.js";

/**
 * What presence knows of one Rack: its last sighting, heartbeat session and live stats. Who the Rack is and its
 * status are the directory's: read through `rack`, the Rack's slot there, never copied.
 *
 * A class, not an object literal: a literal with a `get stats()` accessor is kept by V8 in dictionary mode, about
 * 830 bytes per Rack (8 MB at 10,000), with one getter closure each; instances of a class share one hidden class.
 */
export class PresenceEntry {
  readonly rack: RackSlot;
  /** Last heartbeat or hello, in ms since the epoch; 0 when never seen. */
  lastSeenMs: number;
  /** The latest heartbeat's stats, overwritten in place (see live-stats.ts); until then the record's stats. */
  live: LiveStats | undefined = undefined;
  /** Offline -> back transitions since the Mixer started counting (also in stats.presence.flaps). */
  flaps: number;
  session: string | null = null;
  seq = 0;
  /** last_seen (or stats) changed since the last flush that took this Rack. */
  dirty = false;
  /** A heartbeat's stats arrived since the last flush that wrote this Rack's stats (see `stats_flush_interval`). */
  statsDirty = false;
  /** A heartbeat found this Rack offline and asked for it back; set until that change has settled. */
  returning = false;
  /** The Rack said it is stopping and presence asked for it offline; set until that change has settled. */
  leaving = false;
  /**
   * When the stats history takes this Rack's next sample (what its `record` answered; 0: at the next heartbeat). The
   * heartbeats before it are not offered: the history would skip them anyway, after a lookup by entity id each.
   */
  historyDueMs = 0;

  constructor(rack: RackSlot) {
    this.rack = rack;
    this.lastSeenMs = rack.record.lastSeen?.getTime() ?? 0;
    this.flaps = readFlaps(rack.record.stats);
  }

  get entityId(): bigint {
    return this.rack.record.entityId;
  }

  get name(): string {
    return this.rack.record.name;
  }

  /** What the registry's `stats` column should hold now (built on each read from `live`, or the record's). */
  get stats(): Record<string, unknown> | null {
    return this.live ? this.live.toJSON() : this.rack.record.stats;
  }
}

export type HeartbeatVerdict =
  | { accepted: true; entry: PresenceEntry; cameBack: boolean; stopped: boolean }
  | { accepted: false; reason: "unknown_rack" | "entity_mismatch" | "rejected" | "replay" };

/** An active Rack silent past the window: what the sweep decides, for the lifecycle to write. */
export interface SilentRack {
  rack: RackRecord;
  lastSeen: Date;
  missedIntervals: number;
}

/** Where presence goes: the batched write, and the one status change a heartbeat asks for. */
export interface PresenceSink {
  /**
   * Writes a batch: calls `rows` with the connection held, until it answers false, and `rows` calls `row` for at
   * most `max` Racks to write each time (`statsJson` null keeps the stored stats); between calls the event loop may
   * run. Nothing of the batch is built before or kept after those calls.
   */
  flush(
    rows: (
      row: (entityId: bigint, lastSeenMs: number, statsJson: string | null) => void,
      max: number,
    ) => boolean,
  ): Promise<void>;
  /** An offline Rack's heartbeat: back online. A rejection is logged by the sink; the next heartbeat asks again. */
  markBack(rack: RackRecord, details: { offlineForMs: number; flaps: number }): Promise<void>;
  /** An active Rack's last heartbeat says it is stopping on purpose: offline at once, with that cause. */
  markStopped(rack: RackRecord, details: { lastSeen: Date }): Promise<void>;
}

/** The stats history presence feeds (telemetry/rack-stats-history.ts). */
export interface StatsHistorySink {
  /** Samples the stats unless within the step of the Rack's last sample; answers when the next one is due. */
  record(entityId: bigint, nowMs: number, stats: unknown): number;
  forget(entityId: bigint): void;
}

export interface PresenceOptions {
  heartbeatIntervalMs: number;
  missedHeartbeats: number;
  /** The Mixer's start: every Rack gets a full window from here before it can be marked offline. */
  startedAtMs: number;
  /**
   * `[presence] stats_flush_interval`: a flush writes stats only when this long has passed since the last flush that
   * wrote them; the flushes between write last_seen alone. 0 or unset: every flush writes them.
   */
  statsFlushIntervalMs?: number;
}

/**
 * Tracks presence of every Rack in the directory, by name. Single-threaded by design: all calls happen on the event
 * loop.
 */
/** The longest grace after a start or a bus reconnect while Racks keep returning, in offline windows (or 60 s). */
export const RECOVERY_CAP_WINDOWS = 10;

/** Racks heard before they were known, remembered at most (a fleet's worth of enrollments in flight). */
const HEARD_UNKNOWN_MAX = 10_000;

export class PresenceTracker {
  /** Heartbeats heard from Racks not yet in the directory: entity id -> when (see #heardBeforeKnown). */
  readonly #heardUnknown = new Map<bigint, number>();
  readonly #entries = new Map<string, PresenceEntry>();
  readonly #opts: PresenceOptions;
  readonly #sink: PresenceSink;
  /** Since when the Mixer's own bus link is down (it cannot see heartbeats then); undefined while connected. */
  #blindSinceMs: number | undefined;
  /**
   * The last time the bus link came back or this Mixer began to lead: silence before it was not observed (or not this
   * Mixer's to judge), so it is not held against Racks.
   */
  #graceRestartedAtMs = 0;
  /**
   * The latest time a Rack was heard for the first time since the Mixer's start or the last bus reconnect: while the
   * fleet is still coming back (a Rack returned within the last window), nobody is judged. On a JWT bus, 10,000 Racks
   * re-authenticate one connection at a time after a nats-server restart (about 12 s on 2 cores), and a fixed window
   * from the reconnect marked the later ones offline while they were queuing to connect.
   */
  #lastReturnMs = 0;
  /** When a flush last wrote stats (ms since the epoch); the first flush writes them whenever it runs. */
  #statsWrittenAtMs = Number.NEGATIVE_INFINITY;

  /** Where each heartbeat's stats are sampled for the last minutes' chart (`GET /api/v1/racks/{ref}/stats`). */
  readonly #history: StatsHistorySink | undefined;
  /** Whether this Mixer gives verdicts (cluster mode: one Mixer leads; the others keep presence warm). */
  readonly #leader: LeaderGate;

  constructor(
    opts: PresenceOptions,
    deps: { directory: RackDirectory; sink: PresenceSink; history?: StatsHistorySink; leader?: LeaderGate },
  ) {
    this.#opts = opts;
    this.#sink = deps.sink;
    this.#history = deps.history;
    this.#leader = deps.leader ?? ALWAYS_LEADING;
    const history = deps.history;
    const entries = this.#entries;
    const follower: DirectoryFollower = {
      added: (slot) => {
        const entry = new PresenceEntry(slot);
        const heard = this.#heardUnknown.get(slot.record.entityId);
        if (heard !== undefined) {
          this.#heardUnknown.delete(slot.record.entityId);
          entry.lastSeenMs = Math.max(entry.lastSeenMs, heard);
        }
        entries.set(slot.record.name, entry);
      },
      removed: (slot) => {
        if (entries.get(slot.record.name)?.rack === slot) entries.delete(slot.record.name);
        history?.forget(slot.record.entityId);
      },
    };
    deps.directory.follow(follower);
  }

  /** The silence after which an adopted Rack is offline. */
  get offlineAfterMs(): number {
    return this.#opts.heartbeatIntervalMs * this.#opts.missedHeartbeats;
  }

  /** Where silence starts to count: the Mixer's start, the last bus reconnect or its start as leader, the latest. */
  get #graceFromMs(): number {
    return Math.max(this.#opts.startedAtMs, this.#graceRestartedAtMs);
  }

  /**
   * Until when nobody is judged: one window from {@link #graceFromMs}, longer while Racks keep returning (one window
   * after the latest return), but never more than {@link RECOVERY_CAP_WINDOWS} windows (at least a minute), so a fleet
   * that trickles back forever cannot hide a dead Rack.
   */
  #graceEndMs(window: number): number {
    const from = this.#graceFromMs;
    const returning = this.#lastReturnMs >= from ? this.#lastReturnMs + window : 0;
    const cap = from + Math.max(RECOVERY_CAP_WINDOWS * window, 60_000);
    return Math.max(from + window, Math.min(returning, cap));
  }

  /** Notes a Rack heard for the first time since the grace began (see {@link #lastReturnMs}). */
  #noteReturn(entry: PresenceEntry, nowMs: number): void {
    if (entry.lastSeenMs < this.#graceFromMs && nowMs > this.#lastReturnMs) this.#lastReturnMs = nowMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(name: string): PresenceEntry | undefined {
    return this.#entries.get(name);
  }

  /**
   * A heartbeat from a Rack not in the directory yet. In cluster mode a Rack another Mixer just enrolled reaches this
   * Mixer's directory through the KV mirror, which may lag its first heartbeats; were they forgotten, a sweep could
   * judge the Rack silent the moment its record arrives (seen under load when the mirror lagged past the window).
   * Kept per entity id (bounded, the oldest dropped first) and taken as the Rack's last seen when it is added.
   */
  #heardBeforeKnown(entityId: bigint, nowMs: number): void {
    const heard = this.#heardUnknown;
    heard.delete(entityId);
    heard.set(entityId, nowMs);
    if (heard.size > HEARD_UNKNOWN_MAX) heard.delete(heard.keys().next().value as bigint);
  }

  /** A sign of life other than a heartbeat (a hello). */
  touch(name: string, nowMs: number): void {
    const entry = this.#entries.get(name);
    if (entry && nowMs > entry.lastSeenMs) {
      this.#noteReturn(entry, nowMs);
      entry.lastSeenMs = nowMs;
      entry.dirty = true;
    }
  }

  /**
   * Applies one heartbeat. Never creates a Rack: unknown names, mismatched ids, rejected Racks and replays are
   * dropped with a reason for the caller to count. A heartbeat from an offline Rack asks for it back at once; the
   * last heartbeat of an active Rack that stops on purpose (`stopping`) asks for it offline at once, without waiting
   * for the missed-heartbeat window. Only while this Mixer leads: otherwise it keeps the Rack's presence and asks for
   * nothing (the leader, which hears the same heartbeat, does).
   */
  heartbeat(hb: Heartbeat, entityId: bigint, nowMs: number): HeartbeatVerdict {
    const entry = this.#entries.get(hb.name);
    if (!entry) {
      this.#heardBeforeKnown(entityId, nowMs);
      return { accepted: false, reason: "unknown_rack" };
    }
    const rack = entry.rack.record;
    if (rack.entityId !== entityId) return { accepted: false, reason: "entity_mismatch" };
    const status = rack.status;
    if (status === "rejected") return { accepted: false, reason: "rejected" };
    // A revoked Rack is heartbeat-only, not gone: its last seen and stats stay current (an operator deciding whether to
    // adopt it again sees it alive), and nothing here can change its status.
    if (entry.session === hb.session && hb.seq <= entry.seq) return { accepted: false, reason: "replay" };
    // The same session string is kept rather than replaced by an equal copy: nothing new retained per heartbeat.
    if (entry.session !== hb.session) entry.session = hb.session;
    entry.seq = hb.seq;
    const silentForMs = entry.lastSeenMs > 0 ? nowMs - entry.lastSeenMs : 0;
    this.#noteReturn(entry, nowMs);
    entry.lastSeenMs = Math.max(entry.lastSeenMs, nowMs);
    const stopping = hb.status === "stopping";
    const leading = this.#leader.leading;
    const cameBack = leading && status === "offline" && !stopping && !entry.returning;
    const stopped = leading && status === "active" && stopping && !entry.leaving;
    if (cameBack) {
      entry.returning = true;
      entry.flaps += 1;
    }
    entry.live ??= new LiveStats();
    entry.live.take(hb, entry.flaps);
    // The step is the history's rule; the entry only remembers when the history said to come back. A clock that
    // steps back waits until it passes the due time again, as the history's own check would.
    const history = this.#history;
    if (history !== undefined && nowMs >= entry.historyDueMs) {
      entry.historyDueMs = history.record(entityId, nowMs, hb.stats);
    }
    entry.dirty = true;
    entry.statsDirty = true;
    if (cameBack) {
      this.#sink
        .markBack(rack, { offlineForMs: silentForMs, flaps: entry.flaps })
        .catch(() => undefined)
        .finally(() => {
          entry.returning = false;
        });
    }
    if (stopped) {
      entry.leaving = true;
      this.#sink
        .markStopped(rack, { lastSeen: new Date(entry.lastSeenMs) })
        .catch(() => undefined)
        .finally(() => {
          entry.leaving = false;
        });
    }
    return { accepted: true, entry, cameBack, stopped };
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
    this.#restartGrace(nowMs);
    return blindFor;
  }

  /**
   * This Mixer leads from now (cluster mode, docs/cluster.md "Work done once"): the same grace as after a bus
   * reconnect, so it marks nobody offline for silence it did not judge. A window from now, longer while Racks are
   * still coming back (their first heartbeat since now counts as a return, see {@link #lastReturnMs}).
   */
  leadingFrom(nowMs: number): void {
    this.#restartGrace(nowMs);
  }

  #restartGrace(nowMs: number): void {
    this.#graceRestartedAtMs = Math.max(this.#graceRestartedAtMs, nowMs);
  }

  /** True while the Mixer's bus link is down. */
  get blind(): boolean {
    return this.#blindSinceMs !== undefined;
  }

  /**
   * A pending Rack that has sent no hello or heartbeat for the offline window (heartbeat_interval x
   * missed_heartbeats): shown to operators as `stale`, so nobody adopts a dead box; it changes nothing (the pending
   * TTL removes the row). Judged as the sweep judges adopted Racks: never while the bus link is down, and silence
   * before the Mixer's start or a bus reconnect, which the Mixer could not observe, is not held against it.
   */
  stale(name: string, nowMs: number): boolean {
    const entry = this.#entries.get(name);
    if (entry?.rack.record.status !== "pending" || this.#blindSinceMs !== undefined) return false;
    if (nowMs <= this.#graceEndMs(this.offlineAfterMs)) return false;
    const since = Math.max(entry.lastSeenMs, this.#graceFromMs);
    return nowMs - since > this.offlineAfterMs;
  }

  /** True when {@link silent} at `nowMs` would name at least one Rack (cheap; lets the caller confirm first). */
  hasSilent(nowMs: number): boolean {
    return this.#judge(nowMs, true).length > 0;
  }

  /**
   * The adopted Racks silent for longer than the window as of `nowMs`: the sweep's verdicts, for the caller to
   * write. Nobody is named while the bus link is down, nor within one window of the Mixer's start, of a bus
   * reconnect or of its start as leader (longer while Racks are still coming back, see {@link #lastReturnMs}), nor
   * within one window of becoming active (an adoption starts a full window). Whether this Mixer leads is the
   * sweeper's to check: presence judges the same on every Mixer.
   */
  silent(nowMs: number): SilentRack[] {
    return this.#judge(nowMs, false);
  }

  #judge(nowMs: number, firstOnly: boolean): SilentRack[] {
    const found: SilentRack[] = [];
    if (this.#blindSinceMs !== undefined) return found;
    const window = this.offlineAfterMs;
    const graceFrom = this.#graceFromMs;
    if (nowMs <= this.#graceEndMs(window)) return found;
    for (const entry of this.#entries.values()) {
      const rack = entry.rack.record;
      if (rack.status !== "active") continue;
      // A Rack is judged from the start of the grace window, not from a last_seen the Mixer could not observe.
      let since = Math.max(entry.lastSeenMs, graceFrom);
      if (nowMs - since <= window) continue;
      since = Math.max(since, rack.lifecycle.statusChangedAt.getTime());
      if (nowMs - since <= window) continue;
      found.push({
        rack,
        lastSeen: new Date(entry.lastSeenMs),
        missedIntervals: Math.floor((nowMs - since) / this.#opts.heartbeatIntervalMs),
      });
      if (firstOnly) break;
    }
    return found;
  }

  /**
   * Writes every changed last_seen and stats in one batch. The rows are made while the sink appends them, one at a
   * time, so a batch never outlives the write (see presence-writes.ts), and a slice at a time: heartbeats applied
   * between slices land in this batch if their Rack is not taken yet, else in the next. Stats are written only for
   * Racks whose heartbeats brought new ones, and, given `nowMs`, only when `statsFlushIntervalMs` has passed since the
   * last flush that wrote them; other rows carry `null` stats, which keeps the stored ones. Without `nowMs` (the final
   * flush at stop) every changed Rack's stats are written. Entries changed during the write stay dirty; on failure
   * every entry taken is dirty again, its stats too if they were taken.
   */
  async flush(nowMs?: number): Promise<number> {
    const interval = this.#opts.statsFlushIntervalMs ?? 0;
    const withStats = nowMs === undefined || nowMs - this.#statsWrittenAtMs >= interval;
    if (!this.#anyDirty(withStats)) return 0;
    const taken: PresenceEntry[] = [];
    // A Map's iterator is live across the slices: a Rack removed meanwhile is skipped, one added is visited.
    const pending = this.#entries.values();
    try {
      await this.#sink.flush((row, max) => {
        for (let given = 0; given < max; ) {
          const next = pending.next();
          if (next.done === true) return false;
          const entry = next.value;
          const stats = withStats && entry.statsDirty;
          if (!(entry.dirty || stats) || entry.lastSeenMs === 0) continue;
          entry.dirty = false;
          entry.statsDirty = stats ? false : entry.statsDirty;
          taken.push(entry);
          row(entry.entityId, entry.lastSeenMs, stats && entry.live ? entry.live.toJSONText() : null);
          given++;
        }
        return true;
      });
    } catch (err) {
      for (const entry of taken) {
        entry.dirty = true;
        // Taken with stats or not, they are owed again: a heartbeat's stats are never lost to a failed write.
        if (withStats && entry.live) entry.statsDirty = true;
      }
      throw err;
    }
    if (withStats && nowMs !== undefined) this.#statsWrittenAtMs = nowMs;
    return taken.length;
  }

  #anyDirty(withStats: boolean): boolean {
    for (const entry of this.#entries.values()) {
      if ((entry.dirty || (withStats && entry.statsDirty)) && entry.lastSeenMs !== 0) return true;
    }
    return false;
  }

  /** Pending Racks silent (last hello, else first seen) since before `olderThanMs`: candidates for pending_ttl. */
  stalePending(olderThanMs: number): RackRecord[] {
    const stale: RackRecord[] = [];
    for (const entry of this.#entries.values()) {
      const rack = entry.rack.record;
      if (rack.status !== "pending") continue;
      const seenMs = entry.lastSeenMs > 0 ? entry.lastSeenMs : rack.lifecycle.firstSeen.getTime();
      if (seenMs < olderThanMs) stale.push(rack);
    }
    return stale;
  }

  entries(): IterableIterator<PresenceEntry> {
    return this.#entries.values();
  }
}

function readFlaps(stats: Record<string, unknown> | null | undefined): number {
  const presence = stats?.presence as { flaps?: unknown } | undefined;
  return typeof presence?.flaps === "number" && Number.isFinite(presence.flaps) ? presence.flaps : 0;
}
