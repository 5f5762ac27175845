// The 64-bit layout of a fluxEntityID (SPEC §3): type_id 63..56, machine_id 55..40, sequence 39..0.
import { describeValue, EntityIdRangeError } from "./entity-id-error.js";
import { isNodeEntityType, typeName } from "./entity-type.js";

/** The three fields of an id. `typeId` may be a value this version does not know (forward compatible). */
export interface EntityIdParts {
  typeId: number;
  machineId: number;
  sequence: bigint;
}

/**
 * The largest id, 2^64 - 1.
 *
 * @example
 * MAX_ENTITY_ID === 0xffffffffffffffffn; // true
 */
export const MAX_ENTITY_ID: bigint = 2n ** 64n - 1n;

/**
 * Largest type id (8 bits).
 *
 * @example
 * encodeEntityId({ typeId: MAX_TYPE_ID, machineId: 1, sequence: 0n }); // the largest type
 */
export const MAX_TYPE_ID = 0xff;

/**
 * Largest MachineID (16 bits).
 *
 * @example
 * nodeEntityId(EntityType.Rack, MAX_MACHINE_ID); // the last MachineID
 */
export const MAX_MACHINE_ID = 0xffff;

/**
 * Largest sequence (40 bits).
 *
 * @example
 * decodeEntityId(MAX_ENTITY_ID).sequence === MAX_SEQUENCE; // true
 */
export const MAX_SEQUENCE: bigint = 2n ** 40n - 1n;

const MACHINE_SHIFT = 40n;
const TYPE_SHIFT = 56n;
const MACHINE_MASK = 0xffffn;

function checkSmallField(field: "type_id" | "machine_id", value: unknown, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw new EntityIdRangeError(`${field} must be an integer in 0..${max}, got ${describeValue(value)}`, {
      field,
      problem: "out_of_range",
      value,
    });
  }
  return value;
}

/** Throws unless `id` is a bigint in 0..2^64-1; shared by every function that takes a whole id. */
export function assertEntityIdRange(id: unknown): asserts id is bigint {
  if (typeof id !== "bigint") {
    throw new EntityIdRangeError(`entity id must be a bigint, got ${describeValue(id)}`, {
      field: "id",
      problem: "out_of_range",
      value: id,
    });
  }
  if (id < 0n) {
    throw new EntityIdRangeError(`entity id must not be negative, got ${id}`, {
      field: "id",
      problem: "negative",
      value: id,
    });
  }
  if (id > MAX_ENTITY_ID) {
    throw new EntityIdRangeError(`entity id must be at most 2^64-1 (${MAX_ENTITY_ID}), got ${id}`, {
      field: "id",
      problem: "too_large",
      value: id,
    });
  }
}

/**
 * Packs the three fields into one id, refusing any field outside its bits.
 *
 * @example
 * encodeEntityId({ typeId: 3, machineId: 100, sequence: 0n }); // 216282733276561408n (0x0300640000000000)
 */
export function encodeEntityId(parts: EntityIdParts): bigint {
  const typeId = checkSmallField("type_id", parts.typeId, MAX_TYPE_ID);
  const machineId = checkSmallField("machine_id", parts.machineId, MAX_MACHINE_ID);
  const sequence: unknown = parts.sequence;
  if (typeof sequence !== "bigint" || sequence < 0n || sequence > MAX_SEQUENCE) {
    throw new EntityIdRangeError(
      `sequence must be a bigint in 0..2^40-1 (${MAX_SEQUENCE}), got ${describeValue(sequence)}`,
      { field: "sequence", problem: "out_of_range", value: sequence },
    );
  }
  return (BigInt(typeId) << TYPE_SHIFT) | (BigInt(machineId) << MACHINE_SHIFT) | sequence;
}

/**
 * Splits an id into its fields. Unknown type values are kept as they are, so newer peers' ids still decode.
 *
 * @example
 * decodeEntityId(0x0300640000000000n); // { typeId: 3, machineId: 100, sequence: 0n }
 */
export function decodeEntityId(id: bigint): EntityIdParts {
  assertEntityIdRange(id);
  return {
    typeId: Number(id >> TYPE_SHIFT),
    machineId: Number((id >> MACHINE_SHIFT) & MACHINE_MASK),
    sequence: id & MAX_SEQUENCE,
  };
}

/**
 * The id of a node (Mixer, Rack or Snake Tunnel): sequence 0 and a MachineID in 1..65535.
 *
 * @example
 * nodeEntityId(EntityType.Rack, 100); // 216282733276561408n
 */
export function nodeEntityId(typeId: number, machineId: number): bigint {
  checkSmallField("type_id", typeId, MAX_TYPE_ID);
  if (!isNodeEntityType(typeId)) {
    throw new EntityIdRangeError(
      `type_id ${typeId} (${typeName(typeId)}) is not a node type: expected Mixer (2), Rack (3) or SnakeTunnel (8)`,
      { field: "type_id", problem: "not_node_type", value: typeId },
    );
  }
  if (
    typeof machineId !== "number" ||
    !Number.isInteger(machineId) ||
    machineId < 1 ||
    machineId > MAX_MACHINE_ID
  ) {
    throw new EntityIdRangeError(
      `machine_id of a node must be an integer in 1..${MAX_MACHINE_ID}, got ${describeValue(machineId)}`,
      { field: "machine_id", problem: "out_of_range", value: machineId },
    );
  }
  return encodeEntityId({ typeId, machineId, sequence: 0n });
}
