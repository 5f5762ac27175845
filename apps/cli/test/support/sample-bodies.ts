// Test support: API bodies shaped like the Mixer's (docs/api.md), for views and in-process command tests.
import type { AuditEvent, NameConflict, Rack } from "../../src/api-types.js";

export function sampleRack(over: Partial<Rack> = {}): Rack {
  return {
    entity_id: "216282733276561408",
    entity_id_hex: "0x0300640000000000",
    type_id: 3,
    machine_id: 100,
    name: "rack-nyc-01",
    status: "pending",
    version: "0.1.0",
    attributes: {
      public_key: "YtdNWPVU_ViuKXGkfExw9My6GCFhbnCQhhv2itqAHEk",
      hostname: "nyc-01",
      os: "linux",
      arch: "x64",
    },
    stats: null,
    last_seen: "2025-06-01T11:59:48.000Z",
    stale: false,
    first_seen: "2025-06-01T11:58:00.000Z",
    status_changed_at: "2025-06-01T11:58:00.000Z",
    key_fingerprint: "SHA256:Zm9vYmFy",
    passport: null,
    ...over,
  };
}

export function sampleConflict(over: Partial<NameConflict> = {}): NameConflict {
  return {
    name: "rack-nyc-01",
    claimed_key_fingerprint: "SHA256:b3RoZXI",
    claimed_public_key: "b3RoZXIta2V5LW9mLTMyLWJ5dGVzLXh4eHh4eHh4eHg",
    first_at: "2025-06-01T10:00:00.000Z",
    last_at: "2025-06-01T11:00:00.000Z",
    attempts: 3,
    last_source: "10.0.0.9",
    ...over,
  };
}

export function sampleEvent(over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    seq: 1,
    at: "2025-06-01T11:59:00.000Z",
    entity_id: "216282733276561408",
    name: "rack-nyc-01",
    kind: "status",
    from_status: "pending",
    to_status: "active",
    cause: "operator",
    actor: "api:alice",
    details: { reason: "ticket OPS-42" },
    prev_hash: "0".repeat(64),
    hash: "9c1e",
    ...over,
  };
}
