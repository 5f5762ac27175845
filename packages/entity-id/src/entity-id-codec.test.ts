// SPEC §3 vectors and field validation of encodeEntityId, decodeEntityId and nodeEntityId.
import { describe, expect, it } from "vitest";
import { decodeEntityId, encodeEntityId, MAX_ENTITY_ID, nodeEntityId } from "./entity-id-codec.js";
import { EntityIdError, EntityIdRangeError } from "./entity-id-error.js";
import { formatEntityId, formatEntityIdHex } from "./entity-id-text.js";
import { EntityType, typeName } from "./entity-type.js";

const vectors = [
  {
    parts: { typeId: 3, machineId: 100, sequence: 0n },
    hex: "0x0300640000000000",
    dec: "216282733276561408",
  },
  { parts: { typeId: 2, machineId: 1, sequence: 0n }, hex: "0x0200010000000000", dec: "144116287587483648" },
  {
    parts: { typeId: 8, machineId: 65535, sequence: 0n },
    hex: "0x08ffff0000000000",
    dec: "648517246829723648",
  },
  {
    parts: { typeId: 4, machineId: 55, sequence: 2n ** 40n - 1n },
    hex: "0x040037ffffffffff",
    dec: "288291948802867199",
  },
];

describe("SPEC §3 vectors", () => {
  it.each(vectors)("$hex encodes, decodes and formats", ({ parts, hex, dec }) => {
    const id = encodeEntityId(parts);
    expect(formatEntityIdHex(id)).toBe(hex);
    expect(formatEntityId(id)).toBe(dec);
    expect(id).toBe(BigInt(hex));
    expect(decodeEntityId(id)).toEqual(parts);
  });

  it("builds node ids with sequence 0", () => {
    expect(nodeEntityId(EntityType.Rack, 100)).toBe(216282733276561408n);
    expect(nodeEntityId(EntityType.Mixer, 1)).toBe(0x0200010000000000n);
    expect(nodeEntityId(EntityType.SnakeTunnel, 65535)).toBe(0x08ffff0000000000n);
  });
});

describe("encodeEntityId refuses fields out of range", () => {
  const cases: [string, Parameters<typeof encodeEntityId>[0], string][] = [
    ["type 256", { typeId: 256, machineId: 1, sequence: 0n }, "type_id"],
    ["type -1", { typeId: -1, machineId: 1, sequence: 0n }, "type_id"],
    ["type 1.5", { typeId: 1.5, machineId: 1, sequence: 0n }, "type_id"],
    ["type NaN", { typeId: Number.NaN, machineId: 1, sequence: 0n }, "type_id"],
    ["machine 65536", { typeId: 3, machineId: 65536, sequence: 0n }, "machine_id"],
    ["machine -1", { typeId: 3, machineId: -1, sequence: 0n }, "machine_id"],
    ["sequence 2^40", { typeId: 4, machineId: 1, sequence: 2n ** 40n }, "sequence"],
    ["sequence -1", { typeId: 4, machineId: 1, sequence: -1n }, "sequence"],
    // A number where a bigint belongs is a caller bug we report rather than coerce.
    ["sequence as number", { typeId: 4, machineId: 1, sequence: 1 as unknown as bigint }, "sequence"],
  ];
  it.each(cases)("%s", (_label, parts, field) => {
    const thrown = (() => {
      try {
        encodeEntityId(parts);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(EntityIdRangeError);
    expect(thrown).toBeInstanceOf(EntityIdError);
    expect((thrown as EntityIdError).field).toBe(field);
    expect((thrown as Error).message).toContain(field);
  });
});

describe("nodeEntityId", () => {
  it("refuses MachineID 0 and 65536", () => {
    expect(() => nodeEntityId(EntityType.Rack, 0)).toThrow(expect.objectContaining({ field: "machine_id" }));
    expect(() => nodeEntityId(EntityType.Rack, 65536)).toThrow(
      expect.objectContaining({ field: "machine_id" }),
    );
  });

  it("refuses types that are not nodes", () => {
    expect(() => nodeEntityId(EntityType.Gear, 5)).toThrow(
      expect.objectContaining({ field: "type_id", problem: "not_node_type" }),
    );
  });
});

describe("decodeEntityId", () => {
  it("keeps unknown type values", () => {
    const id = encodeEntityId({ typeId: 200, machineId: 7, sequence: 9n });
    expect(decodeEntityId(id)).toEqual({ typeId: 200, machineId: 7, sequence: 9n });
    expect(typeName(200)).toBe("unknown(200)");
  });

  it("decodes the extremes", () => {
    expect(decodeEntityId(0n)).toEqual({ typeId: 0, machineId: 0, sequence: 0n });
    expect(decodeEntityId(MAX_ENTITY_ID)).toEqual({
      typeId: 255,
      machineId: 65535,
      sequence: 2n ** 40n - 1n,
    });
  });

  it("refuses ids outside 0..2^64-1", () => {
    expect(() => decodeEntityId(-1n)).toThrow(expect.objectContaining({ field: "id", problem: "negative" }));
    expect(() => decodeEntityId(MAX_ENTITY_ID + 1n)).toThrow(
      expect.objectContaining({ field: "id", problem: "too_large" }),
    );
  });
});
