// Presence writes on a registry of 10,000 Racks: the Mixer's batched flush (writePresenceRows) against its alternatives.
// Run: pnpm exec vitest bench --run apps/mixer/src/registry/presence-flush.bench.ts
import { listValue, timestampValue } from "@duckdb/node-api";
import { tempDuckDbPath } from "@fluxrig/testkit";
import { afterAll, bench, describe } from "vitest";
import { openDatabase } from "../db/duckdb-database.js";
import { toTimestamp } from "../db/duckdb-values.js";
import { migrate } from "../db/migrate.js";
import { writePresenceRows } from "./presence-writes.js";

const RACKS = 10_000;
const SINGLE_ROWS = 1_000;
const file = tempDuckDbPath("bench.duckdb");
const db = await openDatabase({ path: file.path });
await migrate(db);

// Bulk-load the Racks in SQL: enrolling 10,000 through the writer would only measure the setup.
await db.run(
  `INSERT INTO registry (entity_id, type_id, machine_id, name, status, version, attributes, stats, last_seen)
   SELECT (3::UBIGINT << 56) | (i::UBIGINT << 40), 3, i, 'rack-' || i, 'active', '1.0.0', '{"os":"linux"}', NULL, NULL
   FROM range(1, ${RACKS + 1}) AS r(i)`,
);
await db.run(
  `INSERT INTO rack_lifecycle (entity_id, public_key, first_seen, status_changed_at)
   SELECT (3::UBIGINT << 56) | (i::UBIGINT << 40), 'key-' || i, TIMESTAMP '2030-01-01', TIMESTAMP '2030-01-01'
   FROM range(1, ${RACKS + 1}) AS r(i)`,
);
await db.checkpoint();

let tick = Date.parse("2030-01-01T00:00:00Z");
function batch(count: number) {
  tick += 1_000;
  return Array.from({ length: count }, (_, i) => ({
    entityId: (3n << 56n) | (BigInt(i + 1) << 40n),
    lastSeen: new Date(tick + i),
    stats: { cpu: (i % 100) / 100, mem_mb: 100 + (i % 50), loop_lag_ms: 1.5, handles: 12, gears: 3 },
  }));
}

afterAll(async () => {
  await db.close();
  await file.remove();
});

const slow = { iterations: 5, time: 0, warmupIterations: 1, warmupTime: 0 };

describe(`presence flush of ${RACKS} Racks`, () => {
  bench(
    "writePresenceRows: appender into a temp table + one UPDATE ... FROM (the Mixer's flush)",
    async () => {
      // As the presence tracker does it: each row made while the write holds the connection, stats as JSON text.
      tick += 1_000;
      const changed = await writePresenceRows(db, (row) => {
        for (let i = 0; i < RACKS; i++) {
          const stats = {
            cpu: (i % 100) / 100,
            mem_mb: 100 + (i % 50),
            loop_lag_ms: 1.5,
            handles: 12,
            gears: 3,
          };
          row((3n << 56n) | (BigInt(i + 1) << 40n), tick + i, JSON.stringify(stats));
        }
        return false;
      });
      if (changed !== RACKS) throw new Error(`changed ${changed}`);
    },
    { iterations: 20, time: 0, warmupIterations: 2, warmupTime: 0 },
  );

  bench(
    "alternative: one UPDATE ... FROM unnest() of three list parameters",
    async () => {
      const rows = batch(RACKS);
      await db.transaction(async () => {
        await db.run(
          `UPDATE registry SET last_seen = v.ls, stats = v.st::JSON
           FROM (SELECT unnest($1::UBIGINT[]) AS id, unnest($2::TIMESTAMP[]) AS ls, unnest($3::VARCHAR[]) AS st) AS v
           WHERE registry.entity_id = v.id`,
          [
            listValue(rows.map((row) => row.entityId)),
            listValue(rows.map((row) => toTimestamp(row.lastSeen))),
            listValue(rows.map((row) => JSON.stringify(row.stats))),
          ],
        );
      });
    },
    slow,
  );

  bench(
    "alternative: UPDATE ... FROM (VALUES ...) with 30,000 bound parameters (chunks of 2,000 rows)",
    async () => {
      const rows = batch(RACKS);
      await db.transaction(async () => {
        for (let start = 0; start < rows.length; start += 2_000) {
          const chunk = rows.slice(start, start + 2_000);
          const tuples = chunk.map(
            (_, i) => `($${3 * i + 1}::UBIGINT, $${3 * i + 2}::TIMESTAMP, $${3 * i + 3})`,
          );
          await db.run(
            `UPDATE registry SET last_seen = v.ls, stats = v.st::JSON FROM (VALUES ${tuples.join(",")}) AS v(id, ls, st)
             WHERE registry.entity_id = v.id`,
            chunk.flatMap((row) => [row.entityId, toTimestamp(row.lastSeen), JSON.stringify(row.stats)]),
          );
        }
      });
    },
    slow,
  );

  bench(
    `baseline: ${SINGLE_ROWS} single-row UPDATEs in one transaction (x${RACKS / SINGLE_ROWS} for ${RACKS} rows)`,
    async () => {
      const rows = batch(SINGLE_ROWS);
      await db.transaction(async () => {
        for (const row of rows) {
          await db.run("UPDATE registry SET last_seen = $2, stats = $3 WHERE entity_id = $1", [
            row.entityId,
            timestampValue(BigInt(row.lastSeen.getTime()) * 1000n),
            JSON.stringify(row.stats),
          ]);
        }
      });
    },
    slow,
  );
});
