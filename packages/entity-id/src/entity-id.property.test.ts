// Property tests: the codec and the text forms are exact inverses over the full ranges, and bad input is refused.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeEntityId, encodeEntityId, MAX_ENTITY_ID, MAX_SEQUENCE } from "./entity-id-codec.js";
import { EntityIdError } from "./entity-id-error.js";
import { formatEntityId, formatEntityIdHex, parseEntityId } from "./entity-id-text.js";

const parts = fc.record({
  typeId: fc.integer({ min: 0, max: 255 }),
  machineId: fc.integer({ min: 0, max: 65535 }),
  sequence: fc.bigInt({ min: 0n, max: MAX_SEQUENCE }),
});
const anyId = fc.bigInt({ min: 0n, max: MAX_ENTITY_ID });

function refusal(run: () => unknown): EntityIdError | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof EntityIdError) return error;
    throw error;
  }
  return undefined;
}

describe("entity id properties", () => {
  it("decode(encode(parts)) is the identity", () => {
    fc.assert(
      fc.property(parts, (p) => {
        expect(decodeEntityId(encodeEntityId(p))).toEqual(p);
      }),
    );
  });

  it("encode(decode(id)) is the identity", () => {
    fc.assert(
      fc.property(anyId, (id) => {
        expect(encodeEntityId(decodeEntityId(id))).toBe(id);
      }),
    );
  });

  it("parse(format(id)) is the identity for decimal and hex", () => {
    fc.assert(
      fc.property(anyId, (id) => {
        expect(parseEntityId(formatEntityId(id))).toBe(id);
        const hex = formatEntityIdHex(id);
        expect(hex).toMatch(/^0x[0-9a-f]{16}$/);
        expect(parseEntityId(hex)).toBe(id);
        expect(parseEntityId(hex.toUpperCase().replace("0X", "0x"))).toBe(id);
      }),
    );
  });

  it("refuses every id outside 0..2^64-1, as bigint and as text", () => {
    const outside = fc.oneof(
      fc.bigInt({ min: -(2n ** 80n), max: -1n }),
      fc.bigInt({ min: MAX_ENTITY_ID + 1n, max: 2n ** 80n }),
    );
    fc.assert(
      fc.property(outside, (id) => {
        expect(refusal(() => parseEntityId(id))?.field).toBe("id");
        expect(refusal(() => parseEntityId(id.toString()))?.field).toBe("input");
      }),
    );
  });

  it("refuses every field out of range, naming the field", () => {
    const badField = fc.oneof(
      fc.record({
        field: fc.constant("type_id"),
        value: fc.oneof(fc.integer({ min: 256 }), fc.integer({ max: -1 }), fc.double({ noInteger: true })),
      }),
      fc.record({
        field: fc.constant("machine_id"),
        value: fc.oneof(fc.integer({ min: 65536 }), fc.integer({ max: -1 }), fc.double({ noInteger: true })),
      }),
      fc.record({
        field: fc.constant("sequence"),
        value: fc.oneof(fc.bigInt({ min: MAX_SEQUENCE + 1n }), fc.bigInt({ max: -1n })),
      }),
    );
    fc.assert(
      fc.property(parts, badField, (p, bad) => {
        const key =
          bad.field === "type_id" ? "typeId" : bad.field === "machine_id" ? "machineId" : "sequence";
        const error = refusal(() => encodeEntityId({ ...p, [key]: bad.value }));
        expect(error?.field).toBe(bad.field);
      }),
    );
  });

  it("refuses arbitrary text that is not a canonical id form, never with a foreign error", () => {
    const canonical = /^(0|[1-9][0-9]{0,19}|0[xX][0-9a-fA-F]{1,16})$/;
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
        const error = refusal(() => parseEntityId(text));
        if (canonical.test(text) && BigInt(text) <= MAX_ENTITY_ID) expect(error).toBeUndefined();
        else expect(error?.field).toBe("input");
      }),
    );
  });

  it("refuses decorated forms of valid ids", () => {
    const decorate = fc.constantFrom(
      (s: string) => ` ${s}`,
      (s: string) => `${s}\t`,
      (s: string) => `+${s}`,
      (s: string) => `-${s}`,
      (s: string) => `${s}.0`,
      (s: string) => `${s}e0`,
      (s: string) => `0${s}`,
    );
    fc.assert(
      fc.property(anyId, decorate, (id, wrap) => {
        expect(refusal(() => parseEntityId(wrap(formatEntityId(id))))?.field).toBe("input");
      }),
    );
  });
});
