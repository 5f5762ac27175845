// The Db handle: UBIGINT round trips, transactions that never interleave, locks, close and reopen.
import { fileURLToPath } from "node:url";
import { startProcess, type TempDuckDbPath, tempDuckDbPath } from "@fluxrig/testkit";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DatabaseClosedError, DatabaseLockedError, QueryFailedError } from "./database-errors.js";
import { type Db, openDatabase } from "./duckdb-database.js";
import { migrate } from "./migrate.js";
import { registry } from "./schema.js";

const MIXER_DIR = fileURLToPath(new URL("../..", import.meta.url));
const RACK_100 = 0x0300640000000000n;
const MAX_U64 = 2n ** 64n - 1n;

let file: TempDuckDbPath;
let db: Db;

beforeEach(async () => {
  file = tempDuckDbPath();
  db = await openDatabase({ path: file.path });
  await migrate(db);
});

afterEach(async () => {
  await db.close();
  await file.remove();
});

function row(entityId: bigint, name: string) {
  return {
    entityId,
    typeId: 3,
    machineId: 100,
    name,
    status: "pending",
    version: "1",
    attributes: { public_key: name },
    stats: null,
    lastSeen: new Date("2030-01-01T00:00:00.123Z"),
  };
}

async function countRows(): Promise<number> {
  return Number((await db.query("SELECT count(*) FROM registry")).rows[0]?.[0]);
}

/** A promise with its resolve function outside, to hold a transaction open exactly as long as a test wants. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe("UBIGINT and TIMESTAMP round trips", () => {
  it.each([
    ["0x0300640000000000 (Rack 100)", RACK_100],
    ["2^64-1", MAX_U64],
    ["0", 0n],
  ])("keeps %s exact through drizzle and raw SQL", async (_label, entityId) => {
    await db.orm.insert(registry).values(row(entityId, "r"));
    const [read] = await db.orm.select().from(registry).where(eq(registry.entityId, entityId));
    expect(read?.entityId).toBe(entityId);
    expect(read?.lastSeen?.toISOString()).toBe("2030-01-01T00:00:00.123Z");
    expect(read?.attributes).toEqual({ public_key: "r" });
    const raw = await db.query("SELECT entity_id, entity_id::VARCHAR FROM registry WHERE entity_id = $1", [
      entityId,
    ]);
    expect(raw.rows).toEqual([[entityId, entityId.toString()]]);
  });

  it("refuses an id above 2^64-1 instead of wrapping it", async () => {
    await expect(db.orm.insert(registry).values(row(MAX_U64 + 1n, "r"))).rejects.toThrow();
    expect(await countRows()).toBe(0);
  });
});

describe("transactions", () => {
  it("commits on success and rolls everything back when fn throws", async () => {
    await db.transaction(async () => {
      await db.orm.insert(registry).values(row(1n, "kept"));
    });
    const failure = new Error("changed my mind");
    await expect(
      db.transaction(async () => {
        await db.orm.insert(registry).values(row(2n, "dropped"));
        expect(await countRows()).toBe(2);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect((await db.query("SELECT name FROM registry")).rows).toEqual([["kept"]]);
  });

  it("makes an outside caller wait for the whole transaction instead of running inside it", async () => {
    const hold = gate();
    const inserted = gate();
    const events: string[] = [];
    const tx = db
      .transaction(async () => {
        await db.orm.insert(registry).values(row(1n, "uncommitted"));
        events.push("inserted");
        inserted.open();
        await hold.opened;
        events.push("rolling back");
        throw new Error("rollback");
      })
      .catch(() => events.push("rolled back"));
    await inserted.opened;

    // On one connection an interleaved statement would see the uncommitted row; a queued one sees 0 after ROLLBACK.
    const outside = countRows().then((n) => {
      events.push(`outside saw ${n}`);
    });
    hold.open();
    await Promise.all([tx, outside]);
    expect(events).toEqual(["inserted", "rolling back", "rolled back", "outside saw 0"]);
  });

  it("lets a nested transaction join the outer one", async () => {
    await expect(
      db.transaction(async () => {
        await db.transaction(async () => {
          await db.orm.insert(registry).values(row(1n, "inner"));
        });
        expect(db.inTransaction).toBe(true);
        throw new Error("outer fails");
      }),
    ).rejects.toThrow("outer fails");
    expect(await countRows()).toBe(0);
  });

  it("tells what it is doing: the job holding the connection, for how long, and the jobs waiting behind it", async () => {
    expect(db.activity()).toEqual({ queued: 0 });
    const hold = gate();
    const holding = gate();
    const held = db.withConnection(async () => {
      holding.open();
      await hold.opened;
    });
    await holding.opened;
    const behind = countRows();
    const now = Date.now() + 5;
    const activity = db.activity(now);
    expect(activity.queued).toBe(2);
    expect(activity.running?.sql).toBe("(the raw connection: appenders, batch SQL)");
    expect(activity.running?.ms).toBeGreaterThanOrEqual(5);
    hold.open();
    await Promise.all([held, behind]);
    expect(db.activity()).toEqual({ queued: 0 });
  });

  it("wraps DuckDB failures in QueryFailedError naming the statement", async () => {
    const failed = await db.query("SELECT * FROM no_such_table").catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(QueryFailedError);
    expect(failed).toMatchObject({ sql: "SELECT * FROM no_such_table", code: "query_failed" });
  });
});

describe("locks, close and reopen", () => {
  it("refuses a file another process holds with DatabaseLockedError naming that process", async () => {
    await db.close();
    const holder = startProcess({
      command: process.execPath,
      args: [
        "--input-type=module",
        "-e",
        `import { DuckDBInstance } from "@duckdb/node-api";
         const instance = await DuckDBInstance.create(process.env.DB_PATH);
         console.log("holding");
         process.stdin.on("end", () => { instance.closeSync(); process.exit(0); });
         process.stdin.resume();`,
      ],
      cwd: MIXER_DIR,
      env: { DB_PATH: file.path },
      stdin: "pipe",
      label: "duckdb-holder",
    });
    try {
      await holder.waitForLine(/^holding$/, { timeoutMs: 20_000 });
      const refused = await openDatabase({ path: file.path }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(DatabaseLockedError);
      expect(refused).toMatchObject({ path: file.path, holderPid: holder.pid, code: "database_locked" });
    } finally {
      await holder.stop();
    }
    db = await openDatabase({ path: file.path });
    expect(await countRows()).toBe(0);
  });

  it("refuses a second handle on the same file in this process", async () => {
    await expect(openDatabase({ path: file.path })).rejects.toBeInstanceOf(DatabaseLockedError);
  });

  it("rejects calls after close with DatabaseClosedError, and a reopen finds every committed row", async () => {
    await db.orm.insert(registry).values(row(RACK_100, "survivor"));
    await db.close();
    await expect(db.query("SELECT 1")).rejects.toBeInstanceOf(DatabaseClosedError);
    await expect(db.transaction(async () => undefined)).rejects.toBeInstanceOf(DatabaseClosedError);

    db = await openDatabase({ path: file.path });
    expect((await migrate(db)).applied).toEqual([]);
    const [read] = await db.orm.select().from(registry);
    expect(read?.entityId).toBe(RACK_100);
    expect(read?.name).toBe("survivor");
  });

  it("lets queued work finish before close takes effect", async () => {
    // db.run queues at call time (a drizzle builder would only start when awaited).
    const inserts = [1n, 2n, 3n].map((id) =>
      db.run("INSERT INTO registry (entity_id, name) VALUES ($1, $2)", [id, `r${id}`]),
    );
    await db.close();
    await Promise.all(inserts);
    db = await openDatabase({ path: file.path });
    expect(await countRows()).toBe(3);
  });
});
