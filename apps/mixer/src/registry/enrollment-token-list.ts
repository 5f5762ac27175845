// Enrollment tokens (issue 16) in memory: loaded once at start, then changed only by the writer after a commit, like
// the ApiTokenList. The table `enrollment_tokens` is the truth; this is what a hello's token is looked up in, so a
// hello carrying one costs no query. Spending a use is a write plan (planSpendEnrollmentToken), so concurrent hellos
// are counted in the writer's stage and a token is never spent past its uses.
import { createHash, randomBytes } from "node:crypto";
import type { ENROLLMENT_TOKEN_STATES } from "@fluxrig/wire";
import { asc } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import { enrollmentTokens } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";
import { nameMatchesPattern } from "./name-pattern.js";

/** The prefix of every enrollment token's secret, so secret scanners can find a leaked one. */
export const ENROLLMENT_TOKEN_PREFIX = "fet_";

export type EnrollmentTokenState = (typeof ENROLLMENT_TOKEN_STATES)[number];

export interface EnrollmentTokenRecord {
  /** 12 hex digits, also written in the secret: what the audit log and the operator call the token. */
  id: string;
  /** The Rack names it admits: `*` any run of characters, `?` one character. */
  pattern: string;
  /** Adoptions it allows in all. */
  uses: number;
  /** Adoptions it made. */
  used: number;
  expiresAt: Date;
  /** SHA-256 of the secret, lower-case hex. */
  secretSha256: string;
  createdAt: Date;
  createdBy: string;
}

/** A fresh token: its id and its secret `fet_<id>_<32 random bytes in base64url>`. */
export function newEnrollmentToken(): { id: string; secret: string } {
  const id = randomBytes(6).toString("hex");
  return { id, secret: `${ENROLLMENT_TOKEN_PREFIX}${id}_${randomBytes(32).toString("base64url")}` };
}

/** The SHA-256 of a secret, lower-case hex: what is stored and looked up. A 256-bit secret needs no slow hash. */
export function enrollmentTokenDigest(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Whether a token would adopt someone at `now`: `usable`, or why not. */
export function enrollmentTokenState(token: EnrollmentTokenRecord, now: Date): EnrollmentTokenState {
  if (token.used >= token.uses) return "used_up";
  if (now.getTime() >= token.expiresAt.getTime()) return "expired";
  return "usable";
}

/** Why a presented token adopts nobody: the reason the audit log records (never the secret). */
export type EnrollmentTokenRefusal = "unknown" | "used_up" | "expired" | "name_mismatch";

/**
 * What a presented secret earns `name` at `now`: the token to spend, or why not. `unknown` covers a revoked token too:
 * its row is gone, as the secret never reaches the log there is no telling the two apart.
 */
export function judgeEnrollmentToken(
  token: EnrollmentTokenRecord | undefined,
  name: string,
  now: Date,
):
  | { ok: true; token: EnrollmentTokenRecord }
  | { ok: false; reason: EnrollmentTokenRefusal; token?: string } {
  if (token === undefined) return { ok: false, reason: "unknown" };
  const state = enrollmentTokenState(token, now);
  if (state !== "usable") return { ok: false, reason: state, token: token.id };
  if (!nameMatchesPattern(token.pattern, name))
    return { ok: false, reason: "name_mismatch", token: token.id };
  return { ok: true, token };
}

/** Reads of the token list, for the list and for a batch's stage layered over it. */
export interface EnrollmentTokenLookup {
  enrollmentToken(id: string): EnrollmentTokenRecord | undefined;
  enrollmentTokenRecords(): Iterable<EnrollmentTokenRecord>;
}

export class EnrollmentTokenList implements EnrollmentTokenLookup {
  readonly #byId = new Map<string, EnrollmentTokenRecord>();
  readonly #byDigest = new Map<string, EnrollmentTokenRecord>();

  static async load(db: Db): Promise<EnrollmentTokenList> {
    const list = new EnrollmentTokenList();
    const rows = await ormQuery(db.orm.select().from(enrollmentTokens).orderBy(asc(enrollmentTokens.id)));
    for (const row of rows) list.put(row);
    return list;
  }

  get size(): number {
    return this.#byId.size;
  }

  enrollmentToken(id: string): EnrollmentTokenRecord | undefined {
    return this.#byId.get(id);
  }

  /** Every live (not revoked) token, by creation time then id. */
  *enrollmentTokenRecords(): Generator<EnrollmentTokenRecord> {
    const all = [...this.#byId.values()].sort(
      (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id),
    );
    yield* all;
  }

  /** The token whose secret is `secret`, or undefined: one SHA-256 and one map lookup. */
  bySecret(secret: string): EnrollmentTokenRecord | undefined {
    return this.#byDigest.get(enrollmentTokenDigest(secret));
  }

  /** Adds or replaces a token (only after the write that made or spent it has committed). */
  put(record: EnrollmentTokenRecord): void {
    this.remove(record.id);
    this.#byId.set(record.id, record);
    this.#byDigest.set(record.secretSha256.toLowerCase(), record);
  }

  /** Forgets a revoked token (only after the revocation has committed). */
  remove(id: string): void {
    const held = this.#byId.get(id);
    if (held === undefined) return;
    this.#byId.delete(id);
    if (this.#byDigest.get(held.secretSha256.toLowerCase()) === held)
      this.#byDigest.delete(held.secretSha256.toLowerCase());
  }
}
