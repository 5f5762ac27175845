// Argument checks: what each accepts and refuses, as the API would, before anything is sent.
import { generateKeyPair, publicKeyToBase64url } from "@fluxrig/passport";
import { InvalidArgumentError } from "commander";
import { describe, expect, test } from "vitest";
import {
  parseLimit,
  parsePattern,
  parsePrefix,
  parsePublicKey,
  parseRackName,
  parseReason,
  parseRef,
  parseSeq,
  parseTimeout,
} from "./arg-parsers.js";

describe("parseRef", () => {
  test.each(["rack-nyc-01", "216282733276561408", "0x0300640000000000", "0x3", "a"])("accepts %s", (ref) => {
    expect(parseRef(ref)).toBe(ref);
  });
  test.each(["Rack-1", "rack_1", "-rack", "rack-", "0xABCDEF0123456789A", "a/b", "", "x".repeat(64)])(
    "refuses %j",
    (ref) => {
      expect(() => parseRef(ref)).toThrow(InvalidArgumentError);
    },
  );
});

test("parseRackName takes names only (a lowercase hex id is also a valid name, as the API says)", () => {
  expect(parseRackName("rack-nyc-01")).toBe("rack-nyc-01");
  expect(parseRef("0xABC")).toBe("0xABC");
  expect(() => parseRackName("0xABC")).toThrow(/Rack name/);
});

test("parseLimit is a whole number 1..1000", () => {
  expect(parseLimit("1")).toBe(1);
  expect(parseLimit("1000")).toBe(1000);
  for (const bad of ["0", "1001", "-1", "1.5", "ten", ""]) expect(() => parseLimit(bad)).toThrow(/1 to 1000/);
});

test("parsePattern and parsePrefix follow the API's character sets", () => {
  expect(parsePattern("rack-nyc-*")).toBe("rack-nyc-*");
  expect(parsePattern("rack-??")).toBe("rack-??");
  expect(() => parsePattern("rack.*")).toThrow(/glob/);
  expect(parsePrefix("rack-")).toBe("rack-");
  expect(() => parsePrefix("Rack")).toThrow(/start of a Rack name/);
});

test("parseTimeout takes durations or seconds, 1ms..10m", () => {
  expect(parseTimeout("10s")).toBe(10_000);
  expect(parseTimeout("30")).toBe(30_000);
  expect(parseTimeout("250ms")).toBe(250);
  expect(() => parseTimeout("11m")).toThrow(/1ms to 10m/);
  expect(() => parseTimeout("0")).toThrow(/1ms to 10m/);
  expect(() => parseTimeout("soon")).toThrow(/Expected a duration/);
});

test("parsePublicKey wants a canonical raw Ed25519 key", () => {
  const key = publicKeyToBase64url(generateKeyPair().publicKey);
  expect(parsePublicKey(key)).toBe(key);
  expect(() => parsePublicKey(`${key}=`)).toThrow(/base64url/);
  expect(() => parsePublicKey("abc")).toThrow(/43 characters/);
});

test("parseReason and parseSeq", () => {
  expect(parseReason("ticket OPS-42")).toBe("ticket OPS-42");
  expect(() => parseReason("x".repeat(1025))).toThrow(/1024/);
  expect(parseSeq("17")).toBe("17");
  expect(() => parseSeq("-1")).toThrow(/seq/);
});
