// How a registry row looks to operators: decimal and hex ids, ISO times, a key fingerprint, and the evidence.
import { createHash } from "node:crypto";
import { formatEntityIdHex } from "@fluxrig/entity-id";
import { keyFingerprint } from "@fluxrig/passport";
import type { GearHealthView, NameConflictView, RackView } from "@fluxrig/wire";
import type { NameConflict } from "../registry/name-conflicts.js";
import type { RackRecord } from "../registry/registry-records.js";

/**
 * What presence knows of a Rack beyond its registry record: heartbeats land here at once and reach the database
 * only in batches. `PresenceTracker` is one; only the fields read here are required.
 */
export interface PresenceFacts {
  get(name: string):
    | {
        entityId: bigint;
        /** Last heartbeat or hello, ms since the epoch (the record's last seen until then); 0 when never seen. */
        lastSeenMs: number;
        /** The latest heartbeat's stats, or the record's until one came. */
        stats: Record<string, unknown> | null;
      }
    | undefined;
  /** Whether a pending Rack has been silent past the offline window (see `PresenceTracker.stale`). */
  stale?(name: string, nowMs: number): boolean;
}

/** The live facts a view shows on top of its record: last seen, stats, and whether a pending Rack went silent. */
export interface LiveFacts {
  lastSeen: Date | null;
  stats: Record<string, unknown> | null;
  stale: boolean;
}

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

/**
 * A Rack's last sighting and stats as of now: presence owns them (it starts from the record's and hears every hello
 * and heartbeat since). A record presence does not hold (a Rack just removed) shows its own.
 */
export function liveFacts(
  rack: RackRecord,
  presence: PresenceFacts | undefined,
  nowMs = Date.now(),
): LiveFacts {
  const entry = presence?.get(rack.name);
  if (!entry || entry.entityId !== rack.entityId) {
    return { lastSeen: rack.lastSeen, stats: rack.stats, stale: false };
  }
  return {
    lastSeen: entry.lastSeenMs > 0 ? new Date(entry.lastSeenMs) : null,
    stats: entry.stats,
    stale: presence?.stale?.(rack.name, nowMs) ?? false,
  };
}

/** The parts of a view that only depend on the record: computed once per record (records are never mutated). */
interface FixedParts {
  entity_id: string;
  entity_id_hex: string;
  first_seen: string;
  status_changed_at: string;
  key_fingerprint: string;
  passport: RackView["passport"];
}

const fixedByRecord = new WeakMap<RackRecord, FixedParts>();

/**
 * `keyFingerprint(publicKey)` without building a KeyObject (which costs more than the rest of a view): for a
 * canonical base64url encoding of 32 bytes it is the sha256 of those bytes, exactly as `keyFingerprint` computes it.
 * Anything else goes through `keyFingerprint`, which refuses it as before.
 */
export function rackKeyFingerprint(publicKey: string): string {
  const raw = Buffer.from(publicKey, "base64url");
  if (raw.length !== 32 || raw.toString("base64url") !== publicKey) return keyFingerprint(publicKey);
  return `SHA256:${createHash("sha256").update(raw).digest("base64").replace(/=+$/, "")}`;
}

function fixedParts(rack: RackRecord): FixedParts {
  let fixed = fixedByRecord.get(rack);
  if (fixed === undefined) {
    const life = rack.lifecycle;
    fixed = {
      entity_id: rack.entityId.toString(),
      entity_id_hex: formatEntityIdHex(rack.entityId),
      first_seen: life.firstSeen.toISOString(),
      status_changed_at: life.statusChangedAt.toISOString(),
      key_fingerprint: rackKeyFingerprint(life.publicKey),
      passport:
        life.passportSerial > 0 && life.passportIssuedAt && life.passportExpiresAt
          ? {
              serial: life.passportSerial,
              issued_at: life.passportIssuedAt.toISOString(),
              expires_at: life.passportExpiresAt.toISOString(),
            }
          : null,
    };
    fixedByRecord.set(rack, fixed);
  }
  return fixed;
}

/**
 * The operator's view of a Rack. `live` overrides the record's last seen and stats (see {@link liveFacts});
 * `conflicts` adds the evidence for a decision (hello count, last source, other keys that claimed the name).
 */
export function toRackView(rack: RackRecord, conflicts?: NameConflict[], live?: LiveFacts): RackView {
  const fixed = fixedParts(rack);
  const lastSeen = live ? live.lastSeen : rack.lastSeen;
  const { stats, gears } = splitGears(live ? live.stats : rack.stats);
  const view: RackView = {
    entity_id: fixed.entity_id,
    entity_id_hex: fixed.entity_id_hex,
    type_id: rack.typeId,
    machine_id: rack.machineId,
    name: rack.name,
    status: rack.status,
    version: rack.version,
    attributes: rack.attributes,
    stats,
    last_seen: lastSeen?.toISOString() ?? null,
    stale: live?.stale ?? false,
    first_seen: fixed.first_seen,
    status_changed_at: fixed.status_changed_at,
    key_fingerprint: fixed.key_fingerprint,
    passport: fixed.passport,
  };
  if (conflicts !== undefined) {
    const life = rack.lifecycle;
    view.evidence = {
      hello_count: life.helloCount,
      last_source: life.lastSource,
      conflicts: conflicts.map(toConflictView),
    };
    view.gears = gears;
  }
  return view;
}

/**
 * The heartbeat's per-gear list taken out of the stats: the detailed view shows it as `gears`, and no view carries it
 * twice (a list of Racks carries only the totals). Stats without one are passed through as they are.
 */
function splitGears(stats: Record<string, unknown> | null): {
  stats: Record<string, unknown> | null;
  gears: GearHealthView[] | null;
} {
  if (stats === null || stats.gear_list === undefined) return { stats, gears: null };
  const { gear_list: list, ...rest } = stats;
  // Written by LiveStats from heartbeats the wire's schema accepted (or read back from that stored form).
  return { stats: rest, gears: Array.isArray(list) ? (list as GearHealthView[]) : null };
}
