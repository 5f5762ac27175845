// MachineID allocation: the lowest id in range that no live row holds and no unexpired tombstone holds back.
//
// One anti-join query per allocation rather than an in-memory free list: it is always right (a rolled-back
// insert cannot leave a stale cache behind), it sees the Mixer and Snake rows like any other, and it costs a mean of
// 5-9 ms at 10,000 rows on 2 cores (see presence-flush.bench.ts).
import type { Db } from "../db/duckdb-database.js";
import { asBigInt, fromTimestamp, toTimestamp } from "../db/duckdb-values.js";
import { InvalidInputError, MachineIdInUseError, RegistryFullError } from "./registry-errors.js";
import type { MachineIdRange } from "./registry-records.js";

export interface AllocateMachineIdOptions extends MachineIdRange {
  /** Tombstones with `reusable_after > now` still hold their id. */
  now: Date;
}

// Only the range start and the successors of used ids can be the lowest free id, so those are the only candidates
// (at most one per used id) instead of every id in the range.
const LOWEST_FREE = `
WITH used AS (
  SELECT machine_id::INTEGER AS id FROM registry WHERE machine_id IS NOT NULL
  UNION
  SELECT machine_id::INTEGER FROM machine_id_tombstones WHERE reusable_after > $3
)
SELECT min(candidate) FROM (
  SELECT $1::INTEGER AS candidate
  UNION ALL
  SELECT id + 1 FROM used WHERE id BETWEEN $1::INTEGER - 1 AND $2::INTEGER - 1
) AS candidates
WHERE candidate NOT IN (SELECT id FROM used)`;

/**
 * The lowest free MachineID in `[min, max]`. Call it inside the transaction that inserts the row, so nothing can
 * take the id in between. Throws {@link RegistryFullError} when every id is taken; it writes nothing itself.
 *
 * @example
 * const machineId = await allocateMachineId(db, { min: 1, max: 65535, now: new Date() });
 */
export async function allocateMachineId(db: Db, options: AllocateMachineIdOptions): Promise<number> {
  checkRange(options);
  const result = await db.query(LOWEST_FREE, [options.min, options.max, toTimestamp(options.now)]);
  const found = result.rows[0]?.[0] ?? null;
  if (found === null) throw new RegistryFullError(options.min, options.max);
  return Number(found);
}

/** Who holds `machineId` at `now`: a live row, a tombstone (until when), or nobody. */
export type MachineIdHolder =
  | { kind: "live"; entityId: bigint }
  | { kind: "tombstoned"; reusableAfter: Date }
  | { kind: "free" };

export async function machineIdHolder(db: Db, machineId: number, now: Date): Promise<MachineIdHolder> {
  const live = await db.query("SELECT entity_id FROM registry WHERE machine_id = $1 LIMIT 1", [machineId]);
  const liveId = live.rows[0]?.[0];
  if (liveId !== undefined && liveId !== null) return { kind: "live", entityId: asBigInt(liveId) };
  const tomb = await db.query(
    "SELECT reusable_after FROM machine_id_tombstones WHERE machine_id = $1 AND reusable_after > $2",
    [machineId, toTimestamp(now)],
  );
  const until = tomb.rows[0]?.[0];
  if (until !== undefined && until !== null)
    return { kind: "tombstoned", reusableAfter: fromTimestamp(until) };
  return { kind: "free" };
}

/** Throws {@link MachineIdInUseError} unless `machineId` is free at `now` (for ids chosen by config, not allocated). */
export async function assertMachineIdFree(db: Db, machineId: number, now: Date): Promise<void> {
  checkRange({ min: machineId, max: machineId });
  const holder = await machineIdHolder(db, machineId, now);
  if (holder.kind === "live") throw new MachineIdInUseError(machineId, holder.entityId);
  if (holder.kind === "tombstoned") throw new MachineIdInUseError(machineId, undefined);
}

function checkRange({ min, max }: MachineIdRange): void {
  for (const [field, value] of [
    ["min", min],
    ["max", max],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 0xffff) {
      throw new InvalidInputError(`machineId.${field}`, `must be an integer in 1..65535, got ${value}`);
    }
  }
  if (min > max) throw new InvalidInputError("machineId", `range ${min}..${max} is empty`);
}
