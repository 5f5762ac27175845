// The passport payload: its canonical JSON bytes (fixed key order) and the strict check every decoded payload passes.

import { decodeEntityId, formatEntityId, parseEntityId } from "@fluxrig/entity-id";
import { PassportMalformedError } from "./errors.js";

/** What a passport says about its holder: `active`, or `revoked` (a signed withdrawal the Rack must obey). */
export type PassportStatus = "active" | "revoked";

/** The signed content of a passport. Encoded as JSON with keys in exactly this order. */
export interface PassportPayload {
  /** Cluster name (the Mixer's `[mixer] name`). */
  cluster: string;
  /** fluxEntityID as a decimal string. */
  entity_id: string;
  type_id: number;
  machine_id: number;
  /** DNS label, e.g. "rack-nyc-01". */
  name: string;
  status: PassportStatus;
  /** The holder's raw Ed25519 public key, unpadded base64url. */
  rack_public_key: string;
  /** ISO-8601 UTC, e.g. "2025-01-01T00:00:00.000Z". */
  issued_at: string;
  /** ISO-8601 UTC, later than issued_at. */
  expires_at: string;
  /** Positive integer, increases on every issue for the entity. */
  serial: number;
}

/** A payload that passed {@link checkPayload}, with its times already parsed for the clock check. */
export interface CheckedPayload {
  payload: PassportPayload;
  issuedAtMs: number;
  expiresAtMs: number;
}

/** The payload keys, in the order they are signed. */
export const PASSPORT_PAYLOAD_KEYS = [
  "cluster",
  "entity_id",
  "type_id",
  "machine_id",
  "name",
  "status",
  "rack_public_key",
  "issued_at",
  "expires_at",
  "serial",
] as const satisfies readonly (keyof PassportPayload)[];

/** Names are DNS labels so that a name is always one safe NATS subject token (SPEC §4). */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

// Node entities (Mixer 2, Rack 3, Snake Tunnel 8) are the only holders of passports (SPEC §3).
const NODE_TYPE_IDS: ReadonlySet<number> = new Set([2, 3, 8]);
const MAX_CLUSTER_LENGTH = 253;
const DECIMAL_ID = /^[1-9][0-9]{0,19}$/;
const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?Z$/;
const CONTROL_CHARS = /\p{Cc}/u;
// Exactly the canonical unpadded base64url texts of 32 bytes: the last character carries 2 zero bits.
const RAW_KEY_B64 = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * The exact bytes of a payload as signed: JSON, keys in {@link PASSPORT_PAYLOAD_KEYS} order, no whitespace.
 *
 * @example
 * encodePayload(p) // '{"cluster":"prod","entity_id":"216282733276561408","type_id":3,...,"serial":1}'
 */
export function encodePayload(p: PassportPayload): string {
  // An object literal fixes the key order: JSON.stringify keeps insertion order for non-numeric keys.
  return JSON.stringify({
    cluster: p.cluster,
    entity_id: p.entity_id,
    type_id: p.type_id,
    machine_id: p.machine_id,
    name: p.name,
    status: p.status,
    rack_public_key: p.rack_public_key,
    issued_at: p.issued_at,
    expires_at: p.expires_at,
    serial: p.serial,
  });
}

/**
 * Decodes signed payload bytes: UTF-8 JSON that passes {@link checkPayload} and is byte for byte its own
 * canonical encoding (which also refuses duplicate keys, other key orders and whitespace).
 *
 * @example
 * const { payload } = decodePayloadBytes(bytes);
 */
export function decodePayloadBytes(bytes: Buffer): CheckedPayload {
  const text = bytes.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new PassportMalformedError({ field: "payload", detail: "not JSON", cause });
  }
  const checked = checkPayload(value);
  const canonical = encodePayload(checked.payload);
  // Compared as bytes, not strings: invalid UTF-8 decodes to U+FFFD and would otherwise compare equal.
  if (canonical.length !== text.length || !Buffer.from(canonical, "utf8").equals(bytes)) {
    throw new PassportMalformedError({
      field: "payload",
      detail: "not in canonical form (fixed key order, no whitespace, no duplicate keys)",
    });
  }
  return checked;
}

/**
 * Checks a decoded payload strictly: exactly the known keys, types, lengths, an entity id consistent with
 * type_id and machine_id, a DNS-label name, ISO-8601 UTC times with expires_at after issued_at.
 * Returns a fresh payload object; throws PassportMalformedError naming the field.
 *
 * @example
 * const { payload, expiresAtMs } = checkPayload(JSON.parse(text));
 */
export function checkPayload(value: unknown): CheckedPayload {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad("payload", "not a JSON object");
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!(PASSPORT_PAYLOAD_KEYS as readonly string[]).includes(key)) throw bad(key, "unknown field");
  }
  const cluster = v.cluster;
  if (typeof cluster !== "string" || cluster.length === 0 || cluster.length > MAX_CLUSTER_LENGTH) {
    throw bad("cluster", `expected a string of 1 to ${MAX_CLUSTER_LENGTH} characters`);
  }
  if (CONTROL_CHARS.test(cluster)) throw bad("cluster", "contains control characters");

  const typeId = integerIn(v, "type_id", 0, 255);
  if (!NODE_TYPE_IDS.has(typeId)) throw bad("type_id", `${typeId} is not a node type (2, 3 or 8)`);
  const machineId = integerIn(v, "machine_id", 1, 65535);
  const entityId = checkEntityId(v.entity_id, typeId, machineId);

  const name = v.name;
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw bad("name", "expected a lowercase DNS label (a-z, 0-9, '-', 1 to 63 characters)");
  }
  const status = v.status;
  if (status !== "active" && status !== "revoked") throw bad("status", 'expected "active" or "revoked"');
  const rackKey = v.rack_public_key;
  if (typeof rackKey !== "string" || !RAW_KEY_B64.test(rackKey)) {
    throw bad("rack_public_key", "expected a raw 32-byte Ed25519 key in unpadded base64url");
  }
  const issuedAtMs = isoTime(v, "issued_at");
  const expiresAtMs = isoTime(v, "expires_at");
  if (expiresAtMs <= issuedAtMs) throw bad("expires_at", "must be later than issued_at");
  const serial = integerIn(v, "serial", 1, Number.MAX_SAFE_INTEGER);

  const payload: PassportPayload = {
    cluster,
    entity_id: entityId,
    type_id: typeId,
    machine_id: machineId,
    name,
    status,
    rack_public_key: rackKey,
    issued_at: v.issued_at as string,
    expires_at: v.expires_at as string,
    serial,
  };
  return { payload, issuedAtMs, expiresAtMs };
}

function checkEntityId(value: unknown, typeId: number, machineId: number): string {
  if (typeof value !== "string" || !DECIMAL_ID.test(value)) {
    throw bad("entity_id", "expected a decimal string without leading zeros");
  }
  let parts: { typeId: number; machineId: number; sequence: bigint };
  try {
    const id = parseEntityId(value);
    if (formatEntityId(id) !== value) throw new Error(`formats as ${formatEntityId(id)}`);
    parts = decodeEntityId(id);
  } catch (cause) {
    throw new PassportMalformedError({ field: "entity_id", detail: "not a valid fluxEntityID", cause });
  }
  if (parts.typeId !== typeId || parts.machineId !== machineId || parts.sequence !== 0n) {
    throw bad(
      "entity_id",
      `encodes type ${parts.typeId}, machine ${parts.machineId}, sequence ${parts.sequence}; ` +
        `the payload says type ${typeId}, machine ${machineId}, sequence 0`,
    );
  }
  return value;
}

function integerIn(v: Record<string, unknown>, field: string, min: number, max: number): number {
  const n = v[field];
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw bad(field, `expected an integer from ${min} to ${max}`);
  }
  return n;
}

function isoTime(v: Record<string, unknown>, field: string): number {
  const s = v[field];
  const m = typeof s === "string" ? ISO_UTC.exec(s) : null;
  if (m === null) throw bad(field, "expected ISO-8601 UTC, e.g. 2025-01-01T00:00:00.000Z");
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  // Field by field rather than a Date.parse round trip, which costs more on the verify hot path. Years
  // before 1970 are refused: no passport predates the epoch, and Date.UTC maps years 0-99 to 1900-1999.
  const real =
    year >= 1970 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59;
  if (!real) throw bad(field, "not a real date and time (from 1970 on, no leap seconds)");
  return Date.UTC(year, month - 1, day, hour, minute, second, m[7] === undefined ? 0 : Number(m[7]));
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function bad(field: string, detail: string): PassportMalformedError {
  return new PassportMalformedError({ field, detail });
}
