// The presence hot path: last_seen and stats of many Racks in one UPDATE, fed by DuckDB's appender.
//
// Measured on 10,000 rows (presence-flush.bench.ts, 2 cores): appending into a connection-local temp table and
// joining it in one UPDATE ... FROM takes 42-104 ms; three list parameters with unnest 56-240 ms; 30,000 parameters
// bound into UPDATE ... FROM (VALUES ...) 320-520 ms; single-row updates about 14 s.
import { setImmediate as setImmediatePromise } from "node:timers/promises";
import { EntityType } from "@fluxrig/entity-id";
import { QueryFailedError } from "../db/database-errors.js";
import type { Db } from "../db/duckdb-database.js";

// Temp tables live in the `temp` catalog of this one connection: invisible to the file, gone on close. Each flush
// replaces the table rather than deleting its rows: DuckDB keeps deleted rows' storage, and a DELETE per flush grew
// the Mixer by about 2.7 MB per 10,000-row flush, without bound (seen in duckdb_memory() as IN_MEMORY_TABLE).
// last_seen travels as milliseconds (a DOUBLE holds every whole ms exactly) and becomes a TIMESTAMP in SQL: the
// appender then takes a plain number, with no timestamp object built per row.
const CREATE_BATCH = `CREATE OR REPLACE TEMP TABLE presence_batch (
  entity_id UBIGINT,
  last_seen_ms DOUBLE,
  stats VARCHAR
)`;
const APPLY_BATCH = `UPDATE registry
SET last_seen = epoch_ms(b.last_seen_ms::BIGINT), stats = coalesce(b.stats::JSON, registry.stats)
FROM temp.main.presence_batch AS b
WHERE registry.entity_id = b.entity_id AND registry.type_id = ${EntityType.Rack}`;
// A batch whose rows all keep their stats (nine flushes in ten with `stats_flush_interval`) sets last_seen alone:
// APPLY_BATCH would read every Rack's stored stats and set them again through the coalesce. 10,000 rows with 560-byte
// stats, alternated three times on the 2-core machine (load 6 to 7): 2.07 against 1.57 us of CPU per row, 38 against
// 26 ms of wall time per flush. (The WAL is the same either way: 25 bytes per row.)
const APPLY_LAST_SEEN = `UPDATE registry
SET last_seen = epoch_ms(b.last_seen_ms::BIGINT)
FROM temp.main.presence_batch AS b
WHERE registry.entity_id = b.entity_id AND registry.type_id = ${EntityType.Rack}`;

/** Takes one row of a presence batch: an entity id, last_seen in ms since the epoch, and stats as JSON text. */
export type PresenceRowSink = (entityId: bigint, lastSeenMs: number, statsJson: string | null) => void;

/**
 * Produces a presence batch by calling `row` for at most `max` Racks per call, synchronously, while the write holds
 * the connection; answers true when it has more, and is then called again once the event loop has had a turn. Each
 * entity id at most once over all calls.
 */
export type PresenceRowSource = (row: PresenceRowSink, max: number) => boolean;

/**
 * Rows a flush appends before it lets the event loop run. Making 10,000 rows (stats to JSON, four appender calls
 * each) held the loop for 30 to 60 ms on the 2-core machine, and every API request and heartbeat that arrived
 * meanwhile waited behind it once a second.
 */
export const PRESENCE_ROWS_PER_TURN = 1_000;

/**
 * Writes the latest `last_seen` and `stats` of many Racks in one UPDATE, with rows drawn from `source` only once the
 * connection is held. Rows for unknown entity ids (or for the Mixer's own rows) change nothing; `stats: null` keeps
 * the stored stats; status is never touched (status changes go through the writer). Returns rows changed. This is
 * the Mixer's hot path: the rows are made and handed to DuckDB's appender one at a time, so none of them lives
 * across an await (a batch of 10,000 row objects built up front survived V8's young-generation collections and was
 * promoted, about 12 MB a flush), and {@link PRESENCE_ROWS_PER_TURN} at a time, with a turn of the event loop
 * between, so the API and the heartbeats do not wait behind a whole batch. `source` must give each entity id at
 * most once and only finite `lastSeenMs`.
 */
export async function writePresenceRows(db: Db, source: PresenceRowSource): Promise<number> {
  return db.transaction(() =>
    db.withConnection(async (connection) => {
      let step = CREATE_BATCH;
      try {
        await connection.run(CREATE_BATCH);
        step = "append to presence_batch";
        const appender = await connection.createAppender("presence_batch", null, "temp");
        let given = 0;
        let withStats = 0;
        try {
          const row: PresenceRowSink = (entityId, lastSeenMs, statsJson) => {
            appender.appendUBigInt(entityId);
            appender.appendDouble(lastSeenMs);
            if (statsJson === null) appender.appendNull();
            else {
              appender.appendVarchar(statsJson);
              withStats++;
            }
            appender.endRow();
            given++;
          };
          while (source(row, PRESENCE_ROWS_PER_TURN)) await setImmediatePromise();
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
        if (given === 0) return 0;
        step = withStats > 0 ? APPLY_BATCH : APPLY_LAST_SEEN;
        const result = await connection.run(step);
        return result.rowsChanged;
      } catch (error) {
        throw new QueryFailedError(step, { cause: error });
      }
    }),
  );
}
