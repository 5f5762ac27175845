// The store's typed rows: what a Rack, a node (Mixer, Snake Tunnel) and their lifecycle look like to callers.
import { EntityType } from "@fluxrig/entity-id";
import type { JsonObject } from "../db/duckdb-values.js";
import type { rackLifecycle, registry } from "../db/schema.js";
import { isRackStatus, type RackStatus } from "./rack-status.js";

/** What a Rack reported about itself. `public_key` is always there and never changes once the Rack is adopted. */
export interface RackAttributes {
  public_key: string;
  hostname?: string;
  mac?: string;
  os?: string;
  arch?: string;
  [key: string]: unknown;
}

/** Per-Rack state beyond the seed's columns (table `rack_lifecycle`). */
export interface RackLifecycleRow {
  publicKey: string;
  firstSeen: Date;
  statusChangedAt: Date;
  /** Serial of the last passport issued; 0 before the first. */
  passportSerial: number;
  passportIssuedAt: Date | null;
  passportExpiresAt: Date | null;
  /** The latest expiry of any passport ever issued for this Rack: its MachineID is held back until then. */
  passportsValidUntil: Date | null;
  /** Where the last hello came from (whatever the caller recorded, e.g. a NATS client address). */
  lastSource: string | null;
  helloCount: number;
  /** How many times the Rack came back from offline. */
  flaps: number;
}

/** A Rack's registry row with its lifecycle. */
export interface RackRecord {
  entityId: bigint;
  typeId: typeof EntityType.Rack;
  machineId: number;
  name: string;
  status: RackStatus;
  version: string;
  attributes: RackAttributes;
  stats: JsonObject | null;
  lastSeen: Date | null;
  lifecycle: RackLifecycleRow;
}

/** Type ids of the Mixer's own rows. */
export type NodeTypeId = typeof EntityType.Mixer | typeof EntityType.SnakeTunnel;

/** The Mixer's row (type 2) or its Snake Tunnel's (type 8). */
export interface NodeRecord {
  entityId: bigint;
  typeId: NodeTypeId;
  machineId: number;
  name: string;
  status: string;
  version: string;
  attributes: JsonObject;
  stats: JsonObject | null;
  lastSeen: Date | null;
}

/** An inclusive MachineID range for allocation. */
export interface MachineIdRange {
  min: number;
  max: number;
}

/** The full range a node may use (0 is invalid for a node, SPEC §3). */
export const FULL_MACHINE_ID_RANGE: Readonly<MachineIdRange> = Object.freeze({ min: 1, max: 0xffff });

/** One page of `listRacks`, ordered by name. */
export interface RackPage {
  racks: RackRecord[];
  /** Pass as `after` for the next page; null on the last page. */
  nextAfter: string | null;
}

type RegistryRow = typeof registry.$inferSelect;
type LifecycleRow = typeof rackLifecycle.$inferSelect;

export function toRackRecord(row: RegistryRow, life: LifecycleRow): RackRecord {
  if (row.typeId !== EntityType.Rack) {
    throw new TypeError(`entity ${row.entityId} has type ${row.typeId}, not a Rack`);
  }
  return {
    entityId: row.entityId,
    typeId: EntityType.Rack,
    machineId: row.machineId,
    name: row.name,
    status: checkedStatus(row.entityId, row.status),
    version: row.version,
    attributes: { ...row.attributes, public_key: life.publicKey },
    stats: row.stats,
    lastSeen: row.lastSeen,
    lifecycle: {
      publicKey: life.publicKey,
      firstSeen: life.firstSeen,
      statusChangedAt: life.statusChangedAt,
      passportSerial: life.passportSerial,
      passportIssuedAt: life.passportIssuedAt,
      passportExpiresAt: life.passportExpiresAt,
      passportsValidUntil: life.passportsValidUntil,
      lastSource: life.lastSource,
      helloCount: life.helloCount,
      flaps: life.flaps,
    },
  };
}

export function toNodeRecord(row: RegistryRow): NodeRecord {
  if (row.typeId !== EntityType.Mixer && row.typeId !== EntityType.SnakeTunnel) {
    throw new TypeError(`entity ${row.entityId} has type ${row.typeId}, not a Mixer or Snake Tunnel`);
  }
  return {
    entityId: row.entityId,
    typeId: row.typeId,
    machineId: row.machineId,
    name: row.name,
    status: row.status,
    version: row.version,
    attributes: row.attributes,
    stats: row.stats,
    lastSeen: row.lastSeen,
  };
}

export function checkedStatus(entityId: bigint, status: string): RackStatus {
  if (!isRackStatus(status)) throw new TypeError(`entity ${entityId} has unknown status ${status}`);
  return status;
}
