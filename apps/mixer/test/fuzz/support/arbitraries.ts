// Hostile inputs shared by the fuzz files: strings that look like SQL, subject wildcards, traversal, unicode, and
// JSON that is too big, too deep or of the wrong type.
import fc from "fast-check";

/** Strings an attacker would try first. */
export const NASTY_STRINGS: readonly string[] = [
  "",
  " ",
  "'; DROP TABLE registry;--",
  '"; DELETE FROM registry WHERE 1=1;--',
  "rack' OR '1'='1",
  "') UNION SELECT * FROM audit_events--",
  "*",
  ">",
  "a.b",
  "fluxrig.>",
  "fluxrig.event.heartbeat.*",
  "..",
  "../..",
  "..%2F..",
  "%2e%2e",
  "%2e%2e%2f%2e%2e",
  "..\\..\\windows",
  "/etc/passwd",
  "%00",
  "\u0000",
  "\r\nX-Injected: 1",
  "RACK-UPPER",
  "-leading-hyphen",
  "trailing-hyphen-",
  "ráck-ünïcode",
  "ラック",
  "🦊",
  "\u202e\u0000\ufeff",
  "__proto__",
  "constructor",
  "prototype",
  "0",
  "-1",
  "18446744073709551616",
  "99999999999999999999999999",
  "0x",
  "0xZZ",
  "0x10000000000000000",
  "1e3",
  "NaN",
  "null",
  "undefined",
  "true",
  "{}",
  "[]",
  "a".repeat(64),
  "a".repeat(10_000),
];

/** One of the nasty strings, or a random one (full unicode or arbitrary characters), sometimes long. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...NASTY_STRINGS), fc.string({ maxLength: 10 }))
      .map(([a, b]) => `${a}${b}`),
  },
);

/** JSON nested `depth` deep: arrays, objects, or a mix. */
export function nested(depth: number, kind: "array" | "object" | "mixed", leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) {
    const asArray = kind === "array" || (kind === "mixed" && i % 2 === 0);
    v = asArray ? [v] : { a: v };
  }
  return v;
}

/** Text of JSON nested `depth` deep, built without recursion (JSON.stringify would recurse). */
export function nestedText(depth: number, open = "[", close = "]"): string {
  return `${open.repeat(depth)}${close.repeat(depth)}`;
}

/** Any value of the wrong type or shape for a field: numbers, bools, null, arrays, objects, deep JSON. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.integer(),
      fc.double(),
      fc.constantFrom(-1, 0, 2 ** 53, -(2 ** 53), 1e308, -0),
      fc.boolean(),
      fc.constant(null),
    ),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 1, max: 200 }),
        fc.constantFrom("array", "object", "mixed") as fc.Arbitrary<"array" | "object" | "mixed">,
      )
      .map(([d, k]) => nested(d, k)),
  },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) },
);

/** Raw bytes: random, random UTF-8 text, JSON-ish text, or a JSON value of the wrong kind. */
export const rawBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(s)) },
  {
    weight: 3,
    arbitrary: fc.jsonValue({ maxDepth: 5 }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 33, max: 3000 })
      .map((d) => new TextEncoder().encode(`{"v":1,"x":${nestedText(d)}}`)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("{", "[", '{"v":1,', '"'), fc.uint8Array({ maxLength: 64 }))
      .map(([p, tail]) => new Uint8Array([...new TextEncoder().encode(p), ...tail])),
  },
);

/**
 * What to send past the Mixer's limits: a message over its 64 KiB cap (`size`, in bytes), or JSON nested deeper
 * than its depth limit of 32 (`depth`, in levels).
 */
export const oversizedOrDeep: fc.Arbitrary<{ kind: "size" | "depth"; n: number }> = fc.oneof(
  fc.integer({ min: 64 * 1024 + 1, max: 96 * 1024 }).map((n) => ({ kind: "size" as const, n })),
  fc.integer({ min: 33, max: 30_000 }).map((n) => ({ kind: "depth" as const, n })),
);

/** A field path into a message, e.g. `["stats", "cpu", "host_pct"]`, with a value to put there or `delete`. */
export interface Mutation {
  path: string[];
  value: unknown;
  del: boolean;
}

/** Sets or deletes the value at `path` in a deep copy of `msg`. Creates missing objects along the way. */
export function mutate<T extends object>(msg: T, m: Mutation): Record<string, unknown> {
  const copy = structuredClone(msg) as Record<string, unknown>;
  let at: Record<string, unknown> = copy;
  for (const key of m.path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  const last = m.path[m.path.length - 1]!;
  if (m.del) delete at[last];
  else
    Object.defineProperty(at, last, { value: m.value, enumerable: true, writable: true, configurable: true });
  return copy;
}
