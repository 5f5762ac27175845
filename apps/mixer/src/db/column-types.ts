// Drizzle column types for DuckDB types the pg dialect does not know: UBIGINT, USMALLINT, TIMESTAMP, JSON.
//
// Through the pg-proxy driver drizzle hands `toDriver` results to our callback as bind values, and gives
// `fromDriver` exactly what @duckdb/node-api returned: bigint for UBIGINT, number for USMALLINT,
// DuckDBTimestampValue for TIMESTAMP and text for JSON.
import type { DuckDBTimestampValue } from "@duckdb/node-api";
import { customType } from "drizzle-orm/pg-core";
import { fromJsonText, fromTimestamp, type JsonObject, toJsonText, toTimestamp } from "./duckdb-values.js";

/** UBIGINT <-> bigint: entity ids use all 64 bits, so they never pass through a JS number. */
export const ubigint = customType<{ data: bigint; driverData: bigint }>({
  dataType: () => "UBIGINT",
  // Bound as HUGEINT by the client and cast by DuckDB to the column's UBIGINT, which refuses anything out of range.
  toDriver: (value) => value,
  fromDriver: (value) => BigInt(value),
});

/** USMALLINT <-> number (type ids and MachineIDs, 0..65535). */
export const usmallint = customType<{ data: number; driverData: number }>({
  dataType: () => "USMALLINT",
  toDriver: (value) => value,
  fromDriver: (value) => Number(value),
});

/** TIMESTAMP (UTC, microseconds) <-> Date. */
export const timestamp = customType<{ data: Date; driverData: DuckDBTimestampValue }>({
  dataType: () => "TIMESTAMP",
  toDriver: (value) => toTimestamp(value),
  fromDriver: (value) => fromTimestamp(value),
});

/** JSON <-> a JSON object (attributes, stats, audit details, scenario specs). */
export const jsonObject = customType<{ data: JsonObject; driverData: string }>({
  dataType: () => "JSON",
  toDriver: (value) => toJsonText(value, "json"),
  fromDriver: (value) => fromJsonText(value) as JsonObject,
});
