// The audit log as operators read it: filtered by Rack and time, followed live, and its hash chain verified.

import type { AuditEventView, AuditVerifyResult } from "@fluxrig/wire";
import type { Logger } from "pino";
import type { Db } from "../db/duckdb-database.js";
import type { AuditEvent } from "../registry/audit-chain.js";
import { listAudit, readAuditHead, verifyAuditChain } from "../registry/audit-log.js";
import { AuditFeed, type FeedSubscription } from "./audit-feed.js";
import type { AuditFollow, AuditOperations, FollowQuery } from "./operations.js";
import type { RackOperationsService } from "./rack-operations.js";

/** Backlog events read per query while a follower catches up. */
const BACKLOG_PAGE = 500;

/** An event as the API shows it (`GET /api/v1/events` and each message of the event stream alike). */
export function auditEventView(e: AuditEvent): AuditEventView {
  return {
    seq: e.seq,
    at: e.at.toISOString(),
    entity_id: e.entityId?.toString() ?? null,
    name: e.name,
    kind: e.kind,
    from_status: e.fromStatus,
    to_status: e.toStatus,
    cause: e.cause,
    actor: e.actor,
    details: e.details,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

export interface AuditFollowOptions {
  /** How often the shared poller looks for new events while a stream is open (default 250 ms). */
  pollIntervalMs?: number;
  /** Event streams at once (default 64). */
  maxStreams?: number;
  logger?: Logger;
}

export class AuditOperationsService implements AuditOperations {
  readonly #feed: AuditFeed;

  constructor(
    readonly db: Db,
    readonly racks: RackOperationsService,
    opts: AuditFollowOptions = {},
  ) {
    this.#feed = new AuditFeed({
      read: (afterSeq, limit) => listAudit(db, { afterSeq, limit }),
      head: async () => (await readAuditHead(db))?.seq ?? 0,
      ...(opts.pollIntervalMs === undefined ? {} : { intervalMs: opts.pollIntervalMs }),
      ...(opts.maxStreams === undefined ? {} : { maxSubscribers: opts.maxStreams }),
      ...(opts.logger === undefined ? {} : { logger: opts.logger }),
    });
  }

  /** The shared poller behind every follow (tests read its counters). */
  get feed(): AuditFeed {
    return this.#feed;
  }

  async list(query: Parameters<AuditOperations["list"]>[0]): Promise<AuditEventView[]> {
    const entityId = query.rack ? (await this.racks.resolve(query.rack)).entityId : undefined;
    const events = await listAudit(this.db, {
      limit: query.limit,
      ...(entityId !== undefined ? { entityId } : {}),
      ...(query.since ? { since: query.since } : {}),
      ...(query.afterSeq !== undefined ? { afterSeq: query.afterSeq } : {}),
    });
    return events.map(auditEventView);
  }

  async follow(query: FollowQuery): Promise<AuditFollow> {
    const entityId = query.rack ? (await this.racks.resolve(query.rack)).entityId : undefined;
    // Subscribed before the backlog is read: what commits while the backlog is sent waits in the subscription.
    const sub = await this.#feed.subscribe();
    const after = query.afterSeq ?? (query.since !== undefined ? 0 : sub.startSeq);
    return new Follower({ db: this.db, sub, after, entityId, since: query.since });
  }

  stopFollowing(): Promise<void> {
    return this.#feed.close();
  }

  async verify(): Promise<AuditVerifyResult> {
    const verdict = await verifyAuditChain(this.db);
    return verdict.ok
      ? { ok: true, count: verdict.count }
      : { ok: false, broken_at: verdict.brokenAt, reason: verdict.reason };
  }
}

/**
 * One stream's events: the backlog after its cursor, paged from DuckDB, then the feed's live events. The live ones
 * that arrived while the backlog was read overlap it; `#last` (the highest seq handed out) drops the repeats.
 */
class Follower implements AuditFollow {
  readonly after: number;
  readonly #o: { db: Db; sub: FeedSubscription; entityId: bigint | undefined; since: Date | undefined };
  #last: number;
  #caughtUp = false;

  constructor(opts: {
    db: Db;
    sub: FeedSubscription;
    after: number;
    entityId: bigint | undefined;
    since: Date | undefined;
  }) {
    this.#o = opts;
    this.after = opts.after;
    this.#last = opts.after;
  }

  #matches(e: AuditEvent): boolean {
    return (
      (this.#o.entityId === undefined || e.entityId === this.#o.entityId) &&
      (this.#o.since === undefined || e.at.getTime() >= this.#o.since.getTime())
    );
  }

  #handOut(events: AuditEvent[]): AuditEventView[] {
    const out = events.filter((e) => e.seq > this.#last && this.#matches(e));
    const last = out.at(-1);
    if (last !== undefined) this.#last = last.seq;
    return out.map(auditEventView);
  }

  async next(waitMs: number): Promise<AuditEventView[] | null> {
    if (this.#o.sub.ended !== undefined) return null;
    if (!this.#caughtUp) {
      const page = await listAudit(this.#o.db, {
        afterSeq: this.#last,
        limit: BACKLOG_PAGE,
        ...(this.#o.entityId !== undefined ? { entityId: this.#o.entityId } : {}),
        ...(this.#o.since !== undefined ? { since: this.#o.since } : {}),
      });
      if (page.length < BACKLOG_PAGE) this.#caughtUp = true;
      const out = this.#handOut(page);
      if (out.length > 0 || !this.#caughtUp) return out;
    }
    const deadline = Date.now() + waitMs;
    for (;;) {
      const events = await this.#o.sub.take(Math.max(0, deadline - Date.now()));
      if (events === null) return null;
      const out = this.#handOut(events);
      if (out.length > 0 || Date.now() >= deadline) return out;
    }
  }

  get signal(): AbortSignal {
    return this.#o.sub.signal;
  }

  close(): void {
    this.#o.sub.close();
  }
}
