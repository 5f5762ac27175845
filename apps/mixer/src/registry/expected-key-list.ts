// Expected keys (issue 16), like Salt's pre-accepted keys: a name that may only ever be adopted with one key. Loaded
// once at start, then changed only by the writer after a commit. The table `expected_keys` is the truth; every
// activation plan reads it through its stage, so no path (operator, scenario, token, auto_adopt) adopts another key.
import { asc } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import { expectedKeys } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";

export interface ExpectedKeyRecord {
  /** The Rack name. */
  name: string;
  /** `SHA256:` + base64, as `racks show` prints a key's fingerprint. */
  keyFingerprint: string;
  createdAt: Date;
  createdBy: string;
}

/** Reads of the expectations, for the list and for a batch's stage layered over it. */
export interface ExpectedKeyLookup {
  expectedKey(name: string): ExpectedKeyRecord | undefined;
  expectedKeyRecords(): Iterable<ExpectedKeyRecord>;
}

export class ExpectedKeyList implements ExpectedKeyLookup {
  readonly #byName = new Map<string, ExpectedKeyRecord>();

  static async load(db: Db): Promise<ExpectedKeyList> {
    const list = new ExpectedKeyList();
    const rows = await ormQuery(db.orm.select().from(expectedKeys).orderBy(asc(expectedKeys.name)));
    for (const row of rows) list.put(row);
    return list;
  }

  expectedKey(name: string): ExpectedKeyRecord | undefined {
    return this.#byName.get(name);
  }

  /** Every expectation, by name. */
  *expectedKeyRecords(): Generator<ExpectedKeyRecord> {
    for (const name of [...this.#byName.keys()].sort()) yield this.#byName.get(name)!;
  }

  put(record: ExpectedKeyRecord): void {
    this.#byName.set(record.name, record);
  }

  remove(name: string): void {
    this.#byName.delete(name);
  }
}
