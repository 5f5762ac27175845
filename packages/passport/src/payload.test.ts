// Tests of the payload: canonical bytes, and the strict check refusing each kind of bad field.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { RACK_100_ENTITY_ID, samplePayload } from "../test/support/passport-fixtures.js";
import { PassportMalformedError } from "./errors.js";
import { generateKeyPair, publicKeyToBase64url } from "./keys.js";
import {
  checkPayload,
  decodePayloadBytes,
  encodePayload,
  PASSPORT_PAYLOAD_KEYS,
  type PassportPayload,
} from "./payload.js";

const rack = generateKeyPair();
const valid = samplePayload(rack.publicKey);

function malformedField(value: unknown): string {
  try {
    checkPayload(value);
  } catch (error) {
    expect(error).toBeInstanceOf(PassportMalformedError);
    return (error as PassportMalformedError).field;
  }
  throw new Error("expected checkPayload to refuse the payload");
}

describe("encodePayload", () => {
  test("writes the keys in the documented order with no whitespace, whatever the input order", () => {
    const shuffled = Object.fromEntries(Object.entries(valid).reverse()) as unknown as PassportPayload;
    const text = encodePayload(shuffled);
    expect(Object.keys(JSON.parse(text))).toEqual([...PASSPORT_PAYLOAD_KEYS]);
    expect(text).not.toMatch(/\s/);
    expect(text).toBe(encodePayload(valid));
  });

  test("round-trips through decodePayloadBytes for any valid payload", () => {
    const arbitrary = fc.record({
      cluster: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/\p{Cc}/u.test(s)),
      machine_id: fc.integer({ min: 1, max: 65535 }),
      type_id: fc.constantFrom(2, 3, 8),
      name: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/),
      status: fc.constantFrom("active" as const, "revoked" as const),
      issued: fc.integer({ min: 0, max: 4_000_000_000_000 }),
      ttl: fc.integer({ min: 1, max: 400 * 86_400_000 }),
      serial: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    });
    fc.assert(
      fc.property(arbitrary, (a) => {
        const entityId = (BigInt(a.type_id) << 56n) | (BigInt(a.machine_id) << 40n);
        const payload: PassportPayload = {
          cluster: a.cluster,
          entity_id: entityId.toString(),
          type_id: a.type_id,
          machine_id: a.machine_id,
          name: a.name,
          status: a.status,
          rack_public_key: publicKeyToBase64url(rack.publicKey),
          issued_at: new Date(a.issued).toISOString(),
          expires_at: new Date(a.issued + a.ttl).toISOString(),
          serial: a.serial,
        };
        const decoded = decodePayloadBytes(Buffer.from(encodePayload(payload), "utf8"));
        expect(decoded.payload).toEqual(payload);
        expect(decoded.expiresAtMs - decoded.issuedAtMs).toBe(a.ttl);
      }),
    );
  });
});

describe("checkPayload refuses", () => {
  test.each<[string, Record<string, unknown>, string]>([
    ["an unknown field", { extra: 1 }, "extra"],
    ["a missing cluster", { cluster: undefined }, "cluster"],
    ["an empty cluster", { cluster: "" }, "cluster"],
    ["an overlong cluster", { cluster: "c".repeat(254) }, "cluster"],
    ["a cluster with control characters", { cluster: "a\nb" }, "cluster"],
    ["an entity id as a number", { entity_id: Number(RACK_100_ENTITY_ID) }, "entity_id"],
    ["an entity id in hex", { entity_id: "0x0300640000000000" }, "entity_id"],
    ["an entity id with a leading zero", { entity_id: "0216282733276561408" }, "entity_id"],
    ["an entity id over 2^64-1", { entity_id: "18446744073709551616" }, "entity_id"],
    ["an entity id of another machine", { entity_id: "216283832788189184" }, "entity_id"],
    ["an entity id with a sequence", { entity_id: "216282733276561409" }, "entity_id"],
    ["a type id that is not a node", { type_id: 4, entity_id: "288340327314489344" }, "type_id"],
    ["a fractional type id", { type_id: 3.5 }, "type_id"],
    ["machine id 0", { machine_id: 0, entity_id: "216172782113783808" }, "machine_id"],
    ["machine id 65536", { machine_id: 65536 }, "machine_id"],
    ["machine id as a string", { machine_id: "100" }, "machine_id"],
    ["an uppercase name", { name: "Rack-1" }, "name"],
    ["a name with a trailing dash", { name: "rack-" }, "name"],
    ["a 64-character name", { name: "r".repeat(64) }, "name"],
    ["a name with a dot", { name: "rack.1" }, "name"],
    ["an unknown status", { status: "pending" }, "status"],
    ["a short rack key", { rack_public_key: Buffer.alloc(31).toString("base64url") }, "rack_public_key"],
    ["a rack key in standard base64", { rack_public_key: `${"+".repeat(42)}A` }, "rack_public_key"],
    ["a time with an offset", { issued_at: "2025-03-01T12:00:00+00:00" }, "issued_at"],
    ["a time without seconds", { issued_at: "2025-03-01T12:00Z" }, "issued_at"],
    ["an impossible date", { issued_at: "2025-02-30T12:00:00.000Z" }, "issued_at"],
    ["February 29th of a common year", { issued_at: "2025-02-29T00:00:00.000Z" }, "issued_at"],
    ["hour 24", { issued_at: "2025-03-01T24:00:00.000Z" }, "issued_at"],
    ["a leap second", { expires_at: "2025-12-31T23:59:60.000Z" }, "expires_at"],
    ["a time before 1970", { issued_at: "1969-12-31T23:59:59.999Z" }, "issued_at"],
    ["a two-digit-era year", { issued_at: "0099-03-01T12:00:00.000Z" }, "issued_at"],
    ["a time as epoch millis", { expires_at: 1_743_422_400_000 }, "expires_at"],
    ["expiry equal to issue", { expires_at: "2025-03-01T12:00:00.000Z" }, "expires_at"],
    ["expiry before issue", { expires_at: "2025-02-01T12:00:00.000Z" }, "expires_at"],
    ["serial 0", { serial: 0 }, "serial"],
    ["a negative serial", { serial: -1 }, "serial"],
    ["an unsafe serial", { serial: 2 ** 53 }, "serial"],
  ])("%s", (_label, change, field) => {
    expect(malformedField({ ...valid, ...change })).toBe(field);
  });

  test.each([null, [], "payload", 42])("a non-object payload %j", (value) => {
    expect(malformedField(value)).toBe("payload");
  });

  test("accepts February 29th of a leap year and reads the instant exactly", () => {
    const checked = checkPayload({ ...valid, issued_at: "2024-02-29T23:59:59.123Z" });
    expect(checked.issuedAtMs).toBe(Date.parse("2024-02-29T23:59:59.123Z"));
  });

  test("accepts times without milliseconds and keeps them as written", () => {
    const p = { ...valid, issued_at: "2025-03-01T12:00:00Z" };
    expect(checkPayload(p).payload.issued_at).toBe("2025-03-01T12:00:00Z");
  });
});

describe("decodePayloadBytes refuses non-canonical bytes", () => {
  const canonical = encodePayload(valid);

  test.each<[string, string]>([
    ["whitespace", JSON.stringify(valid, null, 1)],
    ["another key order", JSON.stringify(Object.fromEntries(Object.entries(valid).reverse()))],
    ["a duplicate key", `${canonical.slice(0, -1)},"serial":${valid.serial}}`],
    ["an escaped character that need not be", canonical.replace('"cluster"', '"\\u0063luster"')],
  ])("%s", (_label, text) => {
    expect(() => decodePayloadBytes(Buffer.from(text, "utf8"))).toThrow(/canonical/);
  });

  test("invalid UTF-8 inside a string", () => {
    const bytes = Buffer.from(encodePayload({ ...valid, cluster: "ab" }), "utf8");
    bytes[bytes.indexOf("ab") + 1] = 0xff;
    expect(() => decodePayloadBytes(bytes)).toThrow(PassportMalformedError);
  });

  test("text that is not JSON", () => {
    expect(() => decodePayloadBytes(Buffer.from(canonical.slice(0, -1)))).toThrow(/not JSON/);
  });
});
