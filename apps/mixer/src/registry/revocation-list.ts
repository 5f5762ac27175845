// The Rack keys revoked on the bus (SPEC §11) in memory: loaded once at start, then changed only by the writer after a
// commit, like the RackDirectory. The table `bus_revocations` is the truth; this is what the bus credentials read.
import { asc } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import { busRevocations } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";

/** One revoked key: nats-server refuses its user JWTs issued at or before `revokedAt` (to the second). */
export interface RevocationRecord {
  /** The Rack's Ed25519 public key, base64url as the registry keeps it (`rack_lifecycle.public_key`). */
  publicKey: string;
  revokedAt: Date;
  /** The Rack's name when its key was revoked. */
  name: string;
  /** Why: `rejected`, `revoked`, `removed`, or `replaced`, with the audit event that says who. */
  cause: string;
}

/** Whole seconds since the epoch, as NATS JWTs count time (`iat`, `exp`, revocations). */
export function unixSeconds(at: Date): number {
  return Math.floor(at.getTime() / 1000);
}

/** Reads of the revocation list, for the list and for a batch's stage layered over it. */
export interface RevocationLookup {
  revocation(publicKey: string): RevocationRecord | undefined;
  revocationRecords(): Iterable<RevocationRecord>;
}

export class RevocationList implements RevocationLookup {
  readonly #byKey = new Map<string, RevocationRecord>();
  /** The same list as the fleet account JWT wants it: key to unix seconds, kept in step by put and remove. */
  readonly #seconds = new Map<string, number>();

  static async load(db: Db): Promise<RevocationList> {
    const list = new RevocationList();
    const rows = await ormQuery(db.orm.select().from(busRevocations).orderBy(asc(busRevocations.publicKey)));
    for (const row of rows) list.put(row);
    return list;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Every revoked key (base64url) with its revocation second. The same map each call, changed in place by the
   * writer: read it when the fleet account JWT is built, never keep a copy.
   */
  entries(): ReadonlyMap<string, number> {
    return this.#seconds;
  }

  /** The second from which (inclusive, backwards) `publicKey`'s JWTs are void, or undefined when it is not revoked. */
  revokedSecond(publicKey: string): number | undefined {
    return this.#seconds.get(publicKey);
  }

  revocation(publicKey: string): RevocationRecord | undefined {
    return this.#byKey.get(publicKey);
  }

  revocationRecords(): IterableIterator<RevocationRecord> {
    return this.#byKey.values();
  }

  /** Adds or replaces a revocation (only after the write that made it has committed). */
  put(record: RevocationRecord): void {
    this.#byKey.set(record.publicKey, record);
    this.#seconds.set(record.publicKey, unixSeconds(record.revokedAt));
  }

  /** Forgets a pruned revocation (only after the prune has committed). */
  remove(publicKey: string): void {
    this.#byKey.delete(publicKey);
    this.#seconds.delete(publicKey);
  }
}
