// Public API of @fluxrig/entity-id: the 64-bit fluxEntityID codec, its text forms and its errors.

export {
  decodeEntityId,
  type EntityIdParts,
  encodeEntityId,
  MAX_ENTITY_ID,
  MAX_MACHINE_ID,
  MAX_SEQUENCE,
  MAX_TYPE_ID,
  nodeEntityId,
} from "./entity-id-codec.js";
export {
  EntityIdError,
  type EntityIdErrorOptions,
  type EntityIdField,
  type EntityIdProblem,
  EntityIdRangeError,
  EntityIdSyntaxError,
} from "./entity-id-error.js";
export {
  formatEntityId,
  formatEntityIdHex,
  type ParseEntityIdOptions,
  parseEntityId,
  tryParseEntityId,
} from "./entity-id-text.js";
export {
  EntityType,
  type EntityTypeId,
  type EntityTypeName,
  isKnownEntityType,
  isNodeEntityType,
  NODE_ENTITY_TYPES,
  typeName,
} from "./entity-type.js";
