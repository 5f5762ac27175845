// Cluster mode: every push of a passport, a bus credential or a scenario is also written to the Rack's own key of
// `fluxrig_rack_state`, signed by the Cluster Key with a version that only grows, so a Rack that missed the push reads
// it when its link comes back (docs/cluster.md, "Racks watch their own state").
import {
  ControlSignatureError,
  type PassportEnvelope,
  signControlMessage,
  verifyControlMessage,
} from "@fluxrig/passport";
import {
  type BusCredential,
  decodeRackState,
  encodeMessage,
  type RackState,
  type ScenarioPush,
} from "@fluxrig/wire";
import type { Logger } from "pino";
import type { KvBucket } from "../kv/kv-bucket.js";
import { KvKeyExistsError, KvRevisionConflictError, KvValueError } from "../kv/kv-errors.js";
import type { ClusterKey } from "../runtime/cluster-key.js";
import { type Clock, type Counters, systemClock } from "../runtime/counters.js";

/** What one push changes in a Rack's state. */
export type RackStateChange =
  | { passport?: PassportEnvelope; busCredential?: BusCredential }
  | { scenario: ScenarioPush }
  /** Rejected, revoked, removed or withdrawn: nothing to run. The key stays, so its version keeps growing. */
  | { clear: true };

/** A key's value as this Mixer last saw it: its KV revision and the state it holds. */
interface Held {
  revision: number;
  state: RackState;
}

/** The stored form of a state (the `v` of the KV layer's envelope): its bytes and the Cluster Key's signature. */
export interface StoredRackState {
  data: string;
  signature: string;
}

/**
 * Attempts of one change when other Mixers write the same key at the same time, with a random pause growing to 250 ms
 * between them: without it, a Mixer with a stream of changes for one Rack (its last write in hand, no read needed)
 * won every race against another Mixer's re-read (seen in the two-writer test).
 */
const CONFLICT_ATTEMPTS = 20;

/**
 * Writes Rack states. `record` never throws and never blocks the push it follows: changes to one Rack are applied
 * in order, one at a time (read, merge, write by revision, re-read on a conflict with another Mixer); a failure
 * (no quorum past the KV layer's retry window) is logged and counted, and the next change writes the whole state.
 *
 * @example
 * const writer = new RackStateWriter({ bucket, clusterKey, logger, counters });
 * writer.record("rack-1", { scenario: push });
 */
export class RackStateWriter {
  readonly #bucket: Pick<KvBucket, "get" | "create" | "update">;
  readonly #key: Pick<ClusterKey, "privateKey" | "publicKey" | "kid">;
  readonly #logger: Logger;
  readonly #counters: Counters;
  readonly #clock: Clock;
  readonly #held = new Map<string, Held>();
  readonly #queues = new Map<string, Promise<void>>();

  constructor(opts: {
    bucket: Pick<KvBucket, "get" | "create" | "update">;
    clusterKey: Pick<ClusterKey, "privateKey" | "publicKey" | "kid">;
    logger: Logger;
    counters: Counters;
    clock?: Clock;
  }) {
    this.#bucket = opts.bucket;
    this.#key = opts.clusterKey;
    this.#logger = opts.logger;
    this.#counters = opts.counters;
    this.#clock = opts.clock ?? systemClock;
  }

  /** Queues `change` for `name`'s key. */
  record(name: string, change: RackStateChange): void {
    const previous = this.#queues.get(name) ?? Promise.resolve();
    const next = previous.then(() => this.#write(name, change));
    this.#queues.set(name, next);
    void next.finally(() => {
      if (this.#queues.get(name) === next) this.#queues.delete(name);
    });
  }

  /**
   * Resolves once every change queued so far is written (or failed), or after `timeoutMs` (a stopping Mixer does not
   * wait out the KV layer's retry window for a cluster without quorum: the pushes went out).
   */
  async settled(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      if (Number.isFinite(timeoutMs)) timer = setTimeout(resolve, timeoutMs);
    });
    const drained = (async () => {
      while (this.#queues.size > 0) await Promise.all([...this.#queues.values()]);
    })();
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
  }

  async #write(name: string, change: RackStateChange): Promise<void> {
    try {
      for (let attempt = 1; attempt <= CONFLICT_ATTEMPTS; attempt++) {
        const held = this.#held.get(name) ?? (await this.#read(name));
        if (held === null && "clear" in change) return;
        const merged = merge(held?.state, change);
        if (held !== null && held !== undefined && sameContent(held.state, merged)) {
          this.#counters.inc("rack_state.unchanged");
          return;
        }
        const state: RackState = {
          ...merged,
          v: 1,
          name,
          version: nextVersion(held),
          ts: this.#clock().toISOString(),
        };
        const bytes = encodeMessage(state);
        const value: StoredRackState = {
          data: Buffer.from(bytes).toString("base64url"),
          signature: signControlMessage(this.#key.privateKey, this.#key.kid, bytes),
        };
        try {
          const record =
            held === null || held === undefined
              ? await this.#bucket.create(name, value)
              : await this.#bucket.update(name, value, held.revision);
          this.#held.set(name, { revision: record.revision, state });
          this.#counters.inc("rack_state.written");
          return;
        } catch (error) {
          // A KvValueError here is the KV layer reading back a key another program overwrote (not its envelope).
          const conflict =
            error instanceof KvRevisionConflictError ||
            error instanceof KvKeyExistsError ||
            error instanceof KvValueError;
          if (!conflict) throw error;
          // Another writer wrote the key: read it again and merge this change into what it holds now.
          this.#held.delete(name);
          this.#counters.inc("rack_state.conflicts");
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(25 * attempt, 250)));
        }
      }
      throw new Error(`still conflicting after ${CONFLICT_ATTEMPTS} attempts`);
    } catch (error) {
      this.#held.delete(name);
      this.#counters.inc("rack_state.failed");
      this.#logger.warn(
        { rack: name, err: (error as Error).message },
        "rack state not written; the Rack keeps what it was pushed, and the next change writes its whole state",
      );
    }
  }

  /** The key's current value through the stream leader; `null` when absent. */
  async #read(name: string): Promise<Held | null> {
    let record: Awaited<ReturnType<KvBucket["get"]>>;
    try {
      record = await this.#bucket.get<StoredRackState>(name);
    } catch (error) {
      // Not even the KV layer's envelope (written by another program): overwritten like any unreadable value.
      if (!(error instanceof KvValueError)) throw error;
      return this.#unreadable(name, error.revision, error.message);
    }
    if (record === null) return null;
    const value = record.value as Partial<StoredRackState> | null;
    const bytes = Buffer.from(String(value?.data ?? ""), "base64url");
    const decoded = decodeRackState(bytes);
    let reason = decoded.ok ? "" : decoded.error.message;
    if (decoded.ok) {
      try {
        verifyControlMessage({ publicKey: this.#key.publicKey, bytes, header: value?.signature });
        return { revision: record.revision, state: decoded.value };
      } catch (error) {
        if (!(error instanceof ControlSignatureError)) throw error;
        reason = `not signed by this cluster's key (${error.message})`;
      }
    }
    return this.#unreadable(name, record.revision, reason);
  }

  /**
   * An unreadable or unsigned value (written by hand, by a newer Mixer, or tampered with): its version is not trusted,
   * and the next one must still pass any the key ever held. A key's versions grow by one per write, so none exceeds
   * the stream sequence of its last write, its revision.
   */
  #unreadable(name: string, revision: number, reason: string): Held {
    this.#counters.inc("rack_state.unreadable");
    this.#logger.warn({ rack: name, revision, reason }, "rack state unreadable; overwriting it");
    return { revision, state: { v: 1, name, version: revision, ts: new Date(0).toISOString() } };
  }
}

function nextVersion(held: Held | null | undefined): number {
  return held === null || held === undefined ? 1 : held.state.version + 1;
}

function merge(
  state: RackState | undefined,
  change: RackStateChange,
): Pick<RackState, "passport" | "bus_credential" | "scenario"> {
  const base = {
    ...(state?.passport ? { passport: state.passport } : {}),
    ...(state?.bus_credential ? { bus_credential: state.bus_credential } : {}),
    ...(state?.scenario ? { scenario: state.scenario } : {}),
  };
  if ("clear" in change) return {};
  if ("scenario" in change) return { ...base, scenario: change.scenario };
  return {
    ...base,
    ...(change.passport ? { passport: change.passport } : {}),
    ...(change.busCredential ? { bus_credential: change.busCredential } : {}),
  };
}

/** Whether a merge changed nothing a Rack acts on (a scenario pushed again differs only in its `ts`). */
function sameContent(
  held: RackState,
  next: Pick<RackState, "passport" | "bus_credential" | "scenario">,
): boolean {
  const content = (s: Pick<RackState, "passport" | "bus_credential" | "scenario">) =>
    JSON.stringify([
      s.passport ?? null,
      s.bus_credential ?? null,
      s.scenario ? { ...s.scenario, ts: null } : null,
    ]);
  return content(held) === content(next);
}
