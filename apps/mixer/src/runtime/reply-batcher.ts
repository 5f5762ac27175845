// Replies gathered over one turn of the event loop and sent together: one socket write instead of one per reply.
import type { MsgHdrs } from "@nats-io/transport-node";

/** Anything that can answer a request, e.g. a NATS `Msg` with a reply subject. */
export interface Respondable {
  respond(data: Uint8Array, opts?: { headers?: MsgHdrs }): boolean;
}

/**
 * The Mixer answers hellos as their writes commit, hundreds at a time. The NATS client flushes its outbound buffer
 * once per microtask burst, and replies that settle in different bursts each cost a write syscall (about 70 us
 * here). Deferring them to `setImmediate` sends a whole loop turn's replies in one write, for well under a
 * millisecond of added latency.
 */
export class ReplyBatcher {
  #queued: Array<{ to: Respondable; data: Uint8Array; headers: MsgHdrs | undefined }> = [];
  #scheduled: NodeJS.Immediate | undefined;
  #sent = 0;
  #flushes = 0;

  /** Queues a reply (with its headers, e.g. the Cluster Key signature) for the end of this loop turn. */
  respond(to: Respondable, data: Uint8Array, headers?: MsgHdrs): void {
    this.#queued.push({ to, data, headers });
    this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Sends everything queued now (also called on shutdown, before the connection drains). */
  flush(): number {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const batch = this.#queued;
    if (batch.length === 0) return 0;
    this.#queued = [];
    for (const { to, data, headers } of batch)
      to.respond(data, headers === undefined ? undefined : { headers });
    this.#sent += batch.length;
    this.#flushes += 1;
    return batch.length;
  }

  /** Replies sent and the number of flushes they took (their ratio is the batching achieved). */
  get stats(): { sent: number; flushes: number } {
    return { sent: this.#sent, flushes: this.#flushes };
  }
}
