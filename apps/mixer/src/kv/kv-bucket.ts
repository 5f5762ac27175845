// One JetStream KV bucket of the registry, with the semantics cluster mode needs (docs/cluster.md): uniqueness by
// compare-and-set, updates by revision, reads through the stream leader, a bounded retry while the cluster elects
// a leader, and writes whose unknown outcome (a timeout) is resolved by reading back the writer's nonce.
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { type KV, type KvEntry, Kvm, type KvWatchEntry } from "@nats-io/kv";
import { headers, type NatsConnection, nuid, type QueuedIterator } from "@nats-io/transport-node";
import {
  classifyKvError,
  classifyKvOpenError,
  isJetStreamOffForAccount,
  type KvErrorKind,
} from "./kv-error-kind.js";
import {
  KvBucketMismatchError,
  KvError,
  KvKeyExistsError,
  KvRefusedError,
  KvRevisionConflictError,
  KvUnavailableError,
  KvValueError,
} from "./kv-errors.js";

/** How a bucket is opened and how long its operations retry. */
export interface KvBucketOptions {
  /** Copies of every value: 3 in cluster mode (one node may fail), 1 for a one-node test. */
  replicas: 1 | 3 | 5;
  /** Who writes: stored with every value (e.g. `mixer-<host>-<pid>`), shown in conflicts. */
  writerId: string;
  /** Values kept per key, newest included (default 1). */
  history?: number;
  description?: string;
  /** One request's bound (default 2000 ms). */
  requestTimeoutMs?: number;
  /** How long an operation retries through elections and lost quorum before it refuses (default 20 000 ms). */
  retryWindowMs?: number;
  /** First pause between attempts, doubled up to 1000 ms (default 100 ms). */
  retryDelayMs?: number;
}

/** A value as stored: its key, revision (the stream sequence), and who wrote it with which nonce. */
export interface KvRecord<T> {
  key: string;
  revision: number;
  value: T;
  writer: string;
  nonce: string;
  /** When the server stored this revision. */
  created: Date;
}

/** One change seen by {@link KvBucket.watch}: a value written, or a key deleted (`record` null). */
export interface KvChange<T> {
  key: string;
  revision: number;
  record: KvRecord<T> | null;
  /** Messages of the bucket after this one when it was delivered: 0 means the watcher has caught up for now. */
  pending: number;
}

/** Per-call overrides. */
export interface KvCallOptions {
  /** This call's retry window instead of the bucket's (a lease renewal wants less than an enrollment). */
  retryWindowMs?: number;
}

/** Per-write options. */
export interface KvWriteOptions extends KvCallOptions {
  /**
   * The write's identity (default: fresh per call). A caller that retries the same logical write after a
   * `KvUnavailableError` with outcome `"unknown"` passes the same nonce, so a write that did land reads back as its own.
   */
  nonce?: string;
}

/** What this layer stores under a key: the caller's JSON value with its writer and nonce. */
interface Envelope {
  w: string;
  n: string;
  v: unknown;
}

const MAX_RETRY_DELAY_MS = 1_000;

/**
 * A registry bucket. Reads go to the stream leader (`allow_direct: false`): a decision never rests on a replica that
 * may lag. Values are JSON.
 *
 * @example
 * const claims = await KvBucket.open(nc, "fluxrig_claims", { replicas: 3, writerId: "mixer-a" });
 * const won = await claims.create("machine.42", { rack: entityId });
 */
export class KvBucket {
  readonly name: string;
  readonly writerId: string;
  readonly #kv: KV;
  readonly #js: JetStreamClient;
  readonly #requestTimeoutMs: number;
  readonly #retryWindowMs: number;
  readonly #retryDelayMs: number;

  private constructor(name: string, kv: KV, js: JetStreamClient, opts: KvBucketOptions) {
    this.name = name;
    this.#kv = kv;
    this.#js = js;
    this.writerId = opts.writerId;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 2_000;
    this.#retryWindowMs = opts.retryWindowMs ?? 20_000;
    this.#retryDelayMs = opts.retryDelayMs ?? 100;
  }

  /** The JetStream stream that holds the bucket (`KV_<name>`), as the monitoring endpoints name it. */
  get streamName(): string {
    return `KV_${this.name}`;
  }

  /**
   * Opens the bucket, creating it with `replicas` copies if it does not exist; refuses one that exists with other
   * replicas (a config mistake to fix, not to paper over). Retries within the window while the cluster elects.
   */
  static async open(nc: NatsConnection, name: string, opts: KvBucketOptions): Promise<KvBucket> {
    if (!/^[A-Za-z0-9_-]+$/.test(name))
      throw new KvBucketMismatchError(name, "a bucket name is [A-Za-z0-9_-]+");
    if (opts.writerId === "") throw new KvBucketMismatchError(name, "the writer id must not be empty");
    const timeout = opts.requestTimeoutMs ?? 2_000;
    const js = jetstream(nc, { timeout });
    const kvm = new Kvm(js);
    const probe = new Retry(name, "", "open", opts.retryWindowMs ?? 20_000, opts.retryDelayMs ?? 100);
    for (;;) {
      try {
        const kv = await kvm.create(name, {
          replicas: opts.replicas,
          history: opts.history ?? 1,
          allow_direct: false,
          ...(opts.description === undefined ? {} : { description: opts.description }),
          timeout,
        });
        const status = await kv.status();
        const replicas = status.streamInfo.config.num_replicas;
        if (replicas !== opts.replicas) {
          throw new KvBucketMismatchError(
            name,
            `exists with ${replicas} replica(s), this Mixer is configured for ${opts.replicas}; change one of them (see docs/cluster.md)`,
          );
        }
        return new KvBucket(name, kv, js, opts);
      } catch (error) {
        if (error instanceof KvError) throw error;
        await probe.after(error);
      }
    }
  }

  /**
   * Creates `key` only if it does not exist (or was deleted): the uniqueness primitive. Resolves with the stored
   * record when this write holds the key, also when an earlier attempt of it timed out but landed (read back by
   * nonce). Rejects with {@link KvKeyExistsError} when another write holds it, {@link KvUnavailableError} when the
   * cluster gave no answer within the window.
   */
  async create<T>(key: string, value: T, opts: KvWriteOptions = {}): Promise<KvRecord<T>> {
    const envelope = this.#envelope(value, opts.nonce);
    const data = encode(envelope);
    const retry = this.#retry(key, "create", opts);
    // 0 = "no value yet"; a tombstone's revision when the key was deleted (then the create replaces it).
    let expected = 0;
    return this.#conditional(
      key,
      retry,
      () => this.#putAt(key, data, envelope, expected),
      (current) => {
        // Our nonce means one of our attempts landed; another nonce means the key is taken.
        if (current === null) expected = 0;
        else if (current.operation !== "PUT") expected = current.revision;
        else {
          const stored = this.#decode(current);
          if (stored.n === envelope.n) return this.#record(key, current.revision, envelope);
          throw new KvKeyExistsError(this.name, key, current.revision, stored.w);
        }
        return undefined;
      },
    );
  }

  /**
   * Replaces `key`'s value if it is still at `revision`. Resolves with the new record; rejects with
   * {@link KvRevisionConflictError} when another write came first, {@link KvUnavailableError} past the window.
   */
  async update<T>(key: string, value: T, revision: number, opts: KvWriteOptions = {}): Promise<KvRecord<T>> {
    if (!Number.isInteger(revision) || revision <= 0) {
      throw new KvRevisionConflictError(this.name, key, revision, 0);
    }
    const envelope = this.#envelope(value, opts.nonce);
    const data = encode(envelope);
    const retry = this.#retry(key, "update", opts);
    return this.#conditional(
      key,
      retry,
      () => this.#putAt(key, data, envelope, revision),
      (current, kind) => {
        const at = current?.revision ?? 0;
        if (current !== null && current.operation === "PUT" && at > revision) {
          if (this.#decode(current).n === envelope.n) return this.#record(key, at, envelope);
        }
        // Still at our revision: the write did not land (yet); try again with the same nonce.
        if (at !== revision || kind === "cas")
          throw new KvRevisionConflictError(this.name, key, revision, at);
        return undefined;
      },
    );
  }

  /**
   * Deletes `key` if it is still at `revision` (a delete marker, kept in the history like a value). Resolves with the
   * marker's revision; rejects with {@link KvRevisionConflictError} when another write came first. A delete whose
   * outcome was unknown and that finds the key deleted since resolves with that marker's revision: deleted is deleted.
   */
  async delete(key: string, revision: number, opts: KvCallOptions = {}): Promise<number> {
    if (!Number.isInteger(revision) || revision <= 0) {
      throw new KvRevisionConflictError(this.name, key, revision, 0);
    }
    const retry = this.#retry(key, "update", opts);
    const h = headers();
    h.set("KV-Operation", "DEL");
    return this.#conditional(
      key,
      retry,
      async () =>
        (
          await this.#js.publish(`$KV.${this.name}.${key}`, new Uint8Array(0), {
            headers: h,
            expect: { lastSubjectSequence: revision },
            timeout: this.#requestTimeoutMs,
          })
        ).seq,
      (current, kind) => {
        const at = current?.revision ?? 0;
        if (current !== null && current.operation !== "PUT" && at > revision) return at;
        if (at !== revision || kind === "cas")
          throw new KvRevisionConflictError(this.name, key, revision, at);
        return undefined;
      },
    );
  }

  /** One attempt of a put that lands only if `key` is at revision `previousSeq` (0: has no value). */
  async #putAt<T>(
    key: string,
    data: Uint8Array,
    envelope: Envelope,
    previousSeq: number,
  ): Promise<KvRecord<T>> {
    const revision = await this.#kv.put(key, data, { previousSeq, timeout: this.#requestTimeoutMs });
    return this.#record(key, revision, envelope);
  }

  /**
   * One conditional write (create, update, delete), sent until it lands, is refused, or the retry window ends:
   * `send` makes one attempt. After a compare-and-set refusal or an attempt whose outcome is unknown (a timeout, an
   * election), what the key holds now is read back (null: nothing) and `settle` says how the write ended: its result
   * (an earlier attempt landed), a thrown error (another write came first), or undefined (send it again). A read that
   * gets no answer, or any other passing error, waits one retry step and sends again.
   */
  async #conditional<R>(
    key: string,
    retry: Retry,
    send: () => Promise<R>,
    settle: (current: KvEntry | null, kind: "cas" | "ambiguous") => R | undefined,
  ): Promise<R> {
    for (;;) {
      let kind: KvErrorKind;
      try {
        return await send();
      } catch (error) {
        kind = classifyKvError(error);
        if (kind === "fatal") throw new KvRefusedError(this.name, key, { cause: error });
        retry.saw(error, kind);
      }
      if (kind === "cas" || kind === "ambiguous") {
        const current = await this.#readOnce(key, retry);
        if (current !== undefined) {
          const settled = settle(current, kind);
          if (settled !== undefined) return settled;
        }
      }
      await retry.pause();
    }
  }

  /**
   * Every key's latest value (deleted keys as deletes) and then every change as it is written, in the bucket's
   * order, from `fromRevision` on when given. Ends when `stop()` is called on the result or the connection closes.
   */
  async watch<T = unknown>(
    opts: { fromRevision?: number } = {},
  ): Promise<{
    changes: AsyncIterable<KvChange<T>>;
    stop(): void;
  }> {
    const iter: QueuedIterator<KvWatchEntry> = await this.#kv.watch(
      opts.fromRevision === undefined ? {} : { resumeFromRevision: opts.fromRevision },
    );
    const self = this;
    async function* changes(): AsyncGenerator<KvChange<T>> {
      for await (const entry of iter) {
        const record =
          entry.operation === "PUT"
            ? (() => {
                const stored = self.#decode(entry);
                return {
                  key: entry.key,
                  revision: entry.revision,
                  value: stored.v as T,
                  writer: stored.w,
                  nonce: stored.n,
                  created: entry.created,
                };
              })()
            : null;
        yield { key: entry.key, revision: entry.revision, record, pending: entry.delta ?? 0 };
      }
    }
    return { changes: changes(), stop: () => iter.stop() };
  }

  /** The bucket's last revision (its stream's last sequence) as the stream leader has it: 0 for an empty bucket. */
  async lastRevision(opts: KvCallOptions = {}): Promise<number> {
    const retry = this.#retry("", "get", opts);
    for (;;) {
      try {
        const status = await this.#kv.status();
        return status.streamInfo.state.last_seq;
      } catch (error) {
        await retry.after(error);
      }
    }
  }

  /** The current value of `key` as the stream leader has it, or `null` (absent or deleted). Retried within the window. */
  async get<T = unknown>(key: string, opts: KvCallOptions = {}): Promise<KvRecord<T> | null> {
    const retry = this.#retry(key, "get", opts);
    for (;;) {
      const current = await this.#readOnce(key, retry);
      if (current !== undefined) {
        if (current === null || current.operation !== "PUT") return null;
        const stored = this.#decode(current);
        return {
          key,
          revision: current.revision,
          value: stored.v as T,
          writer: stored.w,
          nonce: stored.n,
          created: current.created,
        };
      }
      await retry.pause();
    }
  }

  /** Every key with a value (deleted ones left out), optionally under a filter like `"machine.>"`. */
  async keys(filter = ">", opts: KvCallOptions = {}): Promise<string[]> {
    const retry = this.#retry("", "keys", opts);
    for (;;) {
      try {
        const out: string[] = [];
        for await (const k of await this.#kv.keys(filter)) out.push(k);
        return out.sort();
      } catch (error) {
        const kind = classifyKvError(error);
        if (kind === "fatal") throw new KvRefusedError(this.name, "", { cause: error });
        retry.saw(error, kind);
      }
      await retry.pause();
    }
  }

  /**
   * One leader read: the entry, `null` when absent, `undefined` when this attempt got no answer (noted on `retry`).
   * Throws only what retrying cannot fix.
   */
  async #readOnce(key: string, retry: Retry): Promise<KvEntry | null | undefined> {
    try {
      return await this.#kv.get(key);
    } catch (error) {
      const kind = classifyKvError(error);
      if (kind === "fatal") throw new KvRefusedError(this.name, key, { cause: error });
      retry.saw(error, kind === "ambiguous" ? "unavailable" : kind);
      return undefined;
    }
  }

  #envelope(value: unknown, nonce: string | undefined): Envelope {
    return { w: this.writerId, n: nonce ?? nuid.next(), v: value };
  }

  #record<T>(key: string, revision: number, envelope: Envelope): KvRecord<T> {
    return {
      key,
      revision,
      value: envelope.v as T,
      writer: envelope.w,
      nonce: envelope.n,
      created: new Date(),
    };
  }

  #decode(entry: KvEntry): Envelope {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(entry.value));
    } catch {
      throw new KvValueError(this.name, entry.key, entry.revision, "not JSON");
    }
    if (
      typeof parsed !== "object" ||
      parsed === null ||
      typeof (parsed as Envelope).w !== "string" ||
      typeof (parsed as Envelope).n !== "string" ||
      !("v" in parsed)
    ) {
      throw new KvValueError(
        this.name,
        entry.key,
        entry.revision,
        "not a fluxrig value (no writer and nonce)",
      );
    }
    return parsed as Envelope;
  }

  #retry(key: string, operation: "create" | "update" | "get" | "keys", opts: KvCallOptions): Retry {
    return new Retry(
      this.name,
      key,
      operation,
      opts.retryWindowMs ?? this.#retryWindowMs,
      this.#retryDelayMs,
    );
  }
}

/** The bounded retry of one operation: its deadline, its backoff, and whether any attempt may have landed. */
class Retry {
  readonly #deadline: number;
  readonly #started = Date.now();
  #delay: number;
  #attempts = 0;
  #ambiguous = false;
  #last: unknown;

  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly operation: "create" | "update" | "get" | "open" | "keys",
    windowMs: number,
    delayMs: number,
  ) {
    this.#deadline = this.#started + windowMs;
    this.#delay = delayMs;
  }

  /** Notes a failed attempt. */
  saw(error: unknown, kind: KvErrorKind): void {
    this.#attempts++;
    this.#last = error;
    if (kind === "ambiguous") this.#ambiguous = true;
  }

  /** Classifies a failed attempt, notes it and pauses (or refuses what retrying cannot fix). */
  async after(error: unknown): Promise<void> {
    const kind = this.operation === "open" ? classifyKvOpenError(error) : classifyKvError(error);
    if (kind === "fatal") throw new KvRefusedError(this.bucket, this.key, { cause: error });
    this.saw(error, kind);
    await this.pause();
  }

  /** Waits before the next attempt, or refuses with {@link KvUnavailableError} once the window has passed. */
  async pause(): Promise<void> {
    const now = Date.now();
    if (now >= this.#deadline) {
      // Still off for the account after the whole window: a configuration to fix, not a cluster to wait for.
      if (this.operation === "open" && isJetStreamOffForAccount(this.#last))
        throw new KvRefusedError(this.bucket, this.key, { cause: this.#last });
      const write = this.operation === "create" || this.operation === "update";
      throw new KvUnavailableError(
        this.bucket,
        this.key,
        this.operation,
        write ? (this.#ambiguous ? "unknown" : "not_written") : "not_a_write",
        now - this.#started,
        this.#attempts,
        { cause: this.#last },
      );
    }
    const wait = Math.min(this.#delay, this.#deadline - now);
    this.#delay = Math.min(this.#delay * 2, MAX_RETRY_DELAY_MS);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

function encode(envelope: Envelope): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(envelope));
}
