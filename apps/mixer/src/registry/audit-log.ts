// The audit log of decisions: sealing an event onto the chain (the writer appends it), listing, and verification.
import { and, asc, desc, eq, gt, gte, type SQL } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import { type JsonObject, toJsonText } from "../db/duckdb-values.js";
import { auditEvents } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";
import {
  type AuditChainVerdict,
  AuditChainVerifier,
  type AuditEvent,
  auditHash,
  GENESIS_HASH,
} from "./audit-chain.js";
import { InvalidInputError } from "./registry-errors.js";

/** Kinds the registry's plans write; other parts of the Mixer may stage their own. */
export const AuditKind = {
  RackEnrolled: "rack_enrolled",
  StatusChanged: "status_changed",
  RackDeleted: "rack_deleted",
  PassportIssued: "passport_issued",
  /** An adopted Rack with no host evidence recorded its first report (see planAttributes). */
  AttributesRecorded: "attributes_recorded",
  NodeRegistered: "node_registered",
  ScenarioImported: "scenario_imported",
  ScenarioActivated: "scenario_activated",
  /** A Rack's key revoked on the bus (reject, revoke, replace, removal), in the write of that change. */
  BusKeyRevoked: "bus_key_revoked",
  /** Bus revocations older than every credential they could void were dropped. */
  BusRevocationsPruned: "bus_revocations_pruned",
  /** A named API token was created (its name and role; never its secret). */
  ApiTokenCreated: "api_token_created",
  /** A named API token was revoked: it stopped working when this committed. */
  ApiTokenRevoked: "api_token_revoked",
  /** An enrollment token was created (its id, pattern, uses and expiry; never its secret). */
  EnrollmentTokenCreated: "enrollment_token_created",
  /** An enrollment token was revoked: it adopts nobody from this commit on. */
  EnrollmentTokenRevoked: "enrollment_token_revoked",
  /** A hello's enrollment token adopted its Rack (the token's id, its use count after this one). */
  EnrollmentTokenUsed: "enrollment_token_used",
  /** A hello's enrollment token adopted nobody (unknown, used up, expired, name mismatch): the Rack stays pending. */
  EnrollmentTokenRefused: "enrollment_token_refused",
  /** A name may from now on only be adopted with one key (its fingerprint). */
  KeyExpected: "key_expected",
  /** A name's expected key was forgotten: any key may be adopted under it again. */
  KeyExpectationRemoved: "key_expectation_removed",
} as const;

/** An event as a plan stages it; seq and hashes are added when its batch commits. */
export interface AuditEventInput {
  at: Date;
  entityId?: bigint | null;
  name?: string | null;
  kind: string;
  fromStatus?: string | null;
  toStatus?: string | null;
  /** Why: "operator", "auto_adopt", "presence", "pending_ttl", a scenario name, ... */
  cause: string;
  /** Who: an operator's token name, "mixer", ... */
  actor: string;
  /** JSON-serializable extra facts; bigints are stored as decimal strings. */
  details?: object | null;
}

export interface ListAuditQuery {
  entityId?: bigint;
  since?: Date;
  limit: number;
  /** Keyset cursor: the last seq of the previous page. */
  afterSeq?: number;
}

const VERIFY_PAGE = 5_000;

/** The newest event of the chain (what the next event's prev_hash and seq follow), or null for an empty log. */
export type AuditHead = { seq: number; hash: string } | null;

/** The chain head as stored; the writer reads it once, inside its first transaction. */
export async function readAuditHead(db: Db): Promise<AuditHead> {
  const [head] = await ormQuery(
    db.orm
      .select({ seq: auditEvents.seq, hash: auditEvents.hash })
      .from(auditEvents)
      .orderBy(desc(auditEvents.seq))
      .limit(1),
  );
  return head ?? null;
}

/**
 * The stored form of `input` appended after `head`: the next seq, the previous hash and its own hash. Details are
 * round-tripped through JSON first, so the hash covers exactly what a later read gives back.
 */
export function sealAuditEvent(head: AuditHead, input: AuditEventInput): AuditEvent {
  if (input.cause === "" || input.actor === "") {
    throw new InvalidInputError("audit", "cause and actor must not be empty");
  }
  const details =
    input.details === undefined || input.details === null
      ? null
      : (JSON.parse(toJsonText(input.details, "details")) as JsonObject);
  const prevHash = head?.hash ?? GENESIS_HASH;
  const fields = {
    seq: (head?.seq ?? 0) + 1,
    at: input.at,
    entityId: input.entityId ?? null,
    name: input.name ?? null,
    kind: input.kind,
    fromStatus: input.fromStatus ?? null,
    toStatus: input.toStatus ?? null,
    cause: input.cause,
    actor: input.actor,
    details,
  };
  return { ...fields, prevHash, hash: auditHash(prevHash, fields) };
}

/** Events in seq order, filtered by entity and time, one keyset page at a time. */
export async function listAudit(db: Db, query: ListAuditQuery): Promise<AuditEvent[]> {
  const conditions: SQL[] = [];
  if (query.entityId !== undefined) conditions.push(eq(auditEvents.entityId, query.entityId));
  if (query.since !== undefined) conditions.push(gte(auditEvents.at, query.since));
  if (query.afterSeq !== undefined) conditions.push(gt(auditEvents.seq, query.afterSeq));
  return ormQuery(
    db.orm
      .select()
      .from(auditEvents)
      .where(and(...conditions))
      .orderBy(asc(auditEvents.seq))
      .limit(query.limit),
  );
}

/**
 * Recomputes every hash from the genesis hash on. Any edited, removed or reordered row breaks the chain at the
 * first seq that no longer fits. (Removing the newest rows cannot be seen from inside; compare `head` with a
 * copy kept elsewhere for that.)
 */
export async function verifyAuditChain(db: Db): Promise<AuditChainVerdict> {
  const verifier = new AuditChainVerifier();
  let afterSeq: number | undefined;
  for (;;) {
    const page = await ormQuery(
      db.orm
        .select()
        .from(auditEvents)
        .where(afterSeq === undefined ? undefined : gt(auditEvents.seq, afterSeq))
        .orderBy(asc(auditEvents.seq))
        .limit(VERIFY_PAGE),
    );
    for (const event of page) {
      const reason = verifier.check(event);
      if (reason !== undefined) return { ok: false, brokenAt: event.seq, reason };
    }
    const last = page.at(-1);
    if (last === undefined || page.length < VERIFY_PAGE) break;
    afterSeq = last.seq;
  }
  return { ok: true, count: verifier.count, head: verifier.head };
}
