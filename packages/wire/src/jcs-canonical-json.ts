// JSON canonicalised as RFC 8785 (JCS) does: the one byte form signatures cover (keys sorted, no whitespace).
import { WireEncodeError } from "./wire-error.js";

/** Deeper values are refused; wire messages are far shallower, so this only stops runaway input. */
const MAX_CANONICAL_DEPTH = 64;

function fail(message: string, cause?: unknown): never {
  throw new WireEncodeError({ code: "malformed", message: `cannot canonicalise: ${message}`, cause });
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function write(value: unknown, depth: number, out: string[]): void {
  switch (typeof value) {
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(value)) fail(`non-finite number ${value}`);
      out.push(JSON.stringify(value));
      return;
    case "object":
      break;
    default:
      fail(`a ${typeof value} has no JSON form`);
  }
  if (value === null) {
    out.push("null");
    return;
  }
  if (depth >= MAX_CANONICAL_DEPTH) fail(`nested deeper than ${MAX_CANONICAL_DEPTH}`);
  if (Array.isArray(value)) {
    out.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      write(value[i], depth + 1, out);
    }
    out.push("]");
    return;
  }
  if (!isPlainObject(value)) fail(`${Object.prototype.toString.call(value)} is not a plain object`);
  // Default sort compares UTF-16 code units, as RFC 8785 (JCS) does.
  const keys = Object.keys(value).sort();
  out.push("{");
  let first = true;
  for (const key of keys) {
    const item = value[key];
    // Absent and undefined are the same field, as in JSON.stringify.
    if (item === undefined) continue;
    if (!first) out.push(",");
    first = false;
    out.push(JSON.stringify(key), ":");
    write(item, depth + 1, out);
  }
  out.push("}");
}

/**
 * The canonical JSON text of a JSON-compatible value: object keys sorted recursively by UTF-16 code units,
 * no whitespace, strings and numbers as `JSON.stringify` writes them, `undefined` object fields left out.
 * For the values wire messages carry this equals RFC 8785 (JCS). Throws `WireEncodeError` for anything
 * without a JSON form (bigint, function, NaN, Date, Map, cycles via the depth cap).
 *
 * @example
 * jcsCanonicalJson({ b: 1, a: [true, { d: null, c: "x" }] }); // '{"a":[true,{"c":"x","d":null}],"b":1}'
 */
export function jcsCanonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, 0, out);
  return out.join("");
}
