// Tests of strict base64url: every byte string has exactly one accepted text.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { decodeBase64url, encodeBase64url } from "./base64url.js";

describe("base64url", () => {
  test("decode inverts encode for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(decodeBase64url(encodeBase64url(bytes))).toEqual(Buffer.from(bytes));
      }),
    );
  });

  test("any accepted text is the encoding of what it decodes to", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const bytes = decodeBase64url(text);
        if (bytes !== undefined) expect(encodeBase64url(bytes)).toBe(text);
      }),
    );
  });

  test("encodes a view of a larger buffer without its neighbours", () => {
    const backing = new Uint8Array([1, 2, 3, 4, 5]);
    expect(encodeBase64url(backing.subarray(1, 3))).toBe(Buffer.from([2, 3]).toString("base64url"));
  });

  test.each(["-_8=", "-_9", "+/8", "-_ 8", "A", "AB\n"])("refuses %j", (text) => {
    expect(decodeBase64url(text)).toBeUndefined();
  });
});
