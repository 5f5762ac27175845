// Opens a stopped Mixer's DuckDB file to look at what it really wrote (the Mixer holds the file lock while it runs).
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";

export type Row = Record<string, unknown>;

/** Runs queries against `<dataDir>/registry.duckdb` and closes it again. */
export async function readRegistry<T>(
  dataDir: string,
  fn: (q: (sql: string) => Promise<Row[]>) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(join(dataDir, "registry.duckdb"));
  const conn = await instance.connect();
  try {
    return await fn(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Row[]);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
