// Named API tokens (issue 16) in memory: loaded once at start, then changed only by the writer after a commit, like
// the RackDirectory. The table `api_tokens` is the truth; this is what the API's bearer check reads, so checking a
// request costs no query.
import { createHash, randomBytes } from "node:crypto";
import { API_TOKEN_ROLES, type ApiTokenRole } from "@fluxrig/wire";
import { asc } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import { apiTokens } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";

/** The prefix of every named token's secret, so secret scanners can find a leaked one. */
export const API_TOKEN_PREFIX = "frt_";

export interface ApiTokenRecord {
  name: string;
  role: ApiTokenRole;
  /** SHA-256 of the secret, lower-case hex. */
  secretSha256: string;
  createdAt: Date;
  createdBy: string;
}

/** Who a presented secret belongs to. */
export interface ApiTokenHolder {
  name: string;
  role: ApiTokenRole;
}

/** A fresh secret: the prefix and 32 random bytes (256 bits) in base64url. */
export function newApiTokenSecret(): string {
  return `${API_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/** The SHA-256 of a secret: what is stored and compared. A high-entropy secret needs no slow hash. */
export function apiTokenDigest(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/** Whether `role` may do what `needed` may. */
export function roleAtLeast(role: ApiTokenRole, needed: ApiTokenRole): boolean {
  return API_TOKEN_ROLES.indexOf(role) >= API_TOKEN_ROLES.indexOf(needed);
}

/** Reads of the token list, for the list and for a batch's stage layered over it. */
export interface ApiTokenLookup {
  apiToken(name: string): ApiTokenRecord | undefined;
  apiTokenRecords(): Iterable<ApiTokenRecord>;
}

export class ApiTokenList implements ApiTokenLookup {
  readonly #byName = new Map<string, ApiTokenRecord>();
  /** By the secret's SHA-256 (hex): what a request's check looks up. */
  readonly #byDigest = new Map<string, ApiTokenRecord>();

  static async load(db: Db): Promise<ApiTokenList> {
    const list = new ApiTokenList();
    const rows = await ormQuery(db.orm.select().from(apiTokens).orderBy(asc(apiTokens.name)));
    for (const row of rows) list.put({ ...row, role: row.role as ApiTokenRole });
    return list;
  }

  get size(): number {
    return this.#byName.size;
  }

  apiToken(name: string): ApiTokenRecord | undefined {
    return this.#byName.get(name);
  }

  /** Every live token, by name. */
  *apiTokenRecords(): Generator<ApiTokenRecord> {
    for (const name of [...this.#byName.keys()].sort()) yield this.#byName.get(name)!;
  }

  /**
   * The holder of `secret`, or undefined: one SHA-256 and one map lookup, whatever the number of tokens. Looking up
   * by the digest leaks nothing useful through timing: it tells at most how a SHA-256 output compares with the
   * stored ones, and a 256-bit random secret cannot be steered towards one (the usual way of storing API tokens).
   */
  authenticate(secret: string): ApiTokenHolder | undefined {
    const found = this.#byDigest.get(apiTokenDigest(secret).toString("hex"));
    return found && { name: found.name, role: found.role };
  }

  /** Adds or replaces a token (only after the write that made it has committed). */
  put(record: ApiTokenRecord): void {
    this.remove(record.name);
    this.#byName.set(record.name, record);
    this.#byDigest.set(record.secretSha256.toLowerCase(), record);
  }

  /** Forgets a revoked token (only after the revocation has committed): it stops working at once. */
  remove(name: string): void {
    const held = this.#byName.get(name);
    if (held === undefined) return;
    this.#byName.delete(name);
    if (this.#byDigest.get(held.secretSha256.toLowerCase()) === held)
      this.#byDigest.delete(held.secretSha256.toLowerCase());
  }
}
