// A Rack's latest heartbeat stats held in one object per Rack, overwritten in place: no garbage kept per heartbeat.
import { HEARTBEAT_STATUSES, type Heartbeat, type HeartbeatStatus, type RackStats } from "@fluxrig/wire";

/**
 * At 10,000 heartbeats a second, keeping each heartbeat's decoded stats (five small objects that live one interval)
 * promoted them all to V8's old generation and held the Mixer's heap near 200 MB between major collections. The
 * numbers are copied here instead, into fields of one object allocated at a Rack's first heartbeat, and turned back
 * into the stored JSON only when presence is flushed or read.
 */
export class LiveStats {
  cpuProcess = 0;
  cpuHost = 0;
  rss = 0;
  heapUsed = 0;
  lag = 0;
  handles = 0;
  uptime = 0;
  hasGears = false;
  gearsRunning = 0;
  gearsFailed = 0;
  gearsRestarts = 0;
  hasMessages = false;
  messagesIn = 0;
  messagesOut = 0;
  rackStatus: HeartbeatStatus = "active";
  session = "";
  seq = 0;
  flaps = 0;

  /** Copies a heartbeat in. `session` keeps the string it already holds when equal, so nothing new is retained. */
  take(hb: Heartbeat, flaps: number): void {
    const s: RackStats = hb.stats;
    this.cpuProcess = s.cpu.process_pct;
    this.cpuHost = s.cpu.host_pct;
    this.rss = s.mem.rss_bytes;
    this.heapUsed = s.mem.heap_used_bytes;
    this.lag = s.event_loop_lag_ms;
    this.handles = s.active_handles;
    this.uptime = s.uptime_s;
    this.hasGears = s.gears !== undefined;
    this.gearsRunning = s.gears?.running ?? 0;
    this.gearsFailed = s.gears?.failed ?? 0;
    this.gearsRestarts = s.gears?.restarts ?? 0;
    this.hasMessages = s.messages !== undefined;
    this.messagesIn = s.messages?.in ?? 0;
    this.messagesOut = s.messages?.out ?? 0;
    this.rackStatus = internStatus(hb.status);
    if (this.session !== hb.session) this.session = hb.session;
    this.seq = hb.seq;
    this.flaps = flaps;
  }

  /**
   * The stored form (the `stats` column): the heartbeat's stats as sent, plus `rack_status` and
   * `presence: { flaps, session, seq }`.
   */
  toJSON(): Record<string, unknown> {
    const stats: RackStats = {
      cpu: { process_pct: this.cpuProcess, host_pct: this.cpuHost },
      mem: { rss_bytes: this.rss, heap_used_bytes: this.heapUsed },
      event_loop_lag_ms: this.lag,
      active_handles: this.handles,
      uptime_s: this.uptime,
      ...(this.hasGears
        ? { gears: { running: this.gearsRunning, failed: this.gearsFailed, restarts: this.gearsRestarts } }
        : {}),
      ...(this.hasMessages ? { messages: { in: this.messagesIn, out: this.messagesOut } } : {}),
    };
    return {
      ...stats,
      rack_status: this.rackStatus,
      presence: { flaps: this.flaps, session: this.session, seq: this.seq },
    };
  }
  /**
   * The stored form as JSON text, written straight from the fields: exactly `JSON.stringify(this.toJSON())` (the
   * test holds it to that), without the seven objects `toJSON` builds. The presence flush calls it once per Rack.
   */
  toJSONText(): string {
    let text =
      `{"cpu":{"process_pct":${num(this.cpuProcess)},"host_pct":${num(this.cpuHost)}},` +
      `"mem":{"rss_bytes":${num(this.rss)},"heap_used_bytes":${num(this.heapUsed)}},` +
      `"event_loop_lag_ms":${num(this.lag)},"active_handles":${num(this.handles)},"uptime_s":${num(this.uptime)}`;
    if (this.hasGears)
      text += `,"gears":{"running":${num(this.gearsRunning)},"failed":${num(this.gearsFailed)},"restarts":${num(this.gearsRestarts)}}`;
    if (this.hasMessages) text += `,"messages":{"in":${num(this.messagesIn)},"out":${num(this.messagesOut)}}`;
    return (
      `${text},"rack_status":${JSON.stringify(this.rackStatus)},` +
      `"presence":{"flaps":${num(this.flaps)},"session":${JSON.stringify(this.session)},"seq":${num(this.seq)}}}`
    );
  }
}

/** A number as JSON.stringify writes it: the shortest round-trip digits, and null for NaN and the infinities. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : "null";
}

/**
 * Every key of RackStats: a field added to the wire schema fails to compile here, a reminder that LiveStats must copy
 * it (live-stats.test.ts checks the round trip against the schema).
 */
const STATS_KEYS: Record<keyof Required<RackStats>, true> = {
  cpu: true,
  mem: true,
  event_loop_lag_ms: true,
  active_handles: true,
  uptime_s: true,
  gears: true,
  messages: true,
};
/** The keys LiveStats copies (exported for the test that compares it with the wire schema). */
export const LIVE_STATS_KEYS = Object.keys(STATS_KEYS);

function internStatus(status: HeartbeatStatus): HeartbeatStatus {
  return HEARTBEAT_STATUSES.find((s) => s === status) ?? status;
}
