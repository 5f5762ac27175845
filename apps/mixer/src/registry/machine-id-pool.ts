// MachineIDs in memory for the Mixer's writer: which ids live rows hold and which tombstones hold back, loaded once.
//
// The Mixer is the only writer of its registry file, so after one load at start the pool changes only when a
// write batch commits (see registry-writer.ts). Allocation inside a batch reserves ids in the batch's stage and
// leaves the pool alone, so a rolled-back batch has nothing to release.
import type { Db } from "../db/duckdb-database.js";
import { asBigInt, asNumber, fromTimestamp } from "../db/duckdb-values.js";

/** Who holds a MachineID at some instant. */
export type MachineIdState =
  | { kind: "live"; entityId: bigint }
  | { kind: "tombstoned"; reusableAfterMs: number }
  | { kind: "free" };

/** Reads of MachineID state, for the pool and for a batch's stage layered over it. */
export interface MachineIdView {
  machineIdState(machineId: number, nowMs: number): MachineIdState;
  /** Where a search for the lowest free id >= `min` may start: every id in [min, result) is known to be taken. */
  machineIdScanStart(min: number): number;
}

const FREE: MachineIdState = { kind: "free" };

export class MachineIdPool implements MachineIdView {
  readonly #live = new Map<number, bigint>();
  readonly #tombstones = new Map<number, number>();
  /** Every id in [1, #liveBelow) is held by a live row: scans for a free id start here. */
  #liveBelow = 1;

  /** Every live row's id (Racks, the Mixer, its Snake Tunnel) and every tombstone, from the file. */
  static async load(db: Db): Promise<MachineIdPool> {
    const pool = new MachineIdPool();
    const live = await db.query("SELECT machine_id, entity_id FROM registry WHERE machine_id IS NOT NULL");
    for (const [id, entityId] of live.rows) pool.markLive(asNumber(id ?? 0), asBigInt(entityId ?? 0n));
    const tombs = await db.query("SELECT machine_id, reusable_after FROM machine_id_tombstones");
    for (const [id, until] of tombs.rows) {
      if (until !== null && until !== undefined)
        pool.setTombstone(asNumber(id ?? 0), fromTimestamp(until).getTime());
    }
    return pool;
  }

  machineIdState(machineId: number, nowMs: number): MachineIdState {
    const entityId = this.#live.get(machineId);
    if (entityId !== undefined) return { kind: "live", entityId };
    const until = this.#tombstones.get(machineId);
    // Same rule as the table: a tombstone holds its id while reusable_after > now.
    if (until !== undefined && until > nowMs) return { kind: "tombstoned", reusableAfterMs: until };
    return FREE;
  }

  machineIdScanStart(min: number): number {
    return Math.max(min, this.#liveBelow);
  }

  get liveCount(): number {
    return this.#live.size;
  }

  markLive(machineId: number, entityId: bigint): void {
    this.#live.set(machineId, entityId);
    while (this.#live.has(this.#liveBelow)) this.#liveBelow++;
  }

  /** The row holding `machineId` is gone (its tombstone, if any, is set separately). */
  release(machineId: number): void {
    this.#live.delete(machineId);
    if (machineId < this.#liveBelow) this.#liveBelow = machineId;
  }

  setTombstone(machineId: number, reusableAfterMs: number): void {
    this.#tombstones.set(machineId, reusableAfterMs);
  }

  clearTombstone(machineId: number): void {
    this.#tombstones.delete(machineId);
  }
}
