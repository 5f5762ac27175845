// Cluster mode's index rebuild: a Mixer's registry file is emptied at start and filled again from KV by the mirror
// (cluster-registry.ts), so it can never hold a record the cluster does not.
import type { Db } from "../db/duckdb-database.js";
import { asNumber } from "../db/duckdb-values.js";

/** Every table the registry writes, children before the rows they name. */
const INDEX_TABLES = [
  "rack_lifecycle",
  "name_conflicts",
  "audit_events",
  "scenario_activations",
  "scenarios",
  "bus_revocations",
  "api_tokens",
  "enrollment_tokens",
  "expected_keys",
  "machine_id_tombstones",
  "registry",
] as const;

/** Racks in the registry file: a file with some that the cluster has never seen must be imported, not emptied. */
export async function rackRowCount(db: Db): Promise<number> {
  const result = await db.query("SELECT count(*) FROM rack_lifecycle");
  return asNumber(result.rows[0]?.[0] ?? 0);
}

/** Empties the registry file in one transaction (the schema and its version stay). */
export async function emptyRegistryIndex(db: Db): Promise<void> {
  await db.transaction(async () => {
    for (const table of INDEX_TABLES) await db.run(`DELETE FROM ${table}`);
  });
}
