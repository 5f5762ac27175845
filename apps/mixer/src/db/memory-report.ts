// Where the Mixer's memory is: the process as the kernel sees it, V8's heap, and DuckDB's own accounting.

import type { MemoryView } from "@fluxrig/wire";
import type { Db } from "./duckdb-database.js";

const DB_MEMORY = `SELECT tag, memory_usage_bytes FROM duckdb_memory() WHERE memory_usage_bytes > 0 ORDER BY tag`;

/**
 * A snapshot for `GET /api/v1/cluster`. RSS includes what neither V8 nor DuckDB counts: code (Node and DuckDB's
 * library are about 75 MB of it), the allocators' free lists, and buffers.
 */
export async function memoryReport(db: Db): Promise<MemoryView> {
  const result = await db.query(DB_MEMORY);
  const byTag: Record<string, number> = {};
  let total = 0;
  for (const [tag, bytes] of result.rows) {
    const n = Number(bytes);
    byTag[String(tag)] = n;
    total += n;
  }
  const m = process.memoryUsage();
  return {
    rss_bytes: m.rss,
    heap_used_bytes: m.heapUsed,
    heap_total_bytes: m.heapTotal,
    external_bytes: m.external,
    db_bytes: total,
    db_by_tag: byTag,
  };
}
