// Tests of the error classes: one base, distinct stable codes, names that match the class, causes kept.

import { describe, expect, test } from "vitest";
import {
  PASSPORT_ERROR_CODES,
  PassportError,
  PassportExpiredError,
  PassportFormatError,
  PassportKeyError,
  PassportKeyIdMismatchError,
  PassportKeyPermissionError,
  PassportMalformedError,
  PassportNameMismatchError,
  PassportNotYetValidError,
  PassportRackKeyMismatchError,
  PassportSignatureInvalidError,
  SealedReplyError,
  StateFluxError,
} from "./errors.js";

const now = new Date("2025-03-01T00:00:00.000Z");
const cause = new Error("root cause");
const samples: [string, PassportError][] = [
  ["PassportMalformedError", new PassportMalformedError({ field: "sig", detail: "short", cause })],
  ["PassportFormatError", new PassportFormatError({ format: "x", version: 2 })],
  ["PassportKeyIdMismatchError", new PassportKeyIdMismatchError({ expected: "a", actual: "b" })],
  ["PassportSignatureInvalidError", new PassportSignatureInvalidError({ kid: "k" })],
  ["PassportRackKeyMismatchError", new PassportRackKeyMismatchError({ expected: "a", actual: "b" })],
  ["PassportNameMismatchError", new PassportNameMismatchError({ expected: "a", actual: "b" })],
  ["PassportExpiredError", new PassportExpiredError({ expiresAt: now, now })],
  ["PassportNotYetValidError", new PassportNotYetValidError({ issuedAt: now, now })],
  ["PassportKeyError", new PassportKeyError({ reason: "garbled", detail: "d", path: "/k", cause })],
  ["PassportKeyPermissionError", new PassportKeyPermissionError({ path: "/k", mode: 0o644 })],
  ["StateFluxError", new StateFluxError({ path: "/s", reason: "truncated", detail: "d", cause })],
  ["SealedReplyError", new SealedReplyError({ reason: "unreadable", message: "m", cause })],
];

describe("passport errors", () => {
  test.each(samples)("%s is a PassportError and an Error named after its class", (name, error) => {
    expect(error).toBeInstanceOf(PassportError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(Object.values(PASSPORT_ERROR_CODES)).toContain(error.code);
  });

  test("every class has its own code", () => {
    expect(new Set(samples.map(([, e]) => e.code)).size).toBe(samples.length);
  });

  test("the permission error is also a key error, with its mode in octal in the message", () => {
    const error = new PassportKeyPermissionError({ path: "/k", mode: 0o644 });
    expect(error).toBeInstanceOf(PassportKeyError);
    expect(error.message).toContain("mode 0644");
  });

  test("causes are kept", () => {
    for (const [, error] of samples.filter(([, e]) => e.cause !== undefined)) expect(error.cause).toBe(cause);
  });
});
