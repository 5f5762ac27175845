// The audit log's stream in cluster mode (docs/cluster.md, "Record layout"): one message per event on
// `fluxrig.audit.<seq>`, at most one per subject, never deleted or purged. An event is appended only if its subject
// holds nothing yet (the stream's compare-and-set: expected last subject sequence 0), so an event is never written
// twice and an existing one is compared, never replaced. Reads go through the stream leader.
import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from "@nats-io/jetstream";
import { type NatsConnection, nuid } from "@nats-io/transport-node";
import { classifyKvError } from "./kv-error-kind.js";
import { KvBucketMismatchError, KvRefusedError, KvUnavailableError } from "./kv-errors.js";
import { AUDIT_STREAM, type AuditLiveRecord, type AuditRecord } from "./registry-layout.js";

/** One message of the stream as a follower reads it. */
export interface AuditMessage {
  seq: number;
  subject: string;
  value: unknown;
  /** Messages after this one when it was delivered: 0 means the follower has caught up for now. */
  pending: number;
}

/** JetStream API codes: stream not found, message not found. */
const STREAM_NOT_FOUND = 10059;
const NO_MESSAGE_FOUND = 10037;

export class AuditStream {
  readonly name = AUDIT_STREAM.name;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #timeout: number;

  private constructor(js: JetStreamClient, jsm: JetStreamManager, timeout: number) {
    this.#js = js;
    this.#jsm = jsm;
    this.#timeout = timeout;
  }

  /** Opens the stream, creating it with `replicas` copies when absent; refuses one with other replicas. */
  static async open(
    nc: NatsConnection,
    opts: { replicas: 1 | 3 | 5; requestTimeoutMs?: number },
  ): Promise<AuditStream> {
    const timeout = opts.requestTimeoutMs ?? 2_000;
    const jsm = await jetstreamManager(nc, { timeout });
    let replicas: number;
    try {
      try {
        replicas = (await jsm.streams.info(AUDIT_STREAM.name)).config.num_replicas;
      } catch (error) {
        if (!(error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND)) throw error;
        const created = await jsm.streams.add({
          name: AUDIT_STREAM.name,
          subjects: [AUDIT_STREAM.subjects],
          num_replicas: opts.replicas,
          storage: StorageType.File,
          max_msgs_per_subject: 1,
          // A second message on an event's subject is refused, never a replacement of the first.
          discard: DiscardPolicy.New,
          discard_new_per_subject: true,
          deny_delete: true,
          deny_purge: true,
          allow_direct: false,
        });
        replicas = created.config.num_replicas;
      }
    } catch (error) {
      throw streamError(error, "open");
    }
    if (replicas !== opts.replicas) {
      throw new KvBucketMismatchError(
        AUDIT_STREAM.name,
        `exists with ${replicas} replica(s), this Mixer is configured for ${opts.replicas}`,
      );
    }
    return new AuditStream(jetstream(nc, { timeout }), jsm, timeout);
  }

  /** The stored event of `seq` (as JSON, decoded by the caller), or null. */
  async get(seq: number): Promise<unknown | null> {
    try {
      const msg = await this.#jsm.streams.getMessage(AUDIT_STREAM.name, {
        last_by_subj: AUDIT_STREAM.subject(seq),
      });
      return msg === null ? null : (msg.json() as unknown);
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === NO_MESSAGE_FOUND) return null;
      throw streamError(error, "get", seq);
    }
  }

  /**
   * Appends the event if its subject is empty: `"written"`, or `"exists"` when it already holds one (also when the
   * server recognises the message id of an earlier attempt of this append: that one landed).
   */
  async append(record: AuditRecord): Promise<"written" | "exists"> {
    try {
      const ack = await this.#js.publish(AUDIT_STREAM.subject(record.seq), JSON.stringify(record), {
        msgID: `audit-${record.seq}`,
        expect: { lastSubjectSequence: 0 },
        timeout: this.#timeout,
      });
      return ack.duplicate ? "exists" : "written";
    } catch (error) {
      if (classifyKvError(error) === "cas") return "exists";
      throw streamError(error, "create", record.seq);
    }
  }

  /**
   * Appends a Mixer's event on a subject of its own, retried within `retryWindowMs` through elections with the same
   * message id (the server answers a repeat of a landed append with the first one's sequence). Resolves with the
   * event's sequence in the stream: the cluster's order of events.
   */
  async appendLive(record: AuditLiveRecord, opts: { retryWindowMs?: number } = {}): Promise<number> {
    const id = nuid.next();
    const deadline = Date.now() + (opts.retryWindowMs ?? 20_000);
    const data = JSON.stringify(record);
    let delay = 100;
    for (;;) {
      try {
        const ack = await this.#js.publish(AUDIT_STREAM.liveSubject(id), data, {
          msgID: id,
          timeout: this.#timeout,
        });
        return ack.seq;
      } catch (error) {
        const kind = classifyKvError(error);
        if (kind === "fatal" || kind === "cas" || Date.now() >= deadline) {
          throw streamError(error, "create", undefined, AUDIT_STREAM.liveSubject(id));
        }
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))),
      );
      delay = Math.min(delay * 2, 1_000);
    }
  }

  /** The stream's last sequence as the leader has it (0 when empty). */
  async lastSeq(): Promise<number> {
    try {
      return (await this.#jsm.streams.info(AUDIT_STREAM.name)).state.last_seq;
    } catch (error) {
      throw streamError(error, "get");
    }
  }

  /** Every event from `fromSeq` on, in the stream's order, then each as it is appended, until `stop()`. */
  async follow(fromSeq = 1): Promise<{ messages: AsyncIterable<AuditMessage>; stop(): void }> {
    const consumer = await this.#js.consumers.get(AUDIT_STREAM.name, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Math.max(1, fromSeq),
    });
    const iter = await consumer.consume();
    async function* messages(): AsyncGenerator<AuditMessage> {
      for await (const m of iter) {
        yield { seq: m.seq, subject: m.subject, value: m.json<unknown>(), pending: m.info.pending };
      }
    }
    return { messages: messages(), stop: () => void iter.stop() };
  }

  /** Messages in the stream (one per event: at most one per subject). */
  async count(): Promise<number> {
    try {
      return (await this.#jsm.streams.info(AUDIT_STREAM.name)).state.messages;
    } catch (error) {
      throw streamError(error, "get");
    }
  }
}

/** The KV layer's errors for the stream: no answer is `KvUnavailableError` (re-run: appends are idempotent). */
function streamError(
  error: unknown,
  operation: "open" | "get" | "create",
  seq?: number,
  subject?: string,
): Error {
  const key = subject ?? (seq === undefined ? "" : AUDIT_STREAM.subject(seq));
  const kind = classifyKvError(error);
  if (kind === "fatal" || kind === "cas") return new KvRefusedError(AUDIT_STREAM.name, key, { cause: error });
  const outcome = operation === "create" ? (kind === "ambiguous" ? "unknown" : "not_written") : "not_a_write";
  return new KvUnavailableError(AUDIT_STREAM.name, key, operation, outcome, 0, 1, { cause: error });
}
