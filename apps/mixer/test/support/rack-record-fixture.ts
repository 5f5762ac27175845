// Test fixture: a Rack's directory record, pending-free defaults (active, never seen), any field overridden.
import { EntityType } from "@fluxrig/entity-id";
import type { RackRecord } from "../../src/registry/registry-records.js";

/**
 * Rack `rack-1` (entity id 1), active, its key `key-<entity id>`, first seen and status changed at `at` (the epoch
 * by default); `lastSeenMs` sets its last seen as loaded from the registry (never seen without it).
 */
export function rackRecordFixture(
  over: Partial<Omit<RackRecord, "lastSeen">> & { lastSeenMs?: number; at?: Date } = {},
): RackRecord {
  const { lastSeenMs, at = new Date(0), ...rest } = over;
  const entityId = rest.entityId ?? 1n;
  return {
    entityId,
    typeId: EntityType.Rack,
    machineId: Number(entityId & 0xffffn),
    name: `rack-${entityId}`,
    status: "active",
    version: "0.1.0",
    attributes: { public_key: `key-${entityId}` },
    stats: null,
    lastSeen: lastSeenMs === undefined ? null : new Date(lastSeenMs),
    lifecycle: {
      publicKey: `key-${entityId}`,
      firstSeen: at,
      statusChangedAt: at,
      passportSerial: 0,
      passportIssuedAt: null,
      passportExpiresAt: null,
      passportsValidUntil: null,
      lastSource: null,
      helloCount: 1,
      flaps: 0,
    },
    ...rest,
  };
}
