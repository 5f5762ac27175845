// The registry's KV buckets in cluster mode and how they are opened (the layer below any domain rule, like db/schema.ts).
import type { NatsConnection } from "@nats-io/transport-node";
import { KvBucket, type KvBucketOptions } from "./kv-bucket.js";

/**
 * Every bucket of the registry. `claims` holds the uniqueness keys (`machine.<id>`, `name.<name>`, `key.<kid>`, each
 * created by compare-and-set); `racks` one record per Rack; `scenarios` the catalog; `leases` the work done once;
 * `access` who may do what: bus revocations, named API tokens, enrollment tokens and expected keys.
 * (docs/cluster.md: what each holds and the steps that fill them.)
 */
export const REGISTRY_BUCKETS = {
  racks: { name: "fluxrig_racks", history: 5, description: "fluxrig: one record per Rack" },
  claims: { name: "fluxrig_claims", history: 1, description: "fluxrig: unique MachineIDs, names and keys" },
  scenarios: { name: "fluxrig_scenarios", history: 10, description: "fluxrig: scenarios and their versions" },
  leases: { name: "fluxrig_leases", history: 1, description: "fluxrig: one holder per lease" },
  access: {
    name: "fluxrig_access",
    history: 1,
    description: "fluxrig: bus revocations, API and enrollment tokens, expected keys",
  },
} as const;

export type RegistryBucketName = keyof typeof REGISTRY_BUCKETS;
export type RegistryBuckets = Record<RegistryBucketName, KvBucket>;

/**
 * Opens (creating when absent) every registry bucket with `replicas` copies: 3 in cluster mode.
 *
 * @example
 * const kv = await openRegistryBuckets(nc, { replicas: 3, writerId: `mixer-${hostname()}-${process.pid}` });
 * await kv.claims.create("machine.42", { entity_id });
 */
export async function openRegistryBuckets(
  nc: NatsConnection,
  opts: Omit<KvBucketOptions, "history" | "description">,
): Promise<RegistryBuckets> {
  const entries = await Promise.all(
    (Object.keys(REGISTRY_BUCKETS) as RegistryBucketName[]).map(async (key) => {
      const spec = REGISTRY_BUCKETS[key];
      const bucket = await KvBucket.open(nc, spec.name, {
        ...opts,
        history: spec.history,
        description: spec.description,
      });
      return [key, bucket] as const;
    }),
  );
  return Object.fromEntries(entries) as RegistryBuckets;
}
