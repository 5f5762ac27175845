// Keeps the most recently used prepared statements, so a hot query is parsed and planned once, not per call.
import type { DuckDBConnection, DuckDBPreparedStatement } from "@duckdb/node-api";

/** A least-recently-used set of prepared statements on one connection, keyed by SQL text. */
export class PreparedStatementCache {
  readonly #connection: DuckDBConnection;
  readonly #capacity: number;
  readonly #statements = new Map<string, DuckDBPreparedStatement>();

  constructor(connection: DuckDBConnection, capacity: number) {
    this.#connection = connection;
    this.#capacity = Math.max(1, capacity);
  }

  /** The statement for `sql`, prepared on first use. Callers must not use it concurrently (the Db queue sees to it). */
  async get(sql: string): Promise<DuckDBPreparedStatement> {
    const cached = this.#statements.get(sql);
    if (cached) {
      // Map keeps insertion order; re-inserting marks this entry as the most recently used.
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    const prepared = await this.#connection.prepare(sql);
    this.#statements.set(sql, prepared);
    while (this.#statements.size > this.#capacity) {
      const [oldestSql, oldest] = this.#statements.entries().next().value as [
        string,
        DuckDBPreparedStatement,
      ];
      this.#statements.delete(oldestSql);
      oldest.destroySync();
    }
    return prepared;
  }

  get size(): number {
    return this.#statements.size;
  }

  /** Destroys every cached statement (after DDL, and on close). */
  clear(): void {
    for (const statement of this.#statements.values()) statement.destroySync();
    this.#statements.clear();
  }
}
