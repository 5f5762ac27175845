// Backup and restore of a bucket through nats-server's own stream snapshot and restore API (the endpoints the `nats`
// CLI drives; nats.js has no client for them): a consistent snapshot of a running stream, restored into a cluster
// where the stream does not exist. docs/cluster.md, "Backup and restore of KV".
import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { KvError } from "./kv-errors.js";

/** A stream's snapshot: its config and state when taken, and the server's archive (opaque bytes). */
export interface StreamSnapshot {
  config: Record<string, unknown> & { name: string };
  state: Record<string, unknown>;
  data: Uint8Array;
}

/** A snapshot or restore that did not complete; nothing is half-restored on the server's side. */
export class KvBackupError extends KvError {
  override readonly name = "KvBackupError";
  constructor(
    readonly stream: string,
    reason: string,
  ) {
    super("kv_backup_failed", `backup of stream ${stream}: ${reason}`);
  }
}

const CHUNK_BYTES = 128 * 1024;

/**
 * Takes a snapshot of `stream` (e.g. `KV_fluxrig_racks`) while it runs.
 *
 * @example
 * const snap = await snapshotStream(nc, "KV_fluxrig_racks");
 */
export async function snapshotStream(
  nc: NatsConnection,
  stream: string,
  opts: { timeoutMs?: number; inboxPrefix?: string } = {},
): Promise<StreamSnapshot> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deliver = createInbox(opts.inboxPrefix);
  const chunks: Uint8Array[] = [];
  const sub = nc.subscribe(deliver);
  try {
    const reply = await nc.request(
      `$JS.API.STREAM.SNAPSHOT.${stream}`,
      JSON.stringify({ deliver_subject: deliver, no_consumers: true, chunk_size: CHUNK_BYTES, jsck: false }),
      { timeout: timeoutMs },
    );
    const started = apiReply<{ config: StreamSnapshot["config"]; state: Record<string, unknown> }>(
      stream,
      reply,
    );
    const deadline = Date.now() + timeoutMs;
    const timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
    try {
      for await (const m of sub) {
        const status = m.headers?.code ?? 0;
        if (status >= 400)
          throw new KvBackupError(stream, `server ended the snapshot: ${m.headers?.description}`);
        // An empty message is the end of the archive.
        if (m.data.length === 0) {
          return { config: started.config, state: started.state, data: concat(chunks) };
        }
        chunks.push(m.data);
        // The server waits for an acknowledgement of the chunks it asks about (flow control).
        if (m.reply) m.respond();
      }
    } finally {
      clearTimeout(timer);
    }
    throw new KvBackupError(
      stream,
      Date.now() >= deadline
        ? `no end of the archive within ${timeoutMs} ms`
        : "the subscription ended early",
    );
  } finally {
    sub.unsubscribe();
  }
}

/**
 * Restores a snapshot as a new stream of the same name (the stream must not exist), replicas as its config says.
 *
 * @example
 * await restoreStream(nc, snap);
 */
export async function restoreStream(
  nc: NatsConnection,
  snapshot: StreamSnapshot,
  opts: { timeoutMs?: number } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const stream = snapshot.config.name;
  const reply = await nc.request(
    `$JS.API.STREAM.RESTORE.${stream}`,
    JSON.stringify({ config: snapshot.config, state: snapshot.state }),
    { timeout: timeoutMs },
  );
  const { deliver_subject: deliver } = apiReply<{ deliver_subject: string }>(stream, reply);
  for (let offset = 0; offset < snapshot.data.length; offset += CHUNK_BYTES) {
    const ack = await nc.request(deliver, snapshot.data.subarray(offset, offset + CHUNK_BYTES), {
      timeout: timeoutMs,
    });
    if (ack.data.length > 0) apiReply(stream, ack);
  }
  // The empty message ends the upload; the answer comes once the stream is in place.
  const done = await nc.request(deliver, new Uint8Array(0), { timeout: timeoutMs });
  apiReply(stream, done);
}

function apiReply<T>(stream: string, msg: Msg): T {
  const body = msg.json<T & { error?: { description?: string; err_code?: number } }>();
  if (body.error) throw new KvBackupError(stream, `${body.error.description} (${body.error.err_code})`);
  return body;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
