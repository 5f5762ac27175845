// How a registry row looks to operators: decimal and hex ids, ISO times, a key fingerprint, and the evidence.
import { formatEntityIdHex } from "@fluxrig/entity-id";
import { keyFingerprint } from "@fluxrig/passport";
import type { NameConflict } from "../registry/name-conflicts.js";
import type { RackRecord } from "../registry/registry-records.js";
import type { NameConflictView, RackView } from "./operations.js";

export function toConflictView(c: NameConflict): NameConflictView {
  return {
    name: c.name,
    claimed_key_fingerprint: keyFingerprint(c.claimedPublicKey),
    claimed_public_key: c.claimedPublicKey,
    first_at: c.firstAt.toISOString(),
    last_at: c.lastAt.toISOString(),
    attempts: c.attempts,
    last_source: c.lastSource,
  };
}

export function toRackView(rack: RackRecord, conflicts?: NameConflict[]): RackView {
  const life = rack.lifecycle;
  const view: RackView = {
    entity_id: rack.entityId.toString(),
    entity_id_hex: formatEntityIdHex(rack.entityId),
    type_id: rack.typeId,
    machine_id: rack.machineId,
    name: rack.name,
    status: rack.status,
    version: rack.version,
    attributes: rack.attributes,
    stats: rack.stats,
    last_seen: rack.lastSeen?.toISOString() ?? null,
    first_seen: life.firstSeen.toISOString(),
    status_changed_at: life.statusChangedAt.toISOString(),
    key_fingerprint: keyFingerprint(life.publicKey),
    passport:
      life.passportSerial > 0 && life.passportIssuedAt && life.passportExpiresAt
        ? {
            serial: life.passportSerial,
            issued_at: life.passportIssuedAt.toISOString(),
            expires_at: life.passportExpiresAt.toISOString(),
          }
        : null,
  };
  if (conflicts !== undefined) {
    view.evidence = {
      hello_count: life.helloCount,
      last_source: life.lastSource,
      conflicts: conflicts.map(toConflictView),
    };
  }
  return view;
}
