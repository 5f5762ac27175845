// Every Rack record in memory, indexed by entity id, name and public key: the hello path's and the API's only source
// of Rack lookups, and of the Rack list (names kept sorted, so a page is a binary search and a short scan).
//
// The Mixer is the only writer of its registry file, so the directory is loaded once at start and then changed
// only by the writer after a batch commits (registry-writer.ts), plus the hello facts (count, source, version)
// that known Racks' hellos update here and the writer flushes in batches. The directory is therefore never behind
// the database, and ahead of it only by hello facts not yet flushed. It owns each Rack's identity and status;
// last seen and live stats belong to presence, which holds each Rack's slot and reads its status from it.
import type { Db } from "../db/duckdb-database.js";
import { type ListRacksQuery, listNodeRows, loadAllRacks } from "./rack-queries.js";
import type { RackStatus } from "./rack-status.js";
import { InvalidInputError } from "./registry-errors.js";
import type { NodeRecord, RackPage, RackRecord } from "./registry-records.js";
import { SortedNames } from "./sorted-names.js";

/** Largest page {@link RackDirectory.page} serves (the same bound as the SQL `listRacks`). */
export const MAX_DIRECTORY_PAGE = 10_000;

/** Reads of Rack records, for the directory and for a batch's stage layered over it. */
export interface RackLookup {
  rack(entityId: bigint): RackRecord | undefined;
  rackByPublicKey(publicKey: string): RackRecord | undefined;
  /** The entity holding `name`: a Rack, or one of the Mixer's own rows (names are unique across all rows). */
  nameHolder(name: string): bigint | undefined;
}

/** What a known Rack's hello changes without a status change (its last seen is presence's). */
export interface HelloFacts {
  version: string;
  source: string | null;
}

/**
 * A Rack's place in the directory: the same object for as long as the Rack is in it, its `record` replaced by each
 * committed change. Presence keeps it to read a Rack's status and identity without a lookup and without a copy.
 */
export interface RackSlot {
  readonly record: RackRecord;
}

/** Told when a Rack enters or leaves the directory (not when it changes: its slot shows that). */
export interface DirectoryFollower {
  added(slot: RackSlot): void;
  removed(slot: RackSlot): void;
}

class Slot implements RackSlot {
  record: RackRecord;
  constructor(record: RackRecord) {
    this.record = record;
  }
}

export class RackDirectory implements RackLookup {
  readonly #byId = new Map<bigint, Slot>();
  readonly #byName = new Map<string, bigint>();
  readonly #byKey = new Map<string, bigint>();
  /** The keys of #byName, in name order. */
  readonly #sorted = new SortedNames();
  /** The Mixer's and Snake Tunnel's rows: their names are taken, but they are not Racks. */
  readonly #nodes = new Map<bigint, NodeRecord>();
  #follower: DirectoryFollower | undefined;
  /** Racks whose hello facts changed since the last flush. */
  #dirty = new Set<bigint>();
  /** Racks by status, kept in step by put and remove. */
  readonly #counts: Record<RackStatus, number> = {
    pending: 0,
    active: 0,
    offline: 0,
    rejected: 0,
    revoked: 0,
  };

  /** Loads every Rack (registry joined with rack_lifecycle) and the node rows. */
  static async load(db: Db): Promise<RackDirectory> {
    const directory = new RackDirectory();
    for (const node of await listNodeRows(db)) directory.putNode(node);
    for (const rack of await loadAllRacks(db)) directory.put(rack);
    return directory;
  }

  get size(): number {
    return this.#byId.size;
  }

  /** How many Racks have each status, as the registry has them (`countRacksByStatus` without a query). */
  counts(): Record<RackStatus, number> {
    return { ...this.#counts };
  }

  /** How many Racks have `status`, without a copy of every count. */
  count(status: RackStatus): number {
    return this.#counts[status];
  }

  rack(entityId: bigint): RackRecord | undefined {
    return this.#byId.get(entityId)?.record;
  }

  rackByName(name: string): RackRecord | undefined {
    const id = this.#byName.get(name);
    return id === undefined ? undefined : this.#byId.get(id)?.record;
  }

  rackByPublicKey(publicKey: string): RackRecord | undefined {
    const id = this.#byKey.get(publicKey);
    return id === undefined ? undefined : this.#byId.get(id)?.record;
  }

  /**
   * Tells `follower` of every Rack in the directory now, and of every Rack added or removed from now on. One
   * follower: presence.
   */
  follow(follower: DirectoryFollower): void {
    if (this.#follower) throw new Error("the directory already has a follower");
    this.#follower = follower;
    for (const slot of this.#byId.values()) follower.added(slot);
  }

  nameHolder(name: string): bigint | undefined {
    const rack = this.#byName.get(name);
    if (rack !== undefined) return rack;
    for (const node of this.#nodes.values()) if (node.name === name) return node.entityId;
    return undefined;
  }

  /** The Mixer's own rows (two at most). */
  nodeRecords(): IterableIterator<NodeRecord> {
    return this.#nodes.values();
  }

  node(entityId: bigint): NodeRecord | undefined {
    return this.#nodes.get(entityId);
  }

  /** Adds or replaces a node row (only after the write that made it has committed). */
  putNode(node: NodeRecord): void {
    this.#nodes.set(node.entityId, node);
  }

  removeNode(entityId: bigint): void {
    this.#nodes.delete(entityId);
  }

  *racks(): Generator<RackRecord> {
    for (const slot of this.#byId.values()) yield slot.record;
  }

  /** Every Rack in name order. */
  *racksByName(): Generator<RackRecord> {
    for (let i = 0; i < this.#sorted.size; i++) {
      const rack = this.rackByName(this.#sorted.at(i)!);
      if (rack) yield rack;
    }
  }

  /**
   * One page of Racks in name order, with the same semantics as the SQL `listRacks`: names after `after`
   * (exclusive), starting with `namePrefix`, of `status`; `nextAfter` is set only when another matching Rack
   * exists. Costs a binary search plus a scan of the Racks skipped by the status filter, never a sort.
   */
  page(query: ListRacksQuery): RackPage {
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_DIRECTORY_PAGE) {
      throw new InvalidInputError(
        "limit",
        `must be an integer in 1..${MAX_DIRECTORY_PAGE}, got ${query.limit}`,
      );
    }
    const prefix = query.namePrefix || undefined;
    const racks: RackRecord[] = [];
    for (let i = this.#sorted.scanStart({ after: query.after, prefix }); i < this.#sorted.size; i++) {
      const name = this.#sorted.at(i)!;
      if (prefix !== undefined && !name.startsWith(prefix)) break;
      const rack = this.rackByName(name);
      if (!rack || (query.status !== undefined && rack.status !== query.status)) continue;
      // A match beyond the page: there is a next page, and it starts after the last name of this one.
      if (racks.length === query.limit) return { racks, nextAfter: racks.at(-1)!.name };
      racks.push(rack);
    }
    return { racks, nextAfter: null };
  }

  /**
   * Adds or replaces a Rack (only after the write that made it has committed), and returns the record as kept: a
   * Rack's hello facts counted here while its batch committed are newer than the batch's, so they are kept.
   */
  put(rack: RackRecord): RackRecord {
    const slot = this.#byId.get(rack.entityId);
    if (!slot) {
      const added = new Slot(rack);
      this.#byId.set(rack.entityId, added);
      this.#index(rack);
      this.#counts[rack.status]++;
      this.#follower?.added(added);
      return rack;
    }
    const previous = slot.record;
    const kept = withHelloFactsOf(previous, rack);
    // Most puts keep the name (a status change): the sorted names are then left as they are.
    this.#unindex(previous, kept);
    this.#counts[previous.status]--;
    this.#counts[kept.status]++;
    slot.record = kept;
    this.#index(kept);
    return kept;
  }

  /** Forgets a Rack (only after its deletion has committed). */
  remove(entityId: bigint): void {
    const slot = this.#byId.get(entityId);
    if (!slot) return;
    this.#unindex(slot.record);
    this.#counts[slot.record.status]--;
    this.#byId.delete(entityId);
    this.#dirty.delete(entityId);
    this.#follower?.removed(slot);
  }

  /** A known Rack said hello: counts it and keeps what it reported; written by the next flush, not now. */
  noteHello(entityId: bigint, facts: HelloFacts): RackRecord | undefined {
    const slot = this.#byId.get(entityId);
    if (!slot) return undefined;
    const rack = slot.record;
    slot.record = {
      ...rack,
      version: facts.version,
      lifecycle: { ...rack.lifecycle, helloCount: rack.lifecycle.helloCount + 1, lastSource: facts.source },
    };
    this.#dirty.add(entityId);
    return slot.record;
  }

  /** The Racks whose hello facts need writing; the caller marks them dirty again if the write fails. */
  takeDirty(): bigint[] {
    const taken = [...this.#dirty];
    this.#dirty = new Set();
    return taken;
  }

  markDirty(entityIds: Iterable<bigint>): void {
    for (const id of entityIds) if (this.#byId.has(id)) this.#dirty.add(id);
  }

  get dirtyCount(): number {
    return this.#dirty.size;
  }

  #index(rack: RackRecord): void {
    if (this.#byName.get(rack.name) !== rack.entityId) {
      if (!this.#byName.has(rack.name)) this.#sorted.add(rack.name);
      this.#byName.set(rack.name, rack.entityId);
    }
    this.#byKey.set(rack.lifecycle.publicKey, rack.entityId);
  }

  /** Drops `rack`'s name and key from the indexes, unless `next` (the same Rack's new record) keeps them. */
  #unindex(rack: RackRecord, next?: RackRecord): void {
    if (next?.name !== rack.name && this.#byName.get(rack.name) === rack.entityId) {
      this.#byName.delete(rack.name);
      this.#sorted.delete(rack.name);
    }
    const key = rack.lifecycle.publicKey;
    if (next?.lifecycle.publicKey !== key && this.#byKey.get(key) === rack.entityId) this.#byKey.delete(key);
  }
}

/** `committed` with the hello facts (version, count, last source) of `current` when both are the same key's. */
function withHelloFactsOf(current: RackRecord, committed: RackRecord): RackRecord {
  if (current.lifecycle.publicKey !== committed.lifecycle.publicKey) return committed;
  const life = current.lifecycle;
  if (
    committed.version === current.version &&
    committed.lifecycle.helloCount === life.helloCount &&
    committed.lifecycle.lastSource === life.lastSource
  ) {
    return committed;
  }
  return {
    ...committed,
    version: current.version,
    lifecycle: { ...committed.lifecycle, helloCount: life.helloCount, lastSource: life.lastSource },
  };
}
