// The audit log's hash chain: canonical JSON of an event's fields, chained by sha256 to the event before it.
import { createHash } from "node:crypto";
import type { JsonObject } from "../db/duckdb-values.js";

/** `prev_hash` of the first event: 64 zeros. */
export const GENESIS_HASH = "0".repeat(64);

/** The fields an event's hash covers (everything but the hashes themselves). */
export interface AuditEventFields {
  seq: number;
  at: Date;
  entityId: bigint | null;
  /** The Rack's (or scenario's) name at the time of the event. */
  name: string | null;
  kind: string;
  fromStatus: string | null;
  toStatus: string | null;
  cause: string;
  actor: string;
  details: JsonObject | null;
}

/** A stored audit event. */
export interface AuditEvent extends AuditEventFields {
  prevHash: string;
  hash: string;
}

/** Outcome of checking the whole chain. `head` lets an operator pin the newest hash somewhere else. */
export type AuditChainVerdict =
  | { ok: true; count: number; head: { seq: number; hash: string } | null }
  | { ok: false; brokenAt: number; reason: string };

/**
 * JSON with object keys sorted at every depth and no whitespace, so equal values always hash alike. Bigints are
 * written as decimal strings; `undefined` members are left out, as JSON.stringify does.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`cannot hash the number ${value}`);
      return JSON.stringify(value);
    case "bigint":
      return JSON.stringify(value.toString());
    case "object": {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, member]) => member !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(",")}}`;
    }
    default:
      throw new TypeError(`cannot hash a ${typeof value}`);
  }
}

/** sha256 hex of `prevHash` followed by the canonical JSON of the event's fields (column names as keys). */
export function auditHash(prevHash: string, fields: AuditEventFields): string {
  const body = canonicalJson({
    seq: fields.seq,
    at: fields.at.toISOString(),
    entity_id: fields.entityId === null ? null : fields.entityId.toString(),
    name: fields.name,
    kind: fields.kind,
    from_status: fields.fromStatus,
    to_status: fields.toStatus,
    cause: fields.cause,
    actor: fields.actor,
    details: fields.details,
  });
  return createHash("sha256").update(prevHash).update(body).digest("hex");
}

/** Checks events one at a time, in seq order, so a long log can be verified page by page. */
export class AuditChainVerifier {
  #count = 0;
  #last: { seq: number; hash: string } | null = null;

  /** Returns why `event` breaks the chain, or undefined when it fits. */
  check(event: AuditEvent): string | undefined {
    const expectedPrev = this.#last?.hash ?? GENESIS_HASH;
    if (this.#last !== null && event.seq !== this.#last.seq + 1) {
      return `seq ${event.seq} follows ${this.#last.seq}: events are missing`;
    }
    if (event.prevHash !== expectedPrev) {
      return this.#last === null
        ? "the first event does not start from the genesis hash: earlier events are missing"
        : `prev_hash does not match the hash of seq ${this.#last.seq}`;
    }
    if (auditHash(event.prevHash, event) !== event.hash) {
      return "the event's fields do not match its hash: the row was changed";
    }
    this.#count++;
    this.#last = { seq: event.seq, hash: event.hash };
    return undefined;
  }

  get count(): number {
    return this.#count;
  }

  get head(): { seq: number; hash: string } | null {
    return this.#last;
  }
}
