// Every Rack record in memory, indexed by entity id, name and public key: the hello path's only source of lookups.
//
// The Mixer is the only writer of its registry file, so the directory is loaded once at start and then changed
// only by the writer after a batch commits (registry-writer.ts), plus the hello facts (count, source, version,
// last seen) that known Racks' hellos update here and the writer flushes in batches.
import type { Db } from "../db/duckdb-database.js";
import { listNodeRows } from "./node-rows.js";
import { loadAllRacks } from "./rack-queries.js";
import type { RackRecord } from "./registry-records.js";

/** Reads of Rack records, for the directory and for a batch's stage layered over it. */
export interface RackView {
  rack(entityId: bigint): RackRecord | undefined;
  rackByPublicKey(publicKey: string): RackRecord | undefined;
  /** The entity holding `name`: a Rack, or one of the Mixer's own rows (names are unique across all rows). */
  nameHolder(name: string): bigint | undefined;
}

/** What a known Rack's hello changes without a status change. */
export interface HelloFacts {
  version: string;
  source: string | null;
  now: Date;
}

export class RackDirectory implements RackView {
  readonly #byId = new Map<bigint, RackRecord>();
  readonly #byName = new Map<string, bigint>();
  readonly #byKey = new Map<string, bigint>();
  /** Names of the Mixer's and Snake Tunnel's rows: taken, but not Racks. */
  readonly #nodeNames = new Map<string, bigint>();
  /** Racks whose hello facts changed since the last flush. */
  #dirty = new Set<bigint>();

  /** Loads every Rack (registry joined with rack_lifecycle) and the names of the node rows. */
  static async load(db: Db): Promise<RackDirectory> {
    const directory = new RackDirectory();
    for (const node of await listNodeRows(db)) directory.#nodeNames.set(node.name, node.entityId);
    for (const rack of await loadAllRacks(db)) directory.put(rack);
    return directory;
  }

  get size(): number {
    return this.#byId.size;
  }

  rack(entityId: bigint): RackRecord | undefined {
    return this.#byId.get(entityId);
  }

  rackByName(name: string): RackRecord | undefined {
    const id = this.#byName.get(name);
    return id === undefined ? undefined : this.#byId.get(id);
  }

  rackByPublicKey(publicKey: string): RackRecord | undefined {
    const id = this.#byKey.get(publicKey);
    return id === undefined ? undefined : this.#byId.get(id);
  }

  nameHolder(name: string): bigint | undefined {
    return this.#byName.get(name) ?? this.#nodeNames.get(name);
  }

  racks(): IterableIterator<RackRecord> {
    return this.#byId.values();
  }

  /** Adds or replaces a Rack (only after the write that made it has committed). */
  put(rack: RackRecord): void {
    const previous = this.#byId.get(rack.entityId);
    if (previous) this.#unindex(previous);
    this.#byId.set(rack.entityId, rack);
    this.#byName.set(rack.name, rack.entityId);
    this.#byKey.set(rack.lifecycle.publicKey, rack.entityId);
  }

  /** Forgets a Rack (only after its deletion has committed). */
  remove(entityId: bigint): void {
    const previous = this.#byId.get(entityId);
    if (!previous) return;
    this.#unindex(previous);
    this.#byId.delete(entityId);
    this.#dirty.delete(entityId);
  }

  /** A known Rack said hello: counts it and keeps what it reported; written by the next flush, not now. */
  noteHello(entityId: bigint, facts: HelloFacts): RackRecord | undefined {
    const rack = this.#byId.get(entityId);
    if (!rack) return undefined;
    const lastSeen = rack.lastSeen && rack.lastSeen > facts.now ? rack.lastSeen : facts.now;
    const noted: RackRecord = {
      ...rack,
      version: facts.version,
      lastSeen,
      lifecycle: { ...rack.lifecycle, helloCount: rack.lifecycle.helloCount + 1, lastSource: facts.source },
    };
    this.#byId.set(entityId, noted);
    this.#dirty.add(entityId);
    return noted;
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

  #unindex(rack: RackRecord): void {
    if (this.#byName.get(rack.name) === rack.entityId) this.#byName.delete(rack.name);
    if (this.#byKey.get(rack.lifecycle.publicKey) === rack.entityId)
      this.#byKey.delete(rack.lifecycle.publicKey);
  }
}
