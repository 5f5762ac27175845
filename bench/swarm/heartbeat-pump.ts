// Sends the fleet's heartbeats at a set cadence: a ring over every Rack, each live one once per period.
import { SEND_HISTORY, type SimulatedFleet } from "./simulated-fleet.js";
import { within } from "./waits.js";

const TICK_MS = 5;
/** Most heartbeats sent in one turn of the event loop before yielding to socket writes and replies. */
const MAX_BATCH = 2_000;
/** Flat out: heartbeats per round between flushes (a round trip on every connection). */
const FLAT_OUT_BATCH = 10_000;
/** How far behind schedule the pump may fall before it stops catching up (and counts the shortfall instead). */
const MAX_BEHIND_MS = 1_000;

/**
 * Walks a ring over all N Racks at N positions per period and publishes a heartbeat for each live Rack it passes:
 * every live Rack beats once per period, and the offered rate is live/period. `flatOut` walks as fast as the
 * generator can, awaiting a flush on every connection after each batch so memory stays bounded.
 */
export class HeartbeatPump {
  #periodMs: number;
  #flatOut = false;
  #position = 0;
  /** Ring positions owed since the last re-anchor (fractional). */
  #anchorMs = 0;
  #anchorPos = 0;
  #walked = 0;
  #sent = 0;
  /** Positions skipped because the generator could not keep up. */
  #shed = 0;
  /** Wakes the loop from its pause between ticks (so `stop()` never waits on a cleared timer). */
  #wake: (() => void) | undefined;
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(
    readonly fleet: SimulatedFleet,
    periodMs: number,
  ) {
    this.#periodMs = periodMs;
  }

  /** Heartbeats published so far. */
  get sent(): number {
    return this.#sent;
  }

  /** Heartbeats the schedule asked for that the generator could not send in time (it fell behind). */
  get shed(): number {
    return this.#shed;
  }

  get periodMs(): number {
    return this.#periodMs;
  }

  /** Each live Rack beats once per `periodMs` from now on. */
  setPeriod(periodMs: number): void {
    this.#flatOut = false;
    this.#periodMs = periodMs;
    this.#reanchor();
  }

  /** As fast as the generator and the bus allow, until `setPeriod`. */
  setFlatOut(): void {
    this.#flatOut = true;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#reanchor();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
  }

  #reanchor(): void {
    this.#anchorMs = performance.now();
    this.#anchorPos = this.#walked;
  }

  /** A flush round trip on every connection (a closed or reconnecting one is given up on after 2 s). */
  #flushAll(): Promise<unknown> {
    return this.fleet.flushAll((p) => within(p, 2_000, undefined));
  }

  async #run(): Promise<void> {
    const rounds: Array<Promise<unknown>> = [];
    while (this.#running) {
      if (this.#flatOut) {
        this.#walk(FLAT_OUT_BATCH);
        // Backpressure: a PING/PONG round trip on every connection per batch, two batches in flight at most, so
        // the outbound buffers stay bounded while the next batch is already being written.
        rounds.push(this.#flushAll());
        if (rounds.length >= 2) await rounds.shift();
        else await new Promise<void>((resolve) => setImmediate(resolve));
        this.#reanchor();
        continue;
      }
      await Promise.all(rounds.splice(0));
      const now = performance.now();
      let owed =
        Math.floor(this.#anchorPos + ((now - this.#anchorMs) * this.fleet.size) / this.#periodMs) -
        this.#walked;
      const maxOwed = Math.ceil((MAX_BEHIND_MS * this.fleet.size) / this.#periodMs);
      if (owed > maxOwed) {
        // Fell more than a second behind: drop the debt rather than burst, and count what was not sent.
        this.#shed += this.#liveShare(owed - maxOwed);
        this.#walked += owed - maxOwed;
        this.#anchorPos = this.#walked;
        this.#anchorMs = now;
        this.#position = (this.#position + owed - maxOwed) % this.fleet.size;
        owed = maxOwed;
      }
      if (owed > 0) this.#walk(Math.min(owed, MAX_BATCH));
      const behind = owed > MAX_BATCH;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        if (behind) setImmediate(resolve);
        else setTimeout(resolve, TICK_MS);
      });
      this.#wake = undefined;
    }
  }

  /** Live Racks among the next `positions` of the ring (an estimate for shed counting: the live fraction). */
  #liveShare(positions: number): number {
    return Math.round((positions * this.fleet.liveCount()) / this.fleet.size);
  }

  /** Advances the ring by `positions`, publishing for each live Rack passed. */
  #walk(positions: number): void {
    const f = this.fleet;
    const nowMs = Date.now();
    const ts = new Date(nowMs).toISOString();
    const sampled = f.sampleSize;
    for (let k = 0; k < positions; k++) {
      const i = this.#position;
      this.#position = i + 1 === f.size ? 0 : i + 1;
      if (f.live[i] !== 1) continue;
      const t = f.templates[i];
      if (t === undefined) continue;
      const seq = f.seq[i]! + 1;
      f.seq[i] = seq;
      const publisher = f.publisherOf(i);
      if (publisher === undefined) continue;
      try {
        publisher.publish(f.subjects[i]!, Buffer.from(t.head + seq + t.mid + ts + t.tail, "latin1"));
      } catch {
        // A closed or draining connection: the Rack misses this beat, as a real one would.
        continue;
      }
      const last = f.lastSentMs[i]!;
      if (last > 0 && nowMs - last > f.maxGapMs[i]!) f.maxGapMs[i] = nowMs - last;
      f.lastSentMs[i] = nowMs;
      if (i < sampled) f.sampleSends[i * SEND_HISTORY + (seq % SEND_HISTORY)] = nowMs;
      if (f.watchNext[i] === 1) {
        f.watchNext[i] = 0;
        f.firstSentMs[i] = nowMs;
      }
      this.#sent++;
    }
    this.#walked += positions;
  }
}
