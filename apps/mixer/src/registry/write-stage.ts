// A write batch's view of the registry while it is planned: reads fall through to what is committed, writes stay here.
//
// Each operation of a batch is planned on a fork of the batch's stage and merged only when it succeeds, so an
// operation refused halfway (a taken name, an illegal transition, a full range) leaves nothing behind.

import type { AuditEventInput } from "./audit-log.js";
import type { MachineIdState, MachineIdView } from "./machine-id-pool.js";
import type { RackView } from "./rack-directory.js";
import { RegistryFullError } from "./registry-errors.js";
import type { MachineIdRange, RackRecord } from "./registry-records.js";

/** What a stage reads through: the committed directory and MachineID pool, or a parent stage. */
export interface StageBase extends RackView, MachineIdView {}

export interface TombstoneRow {
  machineId: number;
  entityId: bigint;
  name: string;
  retiredAt: Date;
  reusableAfter: Date;
}

/** Name-conflict writes, kept in order: a clear followed by a new attempt must leave the attempt. */
export type ConflictWrite =
  | { kind: "clear"; name: string }
  | {
      kind: "record";
      name: string;
      claimedPublicKey: string;
      holderEntityId: bigint | null;
      source: string | null;
      now: Date;
    };

export class WriteStage implements StageBase {
  readonly #parent: StageBase;
  /** Final state of every Rack this stage wrote: the record, or null once deleted. */
  readonly racks = new Map<bigint, RackRecord | null>();
  /** Entities deleted in this stage (a later insert of the same id is a new row, not an update). */
  readonly deleted = new Set<bigint>();
  /** Racks whose current record is written as it is (hello facts), without a change of their own. */
  readonly touched = new Set<bigint>();
  readonly tombstones = new Map<number, TombstoneRow | null>();
  readonly conflicts: ConflictWrite[] = [];
  readonly audits: AuditEventInput[] = [];
  readonly #names = new Map<string, bigint | null>();
  readonly #keys = new Map<string, bigint | null>();
  readonly #ids = new Map<number, MachineIdState>();
  /** Per range start: every id in [start, cursor) is taken (by the base or by this stage). */
  #cursors: Map<number, number>;
  /** The lowest id this stage made available again (a delete, a cleared tombstone); scans never skip it. */
  #lowestFreed = Number.POSITIVE_INFINITY;

  constructor(parent: StageBase) {
    this.#parent = parent;
    this.#cursors = parent instanceof WriteStage ? new Map(parent.#cursors) : new Map();
    if (parent instanceof WriteStage) this.#lowestFreed = parent.#lowestFreed;
  }

  get empty(): boolean {
    return (
      this.racks.size === 0 &&
      this.touched.size === 0 &&
      this.tombstones.size === 0 &&
      this.conflicts.length === 0 &&
      this.audits.length === 0
    );
  }

  /** A child stage for one operation; `merge()` it when the operation succeeds, drop it otherwise. */
  fork(): WriteStage {
    return new WriteStage(this);
  }

  /** Moves everything this (child) stage wrote into its parent. */
  merge(): void {
    const parent = this.#parent;
    if (!(parent instanceof WriteStage)) throw new TypeError("only a forked stage can be merged");
    for (const [id, rack] of this.racks) parent.racks.set(id, rack);
    for (const id of this.deleted) parent.deleted.add(id);
    for (const id of this.touched) parent.touched.add(id);
    for (const [id, row] of this.tombstones) parent.tombstones.set(id, row);
    parent.conflicts.push(...this.conflicts);
    parent.audits.push(...this.audits);
    for (const [name, id] of this.#names) parent.#names.set(name, id);
    for (const [key, id] of this.#keys) parent.#keys.set(key, id);
    for (const [id, state] of this.#ids) parent.#ids.set(id, state);
    parent.#cursors = this.#cursors;
    parent.#lowestFreed = this.#lowestFreed;
  }

  /**
   * Whether this (forked) stage puts a Rack row on a key its parent stage let go of: an entity id or MachineID the
   * parent deleted or retired, or a name or public key the parent released. Committed in one transaction, that is a
   * key deleted and inserted again, which DuckDB cannot undo: when such a commit fails (a full or read-only disk) it
   * aborts the whole process while reverting. The writer moves such a write to the next batch instead.
   */
  reusesKeyFreedByParent(): boolean {
    const parent = this.#parent;
    if (!(parent instanceof WriteStage)) return false;
    for (const [entityId, rack] of this.racks) {
      if (rack === null) continue;
      if (parent.deleted.has(entityId)) return true;
      if (parent.#names.get(rack.name) === null) return true;
      if (parent.#keys.get(rack.lifecycle.publicKey) === null) return true;
      const id = parent.#ids.get(rack.machineId);
      if (id !== undefined && !(id.kind === "live" && id.entityId === entityId)) return true;
    }
    return false;
  }

  // Reads

  rack(entityId: bigint): RackRecord | undefined {
    if (this.racks.has(entityId)) return this.racks.get(entityId) ?? undefined;
    return this.#parent.rack(entityId);
  }

  rackByPublicKey(publicKey: string): RackRecord | undefined {
    if (!this.#keys.has(publicKey)) return this.#parent.rackByPublicKey(publicKey);
    const id = this.#keys.get(publicKey);
    return id === null || id === undefined ? undefined : this.rack(id);
  }

  nameHolder(name: string): bigint | undefined {
    if (!this.#names.has(name)) return this.#parent.nameHolder(name);
    return this.#names.get(name) ?? undefined;
  }

  machineIdState(machineId: number, nowMs: number): MachineIdState {
    const own = this.#ids.get(machineId);
    if (own === undefined) return this.#parent.machineIdState(machineId, nowMs);
    if (own.kind === "tombstoned" && own.reusableAfterMs <= nowMs) return { kind: "free" };
    return own;
  }

  machineIdScanStart(min: number): number {
    const start = this.#cursors.get(min) ?? this.#parent.machineIdScanStart(min);
    return this.#lowestFreed >= min ? Math.min(start, this.#lowestFreed) : start;
  }

  // Writes

  /** Inserts or replaces a Rack record. */
  putRack(rack: RackRecord): void {
    const previous = this.rack(rack.entityId);
    if (previous && previous.name !== rack.name) this.#names.set(previous.name, null);
    if (previous && previous.lifecycle.publicKey !== rack.lifecycle.publicKey) {
      this.#keys.set(previous.lifecycle.publicKey, null);
    }
    this.racks.set(rack.entityId, rack);
    this.#names.set(rack.name, rack.entityId);
    this.#keys.set(rack.lifecycle.publicKey, rack.entityId);
  }

  deleteRack(rack: RackRecord): void {
    this.racks.set(rack.entityId, null);
    this.deleted.add(rack.entityId);
    this.#names.set(rack.name, null);
    this.#keys.set(rack.lifecycle.publicKey, null);
  }

  touch(entityId: bigint): void {
    this.touched.add(entityId);
  }

  appendAudit(event: AuditEventInput): void {
    this.audits.push(event);
  }

  /** The lowest id in the range free at `now`, reserved for `entityId`; {@link RegistryFullError} when none is. */
  allocateMachineId(range: MachineIdRange, now: Date): number {
    const nowMs = now.getTime();
    for (let id = this.machineIdScanStart(range.min); id <= range.max; id++) {
      if (this.machineIdState(id, nowMs).kind !== "free") continue;
      this.#cursors.set(range.min, id + 1);
      return id;
    }
    throw new RegistryFullError(range.min, range.max);
  }

  markMachineIdLive(machineId: number, entityId: bigint): void {
    this.#ids.set(machineId, { kind: "live", entityId });
  }

  /** The row holding `machineId` is deleted; its tombstone holds it until `reusableAfter`. */
  retireMachineId(row: TombstoneRow): void {
    this.tombstones.set(row.machineId, row);
    this.#ids.set(row.machineId, { kind: "tombstoned", reusableAfterMs: row.reusableAfter.getTime() });
    this.#freed(row.machineId);
  }

  /** Drops a tombstone, handing its id on at once (an operator's replace keeping the MachineID). */
  deleteTombstone(machineId: number): void {
    this.tombstones.set(machineId, null);
    this.#ids.set(machineId, { kind: "free" });
    this.#freed(machineId);
  }

  recordConflict(write: ConflictWrite): void {
    this.conflicts.push(write);
  }

  #freed(machineId: number): void {
    this.#lowestFreed = Math.min(this.#lowestFreed, machineId);
    for (const [min, cursor] of this.#cursors) if (machineId < cursor) this.#cursors.delete(min);
  }
}
