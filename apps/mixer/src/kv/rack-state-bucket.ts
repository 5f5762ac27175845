// The `fluxrig_rack_state` bucket (cluster mode, docs/cluster.md "Racks watch their own state"): one key per Rack, its
// name, holding the signed state it must run. The Mixer writes it through a KvBucket (leader reads, compare-and-set);
// Racks read their own key with a direct get, which needs the stream's `allow_direct`.

import { RACK_STATE_BUCKET } from "@fluxrig/wire";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { KvBucket, type KvBucketOptions } from "./kv-bucket.js";
import { classifyKvError } from "./kv-error-kind.js";
import { KvRefusedError } from "./kv-errors.js";

/** The bucket's name and what it keeps: the latest value per key is all a Rack reads. */
export const RACK_STATE_BUCKET_SPEC = {
  name: RACK_STATE_BUCKET,
  history: 1,
  description: "fluxrig: what each Rack must run (signed), read and watched by the Rack itself",
} as const;

/**
 * Opens (creating when absent) the Rack-state bucket with `replicas` copies and makes sure its stream allows direct
 * gets: `KvBucket.open` creates buckets with `allow_direct: false` (the Mixer's own reads go to the stream leader, and
 * still do: the KvBucket keeps reading through the leader), but a Rack's permission can name one key only in a direct
 * get's subject. A direct get may be answered by a replica a moment behind the leader; a Rack also watches its key,
 * so a value it read too early is followed by the newer one.
 *
 * @example
 * const state = await openRackStateBucket(nc, { replicas: 3, writerId: "mixer-a" });
 */
export async function openRackStateBucket(
  nc: NatsConnection,
  opts: Omit<KvBucketOptions, "history" | "description">,
): Promise<KvBucket> {
  const bucket = await KvBucket.open(nc, RACK_STATE_BUCKET_SPEC.name, {
    ...opts,
    history: RACK_STATE_BUCKET_SPEC.history,
    description: RACK_STATE_BUCKET_SPEC.description,
  });
  // Retried like the KV layer's own operations: an R3 stream just created may still be electing its leader.
  const deadline = Date.now() + (opts.retryWindowMs ?? 20_000);
  const jsm = await jetstreamManager(nc, { timeout: opts.requestTimeoutMs ?? 5_000 });
  for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
    try {
      const info = await jsm.streams.info(bucket.streamName);
      if (info.config.allow_direct !== true)
        await jsm.streams.update(bucket.streamName, { ...info.config, allow_direct: true });
      return bucket;
    } catch (cause) {
      if (classifyKvError(cause) === "fatal" || Date.now() >= deadline)
        throw new KvRefusedError(RACK_STATE_BUCKET_SPEC.name, "", { cause });
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
