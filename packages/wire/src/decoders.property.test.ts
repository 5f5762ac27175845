// Fuzzing every decoder: never throws, always ok or a typed error; size refused before parsing; depth refused.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { generateKeyPair, messageKinds, sampleHeartbeat } from "../test/message-fixtures.js";
import { DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_MESSAGE_BYTES, type DecodeResult } from "./bounded-json.js";
import { decodeHeartbeat, decodeHeartbeatValue } from "./decoders.js";
import { WireDecodeError } from "./wire-error.js";

const rack = generateKeyPair();
const cluster = generateKeyPair();

const decoders = messageKinds({ rack, cluster });

const REASONS = ["too_large", "malformed", "depth", "schema"];

/** Calls the decoder, failing the property on a throw, and checks the result's shape. */
function decodeSafely(decode: (d: Uint8Array | string) => DecodeResult<unknown>, input: Uint8Array | string) {
  const result = decode(input);
  if (result.ok) return result;
  expect(result.error).toBeInstanceOf(WireDecodeError);
  expect(REASONS).toContain(result.error.reason);
  expect(typeof result.error.message).toBe("string");
  return result;
}

/** Replaces one field, at any depth, of a valid message with arbitrary JSON. */
function mutate(value: unknown, path: number[], replacement: unknown): unknown {
  if (value === null || typeof value !== "object" || path.length === 0) return replacement;
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const key = keys[path[0]! % keys.length]!;
  const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as never) : { ...value };
  copy[key] = mutate((value as Record<string, unknown>)[key], path.slice(1), replacement);
  return copy;
}

describe.each(decoders)("$name decoder", ({ decode, schema, make: sample }) => {
  it("never throws for arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        decodeSafely(decode, bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("never throws for arbitrary text and JSON", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (t) => {
          decodeSafely(decode, t);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never throws for near-valid messages, and agrees with the uncompiled schema", () => {
    const base = sample();
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        fc.jsonValue({ maxDepth: 3 }),
        (path, junk) => {
          const candidate = mutate(base, path, junk);
          const result = decodeSafely(decode, JSON.stringify(candidate));
          const reference = schema.safeParse(JSON.parse(JSON.stringify(candidate)));
          expect(result.ok).toBe(reference.success);
          if (result.ok && reference.success) expect(result.value).toEqual(reference.data);
          if (!result.ok) expect(result.error.reason).toBe("schema");
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never throws for input that is neither bytes nor text", () => {
    for (const junk of [null, undefined, 42, {}, [], new ArrayBuffer(4)]) {
      const r = decode(junk as unknown as string);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.reason).toBe("malformed");
    }
  });

  it("refuses oversized input before parsing it", () => {
    // Not JSON at all: a parser would say malformed, so too_large proves the cap came first.
    const junk = `{${"x".repeat(DEFAULT_MAX_MESSAGE_BYTES)}`;
    for (const input of [junk, Buffer.from(junk)]) {
      const r = decode(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect([r.error.reason, r.error.code]).toEqual(["too_large", "too_large"]);
    }
    // Multi-byte text: fewer UTF-16 units than the cap, more bytes.
    const wide = "é".repeat(DEFAULT_MAX_MESSAGE_BYTES / 2 + 1);
    const r = decode(wide);
    expect(!r.ok && r.error.reason).toBe("too_large");
  });

  it("honours a smaller cap", () => {
    const bytes = Buffer.from(JSON.stringify(sample()));
    expect(decode(bytes, { maxBytes: bytes.length }).ok).toBe(true);
    const r = decode(bytes, { maxBytes: bytes.length - 1 });
    expect(!r.ok && r.error.reason).toBe("too_large");
  });

  it("refuses nesting deeper than the cap, but not brackets inside strings", () => {
    const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
    const over = decode(deep(DEFAULT_MAX_JSON_DEPTH + 1));
    expect(!over.ok && over.error.reason).toBe("depth");
    const at = decode(deep(DEFAULT_MAX_JSON_DEPTH));
    expect(!at.ok && at.error.reason).toBe("schema");
    const huge = decode(`{"a":${"[".repeat(60_000)}`);
    expect(!huge.ok && huge.error.reason).toBe("depth");
    const quoted = decode(JSON.stringify({ a: "[".repeat(100), b: '\\"[[[[' }));
    expect(!quoted.ok && quoted.error.reason).toBe("schema");
  });

  it("refuses invalid UTF-8 as malformed", () => {
    const r = decode(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    expect(!r.ok && r.error.reason).toBe("malformed");
  });
});

describe("decode errors", () => {
  it("name the message kind and the failing path", () => {
    const h = sampleHeartbeat();
    const r = decodeHeartbeat(JSON.stringify({ ...h, stats: { ...h.stats, uptime_s: -1 } }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe("heartbeat");
    expect(r.error.issues?.[0]?.path).toEqual(["stats", "uptime_s"]);
    expect(r.error.message).toMatch(/^heartbeat: stats\.uptime_s: /);
    expect(r.error.cause).toBeInstanceOf(z.ZodError);
  });
});

describe("decodeHeartbeatValue", () => {
  /** The hot-path form answers exactly what decodeHeartbeat answers, without the result object. */
  function agrees(input: Uint8Array | string) {
    const result = decodeHeartbeat(input);
    const value = decodeHeartbeatValue(input);
    if (result.ok) {
      expect(value).not.toBeInstanceOf(WireDecodeError);
      expect(value).toEqual(result.value);
    } else {
      expect(value).toBeInstanceOf(WireDecodeError);
      const error = value as WireDecodeError;
      expect([error.reason, error.code, error.message]).toEqual([
        result.error.reason,
        result.error.code,
        result.error.message,
      ]);
    }
  }

  it("agrees with decodeHeartbeat on valid, near-valid and arbitrary input", () => {
    const base = sampleHeartbeat();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          fc.string({ unit: "binary" }),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc
            .tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.jsonValue({ maxDepth: 3 }))
            .map(([path, junk]) => JSON.stringify(mutate(base, path, junk))),
          fc.constant(JSON.stringify(base)),
        ),
        agrees,
      ),
      { numRuns: 500 },
    );
  });

  it("agrees on oversized and too deep input", () => {
    agrees(`{${"x".repeat(DEFAULT_MAX_MESSAGE_BYTES)}`);
    agrees(`${"[".repeat(DEFAULT_MAX_JSON_DEPTH + 1)}${"]".repeat(DEFAULT_MAX_JSON_DEPTH + 1)}`);
  });
});
