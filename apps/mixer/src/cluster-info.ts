// The cluster facts the API answers with: who this Mixer is, its Racks by status, its counters and its memory.
import { formatEntityIdHex } from "@fluxrig/entity-id";
import type { ClusterInfo } from "@fluxrig/wire";
import type { MixerConfig } from "./config.js";
import type { Db } from "./db/duckdb-database.js";
import { memoryReport } from "./db/memory-report.js";
import type { HelloSubscription } from "./enrollment/hello-subscription.js";
import type { SignatureVerifier } from "./enrollment/signature-pool.js";
import type { RackDirectory } from "./registry/rack-directory.js";
import type { NodeRecord } from "./registry/registry-records.js";
import type { RegistryWrites } from "./registry/registry-writer.js";
import type { ClusterKey } from "./runtime/cluster-key.js";
import type { Counters } from "./runtime/counters.js";
import type { LeaderGate } from "./runtime/leader-gate.js";

export interface ClusterInfoSources {
  config: MixerConfig;
  version: string;
  clusterKey: ClusterKey;
  mixerRow: NodeRecord;
  db: Db;
  directory: RackDirectory;
  counters: Counters;
  writer: RegistryWrites;
  hellos: HelloSubscription;
  verifier: SignatureVerifier;
  /** Whether this Mixer leads the work done once. */
  leader: LeaderGate;
}

/** Reads the cluster facts now. Counts come from the directory: the registry as committed (the bench polls this). */
export async function clusterInfo(s: ClusterInfoSources): Promise<ClusterInfo> {
  const counts = s.directory.counts();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const replies = s.hellos.replyStats();
  return {
    cluster: s.config.mixer.name,
    public_key: s.clusterKey.publicKeyB64,
    key_id: s.clusterKey.kid,
    mixer: {
      entity_id: s.mixerRow.entityId.toString(),
      entity_id_hex: formatEntityIdHex(s.mixerRow.entityId),
      machine_id: s.mixerRow.machineId,
      name: s.config.mixer.name,
      version: s.version,
    },
    counts: { ...counts, total },
    heartbeat_interval_ms: s.config.presence.heartbeat_interval,
    leading: s.leader.leading,
    counters: {
      ...s.counters.snapshot(),
      "registry.write_batches": s.writer.stats.batches,
      "registry.writes": s.writer.stats.writes,
      "registry.largest_batch": s.writer.stats.largestBatch,
      "registry.retried_batches": s.writer.stats.retriedBatches,
      "registry.deferred_writes": s.writer.stats.deferredWrites,
      "hello.replies_sent": replies.sent,
      "hello.signatures_offloaded": s.verifier.stats.offloaded,
      "hello.signatures_inline": s.verifier.stats.inline,
      "hello.reply_flushes": replies.flushes,
    },
    memory: await memoryReport(s.db),
  };
}
