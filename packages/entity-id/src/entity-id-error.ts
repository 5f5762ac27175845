// Errors of @fluxrig/entity-id: one base class, and subclasses for malformed text and out-of-range values.

/** The part of an id an error is about: one of the three fields, the whole id, or the raw input. */
export type EntityIdField = "type_id" | "machine_id" | "sequence" | "id" | "input";

/** What exactly was wrong, for callers that branch on it (messages are for people). */
export type EntityIdProblem =
  | "not_text"
  | "empty"
  | "whitespace"
  | "sign"
  | "negative"
  | "not_integer"
  | "leading_zero"
  | "hex_digits"
  | "syntax"
  | "too_large"
  | "out_of_range"
  | "not_node_type"
  | "unexpected_type"
  | "not_node_sequence";

/** Options shared by every entity id error. */
export interface EntityIdErrorOptions {
  field: EntityIdField;
  problem: EntityIdProblem;
  value: unknown;
  cause?: unknown;
}

/**
 * Base class of every error thrown by this package; `field` names the bad part, `problem` says what was wrong.
 *
 * @example
 * try { parseEntityId("-1"); } catch (e) { if (e instanceof EntityIdError) console.log(e.field, e.problem); }
 */
export class EntityIdError extends Error {
  readonly field: EntityIdField;
  readonly problem: EntityIdProblem;
  readonly value: unknown;

  constructor(message: string, options: EntityIdErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.field = options.field;
    this.problem = options.problem;
    this.value = options.value;
  }
}

/**
 * Text that is not an entity id at all: empty, padded, signed, fractional, bad hex digit count.
 *
 * @example
 * parseEntityId("1e3"); // throws EntityIdSyntaxError { field: "input", problem: "not_integer" }
 */
export class EntityIdSyntaxError extends EntityIdError {}

/**
 * A well-formed number outside its range: negative, over 2^64-1, or a field too large for its bits.
 *
 * @example
 * encodeEntityId({ typeId: 256, machineId: 1, sequence: 0n }); // throws EntityIdRangeError { field: "type_id" }
 */
export class EntityIdRangeError extends EntityIdError {}

/** Quotes a value for a message without letting a huge input flood the log. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (typeof value === "bigint") text = `${value}n`;
  // Objects could carry a hostile toString; their tag is enough to say what arrived.
  else if (typeof value === "object" && value !== null) text = Object.prototype.toString.call(value);
  else text = String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
