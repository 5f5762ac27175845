// N simulated Racks over a few shared NATS connections: each with its own Ed25519 key, name, session and heartbeat.
import { ScriptedRack } from "@fluxrig/testkit";
import type { NatsConnection } from "./mixer-under-test.js";

type Heartbeat = ReturnType<ScriptedRack["heartbeatMessage"]>;

const SEQ_MARK = 987_654_321;
/** Send times kept per sampled Rack, by seq modulo this: enough to name the heartbeat the registry reflects. */
export const SEND_HISTORY = 256;
const TS_MARK = "@@ts@@";

/**
 * A heartbeat as text around its two varying fields: `head + seq + mid + ts + tail` is the JSON the Rack sends.
 * Built once from the real `Heartbeat` shape (ScriptedRack.heartbeatMessage), so the bytes are those a Rack sends.
 */
export interface HeartbeatTemplate {
  head: string;
  mid: string;
  tail: string;
}

/** Splits one Rack's heartbeat JSON around `seq` and `ts`; checked by parsing a rebuilt message once. */
export function heartbeatTemplate(hb: Heartbeat): HeartbeatTemplate {
  const json = JSON.stringify({ ...hb, seq: SEQ_MARK, ts: TS_MARK });
  const seqAt = json.indexOf(`"seq":${SEQ_MARK}`);
  const tsAt = json.indexOf(`"${TS_MARK}"`);
  if (seqAt < 0 || tsAt < seqAt) throw new Error("heartbeat template: seq must come before ts");
  const head = json.slice(0, seqAt + 6);
  const mid = json.slice(seqAt + 6 + String(SEQ_MARK).length, tsAt + 1);
  const tail = json.slice(tsAt + 1 + TS_MARK.length);
  const probe = JSON.parse(`${head}7${mid}2030-01-01T00:00:00.000Z${tail}`) as Heartbeat;
  if (probe.seq !== 7 || probe.ts !== "2030-01-01T00:00:00.000Z" || probe.name !== hb.name)
    throw new Error("heartbeat template does not rebuild the heartbeat");
  return { head, mid, tail };
}

/** Zero-padded names (`sw-00042`), so the first 100 Racks share a prefix the API can list in one page. */
export function rackName(index: number, width: number): string {
  return `sw-${String(index).padStart(width, "0")}`;
}

export class SimulatedFleet {
  readonly size: number;
  readonly width: number;
  readonly racks: ScriptedRack[] = [];
  readonly subjects: string[] = [];
  /** Per Rack: its heartbeat text parts, once it has an entity id. */
  readonly templates: Array<HeartbeatTemplate | undefined>;
  /** Per Rack: 1 while it heartbeats (enrolled, not killed, its connection up). */
  readonly live: Uint8Array;
  readonly seq: Uint32Array;
  /** Per Rack: Date.now() of its last heartbeat sent, 0 before the first. */
  readonly lastSentMs: Float64Array;
  /** Per Rack: set to 1 to have the pump record the next send in `firstSentMs` (back-online latency). */
  readonly watchNext: Uint8Array;
  readonly firstSentMs: Float64Array;
  /**
   * Per Rack: the longest time between two of its heartbeats as the pump published them (the herd resets it and
   * `lastSentMs` at reconnect), so a Rack the Mixer marks offline can be told apart from one the generator left silent.
   */
  readonly maxGapMs: Float64Array;
  /** Per Rack: the entity id and MachineID of its first active hello reply. */
  readonly entityIds: Array<string | undefined>;
  readonly machineIds: Uint16Array;
  /** For the first `sampleSize` Racks: when each of their last SEND_HISTORY heartbeats was sent, by seq. */
  readonly sampleSends: Float64Array;

  constructor(
    readonly conns: NatsConnection[],
    size: number,
  ) {
    this.size = size;
    this.width = Math.max(5, String(size - 1).length);
    this.templates = new Array(size);
    this.entityIds = new Array(size);
    this.live = new Uint8Array(size);
    this.seq = new Uint32Array(size);
    this.lastSentMs = new Float64Array(size);
    this.watchNext = new Uint8Array(size);
    this.firstSentMs = new Float64Array(size);
    this.maxGapMs = new Float64Array(size);
    this.machineIds = new Uint16Array(size);
    this.sampleSends = new Float64Array(this.sampleSize * SEND_HISTORY);
  }

  /** Generates every Rack's key pair (Ed25519, node:crypto); `onProgress` is called every 1,000 Racks. */
  generate(onProgress: (done: number) => void): void {
    for (let i = this.racks.length; i < this.size; i++) {
      const name = rackName(i, this.width);
      this.racks.push(new ScriptedRack(this.connOf(i), name));
      this.subjects.push(`fluxrig.event.heartbeat.${name}`);
      if (i % 1000 === 999) onProgress(i + 1);
    }
    onProgress(this.size);
  }

  connIndex(i: number): number {
    return i % this.conns.length;
  }

  connOf(i: number): NatsConnection {
    return this.conns[this.connIndex(i)]!;
  }

  /** Records an active hello reply: the Rack's entity id, MachineID and heartbeat template. */
  adopted(i: number, entityId: string, machineId: number): void {
    const rack = this.racks[i]!;
    this.entityIds[i] = entityId;
    this.machineIds[i] = machineId;
    this.templates[i] ??= heartbeatTemplate(rack.heartbeatMessage({ entity_id: entityId }));
  }

  /** The Prefix of the first 100 Racks' names (`sw-000` for 10,000 Racks), for one-page sampling by the API. */
  get samplePrefix(): string {
    return `sw-${"0".repeat(this.width - 2)}`;
  }

  get sampleSize(): number {
    return Math.min(100, this.size);
  }

  /** When sampled Rack `i` sent heartbeat `seq`, if still in its history. */
  sentAt(i: number, seq: number): number | undefined {
    if (i >= this.sampleSize || seq < 1 || seq > this.seq[i]! || this.seq[i]! - seq >= SEND_HISTORY)
      return undefined;
    const t = this.sampleSends[i * SEND_HISTORY + (seq % SEND_HISTORY)]!;
    return t > 0 ? t : undefined;
  }

  /** Racks that enrolled (have an entity id). Past the 16-bit MachineID range the rest are refused. */
  get enrolled(): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) if (this.templates[i] !== undefined) n++;
    return n;
  }

  isEnrolled(i: number): boolean {
    return this.templates[i] !== undefined;
  }

  liveCount(): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) n += this.live[i]!;
    return n;
  }
}
