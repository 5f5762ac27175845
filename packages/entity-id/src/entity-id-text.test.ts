// parseEntityId accepts the two text forms and a bigint, and refuses everything else with a named problem.
import { describe, expect, it } from "vitest";
import { EntityIdError, EntityIdRangeError, EntityIdSyntaxError } from "./entity-id-error.js";
import { formatEntityIdHex, parseEntityId, tryParseEntityId } from "./entity-id-text.js";
import { EntityType } from "./entity-type.js";

const RACK_100 = 216282733276561408n;

function parseError(input: unknown, options?: Parameters<typeof parseEntityId>[1]): EntityIdError {
  try {
    parseEntityId(input as string, options);
  } catch (error) {
    if (error instanceof EntityIdError) return error;
    throw error;
  }
  throw new Error(`expected ${String(input)} to be refused`);
}

describe("parseEntityId accepts", () => {
  it.each([
    ["216282733276561408", RACK_100],
    ["0x0300640000000000", RACK_100],
    ["0X0300640000000000", RACK_100],
    ["0x300640000000000", RACK_100],
    ["0x08FFFF0000000000", 0x08ffff0000000000n],
    ["0", 0n],
    ["0x0", 0n],
    ["18446744073709551615", 2n ** 64n - 1n],
    ["0xffffffffffffffff", 2n ** 64n - 1n],
  ])("%s", (text, id) => {
    expect(parseEntityId(text)).toBe(id);
  });

  it("accepts a bigint in range", () => {
    expect(parseEntityId(RACK_100)).toBe(RACK_100);
  });
});

describe("parseEntityId refuses", () => {
  it.each([
    ["", EntityIdSyntaxError, "empty"],
    [" 1", EntityIdSyntaxError, "whitespace"],
    ["1\n", EntityIdSyntaxError, "whitespace"],
    ["1 2", EntityIdSyntaxError, "syntax"],
    ["+1", EntityIdSyntaxError, "sign"],
    ["-1", EntityIdRangeError, "negative"],
    ["-0x1", EntityIdRangeError, "negative"],
    ["1.5", EntityIdSyntaxError, "not_integer"],
    ["1.0", EntityIdSyntaxError, "not_integer"],
    ["1e3", EntityIdSyntaxError, "not_integer"],
    [".5", EntityIdSyntaxError, "not_integer"],
    ["007", EntityIdSyntaxError, "leading_zero"],
    ["18446744073709551616", EntityIdRangeError, "too_large"],
    ["99999999999999999999999999", EntityIdRangeError, "too_large"],
    ["0x", EntityIdSyntaxError, "hex_digits"],
    ["0x00000000000000001", EntityIdSyntaxError, "hex_digits"],
    ["0x1g", EntityIdSyntaxError, "syntax"],
    ["0x-1", EntityIdSyntaxError, "syntax"],
    ["abc", EntityIdSyntaxError, "syntax"],
    ["NaN", EntityIdSyntaxError, "syntax"],
    ["Infinity", EntityIdSyntaxError, "syntax"],
    ["1n", EntityIdSyntaxError, "syntax"],
    ["０", EntityIdSyntaxError, "syntax"],
  ] as const)("%j as %s (%s)", (text, kind, problem) => {
    const error = parseError(text);
    expect(error).toBeInstanceOf(kind);
    expect(error.problem).toBe(problem);
    expect(error.field).toBe("input");
    expect(error.value).toBe(text);
    expect(error.message).toContain(JSON.stringify(text).slice(0, 20));
  });

  it("refuses bigints out of range and values that are not text", () => {
    expect(parseError(-1n)).toMatchObject({ field: "id", problem: "negative" });
    expect(parseError(2n ** 64n)).toMatchObject({ field: "id", problem: "too_large" });
    expect(parseError(42)).toMatchObject({ field: "input", problem: "not_text" });
    expect(parseError(null)).toMatchObject({ field: "input", problem: "not_text" });
  });

  it("keeps a huge input out of the message", () => {
    const error = parseError("9".repeat(100_000));
    expect(error.problem).toBe("too_large");
    expect(error.message.length).toBeLessThan(200);
  });
});

describe("parseEntityId options", () => {
  it("checks the expected types", () => {
    expect(parseEntityId("0x0300640000000000", { types: [EntityType.Rack] })).toBe(RACK_100);
    expect(parseError("0x0300640000000000", { types: [EntityType.Mixer] })).toMatchObject({
      field: "type_id",
      problem: "unexpected_type",
    });
  });

  it("checks node ids: node type, MachineID 1..65535, sequence 0", () => {
    expect(parseEntityId(RACK_100, { node: true })).toBe(RACK_100);
    expect(parseError("0x0300000000000000", { node: true })).toMatchObject({ field: "machine_id" });
    expect(parseError("0x0300640000000001", { node: true })).toMatchObject({ field: "sequence" });
    expect(parseError("0x0400640000000000", { node: true })).toMatchObject({ field: "type_id" });
  });
});

describe("tryParseEntityId and formatEntityIdHex", () => {
  it("answers undefined instead of throwing", () => {
    expect(tryParseEntityId("1.5")).toBeUndefined();
    expect(tryParseEntityId({})).toBeUndefined();
    expect(tryParseEntityId("42")).toBe(42n);
  });

  it("pads hex to 16 digits", () => {
    expect(formatEntityIdHex(1n)).toBe("0x0000000000000001");
    expect(() => formatEntityIdHex(-1n)).toThrow(EntityIdRangeError);
  });
});
