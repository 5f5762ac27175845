// Typed failures of the KV layer (cluster mode's storage): each says what happened to the write, so a caller never
// has to guess whether it landed.
import { MixerError } from "../runtime/errors.js";

/** Base class of every error the KV layer throws on purpose. `code` is stable and safe to log. */
export class KvError extends MixerError {
  override readonly name: string = "KvError";
}

/**
 * The cluster did not take the operation within the retry bound: no stream leader (an election, or fewer than a
 * majority of nats-server nodes up), or no answer. `outcome` says whether the write may still have happened:
 * `"not_written"` when every attempt was refused outright, `"unknown"` when at least one attempt timed out and the
 * read-backs could not tell (a later read resolves it: values carry their writer's nonce).
 */
export class KvUnavailableError extends KvError {
  override readonly name = "KvUnavailableError";
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly operation: "create" | "update" | "get" | "open" | "keys",
    readonly outcome: "not_written" | "unknown" | "not_a_write",
    readonly waitedMs: number,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    const what = key === "" ? `bucket ${bucket}` : `${bucket}/${key}`;
    super(
      "kv_unavailable",
      `KV ${operation} of ${what} refused: the JetStream cluster gave no answer within ${Math.round(waitedMs)} ms (${attempts} attempts); is a majority of nats-server nodes up?${outcome === "unknown" ? " The write may still land: read the key back before trying again." : ""} Last error: ${causeText(options?.cause)}`,
      options,
    );
  }
}

/** `create` found the key held by another writer's value (compare-and-set lost). */
export class KvKeyExistsError extends KvError {
  override readonly name = "KvKeyExistsError";
  constructor(
    readonly bucket: string,
    readonly key: string,
    /** The revision of the value that holds it. */
    readonly revision: number,
    /** The writer id stored with it. */
    readonly holder: string,
  ) {
    super("kv_key_exists", `KV ${bucket}/${key} already exists (revision ${revision}, written by ${holder})`);
  }
}

/** `update` expected a revision the key no longer has (another writer changed it first, or it was never there). */
export class KvRevisionConflictError extends KvError {
  override readonly name = "KvRevisionConflictError";
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly expected: number,
    /** The key's current revision, 0 when it does not exist. */
    readonly actual: number,
  ) {
    super(
      "kv_revision_conflict",
      `KV ${bucket}/${key}: expected revision ${expected}, the key is at ${actual === 0 ? "no revision (absent)" : `revision ${actual}`}`,
    );
  }
}

/** The bucket exists with settings this Mixer cannot use (e.g. other replicas than configured). */
export class KvBucketMismatchError extends KvError {
  override readonly name = "KvBucketMismatchError";
  constructor(
    readonly bucket: string,
    reason: string,
  ) {
    super("kv_bucket_mismatch", `KV bucket ${bucket}: ${reason}`);
  }
}

/** A stored value is not an envelope this layer wrote (hand-edited, or another program's bucket). */
export class KvValueError extends KvError {
  override readonly name = "KvValueError";
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly revision: number,
    reason: string,
  ) {
    super("kv_value_invalid", `KV ${bucket}/${key} revision ${revision}: ${reason}`);
  }
}

/** The KV refused the request for a reason retrying cannot fix (permissions, JetStream off, a bad key). */
export class KvRefusedError extends KvError {
  override readonly name = "KvRefusedError";
  constructor(
    readonly bucket: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(
      "kv_refused",
      `KV ${bucket}${key === "" ? "" : `/${key}`} refused: ${causeText(options?.cause)}`,
      options,
    );
  }
}

/** A lease holder learned it no longer holds the lease: work done under it must stop. */
export class LeaseLostError extends KvError {
  override readonly name = "LeaseLostError";
  constructor(
    readonly lease: string,
    readonly holder: string,
    reason: string,
  ) {
    super("lease_lost", `lease ${lease} lost by ${holder}: ${reason}`);
  }
}

function causeText(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return cause === undefined ? "none" : String(cause);
}
