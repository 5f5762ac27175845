// N simulated Racks over a few shared NATS connections: each with its own Ed25519 key, name, session and heartbeat.
// In the jwt bus mode the shared connections are bootstrap connections (first hello only), and each Rack then has
// its own light connection, as itself: its key, its JWT, its inbox prefix.
import { type LightNats, ScriptedRack } from "@fluxrig/testkit";
import type { NatsConnection } from "./mixer-under-test.js";

type HelloReply = Awaited<ReturnType<ScriptedRack["sendRaw"]>>;

/** What the pump publishes a heartbeat on: a shared nats.js connection, or a Rack's own light one. */
interface Publisher {
  publish(subject: string, data: Uint8Array): void;
}

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
  /** jwt: hello replies whose Cluster Key signature did not verify (a real Rack drops them). */
  badSignatures = 0;

  constructor(
    readonly conns: NatsConnection[],
    size: number,
    readonly auth: "none" | "jwt" = "none",
    readonly server: { host: string; port: number } = { host: "127.0.0.1", port: 4222 },
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

  /** Where Rack `i`'s heartbeats go: its own connection (jwt, once open) or its shared one. */
  publisherOf(i: number): Publisher | undefined {
    if (this.auth === "none") return this.connOf(i);
    const own = this.racks[i]!.light;
    return own === undefined || own.closed ? undefined : own;
  }

  /** A PING/PONG round trip on every connection heartbeats go over (closed ones are skipped). */
  flushAll(within: (p: Promise<unknown>) => Promise<unknown>): Promise<unknown> {
    const conns: Array<{ flush(): Promise<unknown> }> =
      this.auth === "none"
        ? this.conns
        : this.racks.map((r) => r.light).filter((c): c is LightNats => c !== undefined && !c.closed);
    return Promise.all(conns.map((nc) => within(nc.flush().catch(() => undefined))));
  }

  /** jwt: (re)connects Rack `i` as itself: its key signs the nonce, its newest JWT, its own inbox prefix. */
  connectOwn(i: number): Promise<LightNats> {
    return this.racks[i]!.connectLight(this.server);
  }

  /** jwt: a hello over Rack `i`'s own connection, its Cluster Key signature required (counted when bad). */
  async helloOwn(i: number, bytes: Uint8Array, timeoutMs = 10_000): Promise<HelloReply> {
    const rack = this.racks[i]!;
    const refused = rack.refusedControlMessages.length;
    try {
      return await rack.helloLight(bytes, timeoutMs);
    } finally {
      if (rack.refusedControlMessages.length > refused) this.badSignatures++;
    }
  }

  /** jwt: closes every Rack's own connection. */
  async closeOwn(): Promise<void> {
    await Promise.all(this.racks.map((r) => r.light?.close()));
  }

  /** Generates every Rack's key pair (Ed25519, node:crypto); `onProgress` is called every 1,000 Racks. */
  generate(onProgress: (done: number) => void): void {
    for (let i = this.racks.length; i < this.size; i++) {
      const name = rackName(i, this.width);
      // jwt: replies must carry the Cluster Key's signature, as a real Rack requires.
      this.racks.push(
        new ScriptedRack(this.connOf(i), name, undefined, {
          signatures: this.auth === "jwt" ? "require" : "record",
        }),
      );
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
