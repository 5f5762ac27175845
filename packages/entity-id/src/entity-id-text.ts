// Text forms of a fluxEntityID: decimal on the wire and in JSON, `0x` + 16 hex digits for people (SPEC §3).
import { assertEntityIdRange, decodeEntityId, MAX_ENTITY_ID, MAX_MACHINE_ID } from "./entity-id-codec.js";
import {
  describeValue,
  type EntityIdProblem,
  EntityIdRangeError,
  EntityIdSyntaxError,
} from "./entity-id-error.js";
import { isNodeEntityType, typeName } from "./entity-type.js";

/** Extra checks on the fields of a parsed id, for callers that know what kind of id they expect. */
export interface ParseEntityIdOptions {
  /** Refuse ids whose type_id is not one of these. */
  types?: readonly number[];
  /** Require a node id: a node type, MachineID 1..65535 and sequence 0. */
  node?: boolean;
}

const DECIMAL = /^[0-9]+$/;
const HEX_BODY = /^[0-9a-fA-F]+$/;
const FRACTION_OR_EXPONENT = /^[0-9]*(\.[0-9]*)?([eE][+-]?[0-9]+)?$/;
const EDGE_WHITESPACE = /^\s|\s$/;
// 2^64-1 has 20 decimal digits; longer text is refused before BigInt sees it.
const MAX_DECIMAL_DIGITS = 20;
const HEX_EXPECTATION = "expected 0x followed by 1 to 16 hex digits";
const TEXT_EXPECTATION =
  "expected a decimal integer (no sign, no leading zeros) or 0x followed by 1 to 16 hex digits";

function syntaxError(input: string, problem: EntityIdProblem, what: string): EntityIdSyntaxError {
  return new EntityIdSyntaxError(`entity id ${describeValue(input)} ${what}`, {
    field: "input",
    problem,
    value: input,
  });
}

function parseText(input: string): bigint {
  if (input.length === 0) throw syntaxError(input, "empty", `is empty: ${TEXT_EXPECTATION}`);
  if (EDGE_WHITESPACE.test(input))
    throw syntaxError(input, "whitespace", "has leading or trailing whitespace");
  if (input[0] === "0" && (input[1] === "x" || input[1] === "X")) {
    const body = input.slice(2);
    if (!HEX_BODY.test(body)) {
      throw syntaxError(
        input,
        body.length === 0 ? "hex_digits" : "syntax",
        `is not valid hex: ${HEX_EXPECTATION}`,
      );
    }
    if (body.length > 16) {
      throw syntaxError(input, "hex_digits", `has ${body.length} hex digits: ${HEX_EXPECTATION}`);
    }
    return BigInt(input.toLowerCase());
  }
  if (DECIMAL.test(input)) {
    if (input.length > 1 && input[0] === "0") {
      throw syntaxError(input, "leading_zero", `has a leading zero: ${TEXT_EXPECTATION}`);
    }
    const id = input.length > MAX_DECIMAL_DIGITS ? MAX_ENTITY_ID + 1n : BigInt(input);
    if (id > MAX_ENTITY_ID) {
      throw new EntityIdRangeError(`entity id ${describeValue(input)} is over 2^64-1 (${MAX_ENTITY_ID})`, {
        field: "input",
        problem: "too_large",
        value: input,
      });
    }
    return id;
  }
  if (input[0] === "-") {
    throw new EntityIdRangeError(`entity id ${describeValue(input)} is negative: ids are unsigned`, {
      field: "input",
      problem: "negative",
      value: input,
    });
  }
  if (input[0] === "+") throw syntaxError(input, "sign", `has a sign: ${TEXT_EXPECTATION}`);
  if (FRACTION_OR_EXPONENT.test(input)) {
    throw syntaxError(input, "not_integer", `is not an integer: ${TEXT_EXPECTATION}`);
  }
  throw syntaxError(input, "syntax", `is not a number: ${TEXT_EXPECTATION}`);
}

function checkFields(id: bigint, options: ParseEntityIdOptions): void {
  const { typeId, machineId, sequence } = decodeEntityId(id);
  if (options.types !== undefined && !options.types.includes(typeId)) {
    const wanted = options.types.map((t) => `${typeName(t)} (${t})`).join(", ");
    throw new EntityIdRangeError(
      `entity id ${id} has type_id ${typeId} (${typeName(typeId)}): expected ${wanted}`,
      {
        field: "type_id",
        problem: "unexpected_type",
        value: typeId,
      },
    );
  }
  if (options.node !== true) return;
  if (!isNodeEntityType(typeId)) {
    throw new EntityIdRangeError(
      `entity id ${id} has type_id ${typeId} (${typeName(typeId)}): not a node type`,
      {
        field: "type_id",
        problem: "not_node_type",
        value: typeId,
      },
    );
  }
  if (machineId < 1 || machineId > MAX_MACHINE_ID) {
    throw new EntityIdRangeError(
      `entity id ${id} has machine_id 0: a node's MachineID is 1..${MAX_MACHINE_ID}`,
      {
        field: "machine_id",
        problem: "out_of_range",
        value: machineId,
      },
    );
  }
  if (sequence !== 0n) {
    throw new EntityIdRangeError(`entity id ${id} has sequence ${sequence}: a node id has sequence 0`, {
      field: "sequence",
      problem: "not_node_sequence",
      value: sequence,
    });
  }
}

/**
 * Reads an id from decimal text, `0x` hex text (1 to 16 digits, any case) or a bigint; throws an
 * `EntityIdSyntaxError` or `EntityIdRangeError` that names the problem. Options add field checks.
 *
 * @example
 * parseEntityId("216282733276561408"); // 216282733276561408n
 * parseEntityId("0x0300640000000000", { node: true, types: [EntityType.Rack] }); // same id
 */
export function parseEntityId(input: string | bigint, options?: ParseEntityIdOptions): bigint {
  let id: bigint;
  if (typeof input === "bigint") {
    assertEntityIdRange(input);
    id = input;
  } else if (typeof input === "string") {
    id = parseText(input);
  } else {
    throw new EntityIdSyntaxError(`entity id must be a string or a bigint, got ${describeValue(input)}`, {
      field: "input",
      problem: "not_text",
      value: input,
    });
  }
  if (options !== undefined) checkFields(id, options);
  return id;
}

/**
 * Like `parseEntityId`, but answers `undefined` instead of throwing, for validators.
 *
 * @example
 * tryParseEntityId("1.5"); // undefined
 */
export function tryParseEntityId(input: unknown, options?: ParseEntityIdOptions): bigint | undefined {
  try {
    return parseEntityId(input as string | bigint, options);
  } catch {
    return undefined;
  }
}

/**
 * The wire and JSON form: a decimal string (an id does not fit a JS number).
 *
 * @example
 * formatEntityId(0x0300640000000000n); // "216282733276561408"
 */
export function formatEntityId(id: bigint): string {
  assertEntityIdRange(id);
  return id.toString(10);
}

/**
 * The human form: `0x` and exactly 16 lowercase hex digits.
 *
 * @example
 * formatEntityIdHex(216282733276561408n); // "0x0300640000000000"
 */
export function formatEntityIdHex(id: bigint): string {
  assertEntityIdRange(id);
  return `0x${id.toString(16).padStart(16, "0")}`;
}
