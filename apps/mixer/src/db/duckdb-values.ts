// Conversions between JS values and what @duckdb/node-api binds and returns (TIMESTAMP, UBIGINT, JSON text).
import { DuckDBTimestampValue, type DuckDBValue } from "@duckdb/node-api";
import { UnstorableValueError } from "./database-errors.js";

/** A JSON object as stored in a JSON column. */
export type JsonObject = Record<string, unknown>;

/**
 * A Date as a DuckDB TIMESTAMP (microseconds since the epoch, UTC). The store never lets DuckDB format or parse
 * time text, so no time zone setting can shift a value.
 */
export function toTimestamp(date: Date, field = "timestamp"): DuckDBTimestampValue {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new UnstorableValueError(field, "not a valid Date");
  return new DuckDBTimestampValue(BigInt(ms) * 1000n);
}

/** A DuckDB TIMESTAMP back to a Date (sub-millisecond digits are dropped: the store only writes whole ms). */
export function fromTimestamp(value: DuckDBValue): Date {
  if (!(value instanceof DuckDBTimestampValue)) {
    throw new TypeError(`expected a TIMESTAMP value, got ${describe(value)}`);
  }
  const micros = value.micros;
  // Floor, not truncation, so instants before 1970 land on the right millisecond too.
  const ms = micros >= 0n ? micros / 1000n : (micros - 999n) / 1000n;
  return new Date(Number(ms));
}

/** JSON text for a JSON column. Bigints become decimal strings (entity ids must never become doubles). */
export function toJsonText(value: unknown, field: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  } catch (error) {
    throw new UnstorableValueError(field, `not JSON-serializable (${(error as Error).message})`);
  }
  if (text === undefined) throw new UnstorableValueError(field, "not JSON-serializable");
  return text;
}

/** A JSON column's text parsed back; SQL NULL stays null. */
export function fromJsonText(value: DuckDBValue): unknown {
  if (value === null) return null;
  if (typeof value !== "string") throw new TypeError(`expected JSON text, got ${describe(value)}`);
  return JSON.parse(value) as unknown;
}

export function asBigInt(value: DuckDBValue): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  throw new TypeError(`expected an integer, got ${describe(value)}`);
}

/** An integer column as a JS number (BIGINT counters and seqs stay far below 2^53). */
export function asNumber(value: DuckDBValue): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  throw new TypeError(`expected a number, got ${describe(value)}`);
}

function describe(value: DuckDBValue): string {
  if (value === null) return "NULL";
  if (typeof value === "object") return value.constructor.name;
  return `${typeof value} ${String(value)}`;
}
