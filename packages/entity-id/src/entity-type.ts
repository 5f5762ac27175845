// The fluxEntityID type table (SPEC §3): the top 8 bits of every id say what kind of thing it names.

/**
 * Type ids of the 8-bit `type_id` field.
 *
 * @example
 * encodeEntityId({ typeId: EntityType.Rack, machineId: 100, sequence: 0n });
 */
export const EntityType = {
  Reserved: 0,
  Message: 1,
  Mixer: 2,
  Rack: 3,
  Gear: 4,
  InputPort: 5,
  OutputPort: 6,
  Wire: 7,
  SnakeTunnel: 8,
  Scenario: 9,
  Session: 10,
  SpecVersion: 11,
} as const;

/** A known type name, e.g. `"Rack"`. */
export type EntityTypeName = keyof typeof EntityType;

/** A known type id, e.g. `3`. */
export type EntityTypeId = (typeof EntityType)[EntityTypeName];

/**
 * Types that name a node (a process with a MachineID): Mixer, Rack and Snake Tunnel. Node ids use sequence 0.
 *
 * @example
 * NODE_ENTITY_TYPES.includes(EntityType.Rack); // true
 */
export const NODE_ENTITY_TYPES: readonly number[] = Object.freeze([
  EntityType.Mixer,
  EntityType.Rack,
  EntityType.SnakeTunnel,
]);

const namesById = new Map<number, EntityTypeName>(
  (Object.entries(EntityType) as [EntityTypeName, number][]).map(([name, id]) => [id, name]),
);

/**
 * The name of a type id; ids outside the table (future types) come back as `unknown(<id>)` instead of throwing.
 *
 * @example
 * typeName(3); // "Rack"
 * typeName(42); // "unknown(42)"
 */
export function typeName(typeId: number): EntityTypeName | `unknown(${number})` {
  return namesById.get(typeId) ?? `unknown(${typeId})`;
}

/**
 * Whether a type id is in the table this version knows.
 *
 * @example
 * isKnownEntityType(8); // true
 */
export function isKnownEntityType(typeId: number): typeId is EntityTypeId {
  return namesById.has(typeId);
}

/**
 * Whether a type id names a node entity (Mixer, Rack, Snake Tunnel).
 *
 * @example
 * isNodeEntityType(EntityType.Gear); // false
 */
export function isNodeEntityType(typeId: number): boolean {
  return NODE_ENTITY_TYPES.includes(typeId);
}
