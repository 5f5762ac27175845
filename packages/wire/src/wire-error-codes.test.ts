// The error code table is closed, complete and consistent with its HTTP statuses and the reply schema.
import { describe, expect, it } from "vitest";
import { WireErrorBodySchema } from "./hello-schemas.js";
import { WireDecodeError, WireError } from "./wire-error.js";
import {
  isWireErrorCode,
  WIRE_ERROR_CODE_LIST,
  WIRE_ERROR_CODES,
  WIRE_ERROR_HTTP_STATUS,
  type WireErrorCode,
} from "./wire-error-codes.js";

const REQUIRED: WireErrorCode[] = [
  "malformed",
  "too_large",
  "schema",
  "bad_signature",
  "stale",
  "replay",
  "name_taken",
  "rejected",
  "revoked",
  "registry_full",
  "too_many_pending",
  "unknown_rack",
  "passport_invalid",
  "not_found",
  "conflict",
  "unauthorized",
  "forbidden",
  "internal",
  "unavailable",
  "invalid_transition",
];

describe("WIRE_ERROR_CODES", () => {
  it("holds every agreed code, keyed by itself", () => {
    for (const code of REQUIRED) expect(WIRE_ERROR_CODES[code]).toBe(code);
    for (const [key, value] of Object.entries(WIRE_ERROR_CODES)) expect(key).toBe(value);
    expect([...WIRE_ERROR_CODE_LIST].sort()).toEqual(Object.keys(WIRE_ERROR_CODES).sort());
  });

  it("gives every code an HTTP error status", () => {
    expect(Object.keys(WIRE_ERROR_HTTP_STATUS).sort()).toEqual([...WIRE_ERROR_CODE_LIST].sort());
    for (const code of WIRE_ERROR_CODE_LIST) {
      const status = WIRE_ERROR_HTTP_STATUS[code];
      expect(status >= 400 && status <= 599).toBe(true);
    }
    expect(WIRE_ERROR_HTTP_STATUS.not_found).toBe(404);
    expect(WIRE_ERROR_HTTP_STATUS.unauthorized).toBe(401);
    expect(WIRE_ERROR_HTTP_STATUS.internal).toBe(500);
  });

  it("recognises codes and nothing else", () => {
    for (const code of WIRE_ERROR_CODE_LIST) expect(isWireErrorCode(code)).toBe(true);
    for (const other of ["", "MALFORMED", "toString", "__proto__", 1, null, undefined]) {
      expect(isWireErrorCode(other)).toBe(false);
    }
  });

  it("is what the error body schema accepts", () => {
    for (const code of WIRE_ERROR_CODE_LIST) {
      expect(WireErrorBodySchema.safeParse({ code, message: "x" }).success).toBe(true);
    }
    expect(WireErrorBodySchema.safeParse({ code: "nope", message: "x" }).success).toBe(false);
  });
});

describe("error classes", () => {
  it("map decode reasons to codes and keep their fields", () => {
    const cause = new Error("inner");
    const depth = new WireDecodeError({
      reason: "depth",
      kind: "heartbeat",
      message: "deep",
      bytes: 9,
      cause,
    });
    expect(depth).toBeInstanceOf(WireError);
    expect(depth.code).toBe("malformed");
    expect(depth.name).toBe("WireDecodeError");
    expect(depth.cause).toBe(cause);
    expect(depth.bytes).toBe(9);
    expect(new WireDecodeError({ reason: "too_large", kind: "heartbeat", message: "" }).code).toBe(
      "too_large",
    );
    expect(new WireDecodeError({ reason: "schema", kind: "heartbeat", message: "" }).code).toBe("schema");
  });
});
