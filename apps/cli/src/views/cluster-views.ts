// How the cluster looks: identity, keys, counts by status, the Mixer's memory and its counters.
import type { ClusterInfo, RackStatus } from "../api-types.js";
import { renderFields } from "../columns.js";
import { formatDuration } from "../durations.js";
import type { Colors } from "../output.js";
import { formatBytes } from "./rack-stats.js";
import { styleStatus } from "./status-style.js";

const STATUS_ORDER: readonly RackStatus[] = ["active", "pending", "offline", "rejected", "revoked"];

/** `cluster info`. `apiUrl` is where this answer came from, which is worth seeing when several Mixers exist. */
export function clusterText(info: ClusterInfo, c: Colors, opts: { apiUrl: string }): string {
  const counts = STATUS_ORDER.map((s) => `${info.counts[s] ?? 0} ${styleStatus(s, c)}`).join(", ");
  const counters = Object.entries(info.counters)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`);
  return renderFields(
    [
      ["cluster", c.bold(info.cluster)],
      ["mixer", `${info.mixer.name} ${info.mixer.version}`],
      [
        "entity id",
        `${info.mixer.entity_id} (${info.mixer.entity_id_hex}), MachineID ${info.mixer.machine_id}`,
      ],
      ["api", opts.apiUrl],
      ["key id", info.key_id],
      ["public key", info.public_key],
      ["heartbeat", `every ${formatDuration(info.heartbeat_interval_ms)}`],
      ["racks", `${info.counts.total} total: ${counts}`],
      ...(info.memory ? [["memory", memoryText(info.memory)] as [string, string]] : []),
      ["counters", counters.length > 0 ? counters.join("\n") : "none"],
    ],
    c.dim,
  );
}

/** `RSS 262.0 MiB: V8 heap 54.0 MiB used of 93.0 MiB, DuckDB 21.0 MiB, buffers 5.0 MiB`. */
function memoryText(m: NonNullable<ClusterInfo["memory"]>): string {
  return (
    `RSS ${formatBytes(m.rss_bytes)}: V8 heap ${formatBytes(m.heap_used_bytes)} used of ` +
    `${formatBytes(m.heap_total_bytes)}, DuckDB ${formatBytes(m.db_bytes)}, buffers ${formatBytes(m.external_bytes)}`
  );
}
