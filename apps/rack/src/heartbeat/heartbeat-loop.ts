// Publishes heartbeats on a jittered timer: per-session sequence, random session id, the lifecycle status.
import { randomBytes } from "node:crypto";
import {
  encodeMessage,
  type Heartbeat,
  type HeartbeatStatus,
  heartbeatSubject,
  WireEncodeError,
} from "@fluxrig/wire";
import { jitter, type RandomSource } from "../lifecycle/backoff.js";
import type { StatsSampler, WorkloadStats } from "./rack-stats.js";

/** Heartbeat intervals are moved by up to this fraction, so a fleet restarted together spreads out. */
export const HEARTBEAT_JITTER = 0.1;

/** What the loop asks the agent at each beat. */
export interface HeartbeatSource {
  /** The status to report, or null to skip this beat (not yet enrolled). */
  status(): HeartbeatStatus | null;
  entityId(): string | null;
  /** Gear and message counts, when the gear runtime runs. */
  workload(): WorkloadStats | undefined;
  /** The scenario the gear runtime runs, if any. */
  scenario?(): { name: string; version: string } | undefined;
}

/** Options of {@link HeartbeatLoop}. */
export interface HeartbeatLoopOptions {
  name: string;
  version: string;
  intervalMs: number;
  sampler: StatsSampler;
  source: HeartbeatSource;
  publish: (subject: string, data: Uint8Array) => void;
  now?: () => Date;
  random?: RandomSource;
  /** Called after each heartbeat is handed to NATS (telemetry counts them). */
  onSent?: (hb: Heartbeat) => void;
  onError?: (error: unknown) => void;
}

/**
 * A heartbeat's bytes. Hundreds of gears with long errors can outgrow what the Mixer reads (encodeMessage refuses
 * them): then the per-gear list is left out of that heartbeat and the totals still go.
 */
function encodeHeartbeat(hb: Heartbeat): Uint8Array {
  try {
    return encodeMessage(hb);
  } catch (error) {
    if (!(error instanceof WireEncodeError) || hb.stats.gear_list === undefined) throw error;
    delete hb.stats.gear_list;
    return encodeMessage(hb);
  }
}

/**
 * The heartbeat timer. `start()` beats at once, then every `intervalMs` ± 10 %.
 * @example const loop = new HeartbeatLoop({ ... }); loop.start(); loop.setInterval(reply.heartbeat_interval_ms);
 */
export class HeartbeatLoop {
  /** A fresh random id per process: the Mixer tells a restart from a gap in `seq`. */
  readonly session = randomBytes(16).toString("base64url");
  #seq = 0;
  #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #opts: HeartbeatLoopOptions;

  constructor(opts: HeartbeatLoopOptions) {
    this.#opts = opts;
    this.#intervalMs = opts.intervalMs;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  get sequence(): number {
    return this.#seq;
  }

  /** Adopts the interval the Mixer asked for; the next beat uses it. */
  setInterval(ms: number): void {
    if (ms === this.#intervalMs) return;
    this.#intervalMs = ms;
    if (this.#timer !== undefined) this.#schedule();
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.beat();
    this.#schedule();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Sends one heartbeat now (with `status` overriding the source's, e.g. "stopping"); null when skipped. */
  beat(status?: HeartbeatStatus): Heartbeat | null {
    const hb = this.build(status);
    if (hb === null) return null;
    try {
      this.#opts.publish(heartbeatSubject(this.#opts.name), encodeHeartbeat(hb));
      this.#opts.onSent?.(hb);
    } catch (error) {
      this.#opts.onError?.(error);
    }
    return hb;
  }

  /** The next heartbeat message, consuming a sequence number; null when the source says skip. */
  build(status?: HeartbeatStatus): Heartbeat | null {
    const { source } = this.#opts;
    const reported = status ?? source.status();
    const entityId = source.entityId();
    if (reported === null || entityId === null) return null;
    this.#seq += 1;
    const scenario = source.scenario?.();
    return {
      v: 1,
      entity_id: entityId,
      name: this.#opts.name,
      status: reported,
      seq: this.#seq,
      session: this.session,
      version: this.#opts.version,
      stats: this.#opts.sampler.sample(source.workload()),
      ...(scenario !== undefined ? { scenario: { name: scenario.name, version: scenario.version } } : {}),
      ts: (this.#opts.now?.() ?? new Date()).toISOString(),
    };
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const delay = jitter(this.#intervalMs, HEARTBEAT_JITTER, this.#opts.random);
    this.#timer = setTimeout(() => {
      this.beat();
      this.#schedule();
    }, delay);
  }
}
