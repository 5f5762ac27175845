// The audit log as operators read it: filtered by Rack and time, and its hash chain verified.

import type { AuditEventView, AuditVerifyResult } from "@fluxrig/wire";
import type { Db } from "../db/duckdb-database.js";
import { listAudit, verifyAuditChain } from "../registry/audit-log.js";
import type { AuditOperations } from "./operations.js";
import type { RackOperationsService } from "./rack-operations.js";

export class AuditOperationsService implements AuditOperations {
  constructor(
    readonly db: Db,
    readonly racks: RackOperationsService,
  ) {}

  async list(query: Parameters<AuditOperations["list"]>[0]): Promise<AuditEventView[]> {
    const entityId = query.rack ? (await this.racks.resolve(query.rack)).entityId : undefined;
    const events = await listAudit(this.db, {
      limit: query.limit,
      ...(entityId !== undefined ? { entityId } : {}),
      ...(query.since ? { since: query.since } : {}),
      ...(query.afterSeq !== undefined ? { afterSeq: query.afterSeq } : {}),
    });
    return events.map((e) => ({
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
    }));
  }

  async verify(): Promise<AuditVerifyResult> {
    const verdict = await verifyAuditChain(this.db);
    return verdict.ok
      ? { ok: true, count: verdict.count }
      : { ok: false, broken_at: verdict.brokenAt, reason: verdict.reason };
  }
}
