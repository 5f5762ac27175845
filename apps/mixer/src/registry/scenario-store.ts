// Imported scenarios (SPEC §10): the YAML as given, its parsed spec, and which one is active (at most one).
import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import type { JsonObject } from "../db/duckdb-values.js";
import { scenarios } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";
import { AuditKind, appendAudit } from "./audit-log.js";
import { assertNonEmpty, assertValidDate } from "./input-checks.js";
import { NotFoundError } from "./registry-errors.js";

export interface ScenarioRecord {
  name: string;
  version: string;
  /** The YAML exactly as imported. */
  yaml: string;
  /** The validated, parsed scenario. */
  spec: JsonObject;
  importedAt: Date;
  activatedAt: Date | null;
  active: boolean;
}

export interface SaveScenarioInput {
  name: string;
  version: string;
  yaml: string;
  spec: JsonObject;
  now: Date;
  actor: string;
}

export interface ActivateScenarioOptions {
  now: Date;
  actor: string;
  cause?: string;
}

/**
 * Imports (or re-imports) a scenario. A re-import replaces version, YAML and spec and keeps the `active` flag, so
 * re-importing the active scenario keeps it active (activate it again to push the new version).
 */
export async function saveScenario(db: Db, input: SaveScenarioInput): Promise<ScenarioRecord> {
  assertNonEmpty(input.name, "name");
  assertNonEmpty(input.version, "version");
  assertValidDate(input.now, "now");
  return db.transaction(async () => {
    const [row] = await db.orm
      .insert(scenarios)
      .values({
        name: input.name,
        version: input.version,
        yaml: input.yaml,
        spec: input.spec,
        importedAt: input.now,
        activatedAt: null,
        active: false,
      })
      .onConflictDoUpdate({
        target: scenarios.name,
        set: { version: input.version, yaml: input.yaml, spec: input.spec, importedAt: input.now },
      })
      .returning();
    if (!row) throw new Error("INSERT ... RETURNING gave no row");
    await appendAudit(db, {
      at: input.now,
      name: input.name,
      kind: AuditKind.ScenarioImported,
      cause: "import",
      actor: input.actor,
      details: { version: input.version },
    });
    return row;
  });
}

export async function getScenario(db: Db, name: string): Promise<ScenarioRecord | undefined> {
  const [row] = await ormQuery(db.orm.select().from(scenarios).where(eq(scenarios.name, name)).limit(1));
  return row;
}

export async function listScenarios(db: Db): Promise<ScenarioRecord[]> {
  return ormQuery(db.orm.select().from(scenarios).orderBy(asc(scenarios.name)));
}

export async function getActiveScenario(db: Db): Promise<ScenarioRecord | undefined> {
  const [row] = await ormQuery(db.orm.select().from(scenarios).where(eq(scenarios.active, true)).limit(1));
  return row;
}

/** Makes `name` the one active scenario (every other one inactive) and records it, in one transaction. */
export async function activateScenario(
  db: Db,
  name: string,
  options: ActivateScenarioOptions,
): Promise<ScenarioRecord> {
  assertValidDate(options.now, "now");
  assertNonEmpty(options.actor, "actor");
  return db.transaction(async () => {
    const target = await getScenario(db, name);
    if (!target) throw new NotFoundError("scenario", name);
    const previous = await getActiveScenario(db);
    await db.orm.update(scenarios).set({ active: false }).where(eq(scenarios.active, true));
    await db.orm
      .update(scenarios)
      .set({ active: true, activatedAt: options.now })
      .where(eq(scenarios.name, name));
    await appendAudit(db, {
      at: options.now,
      name,
      kind: AuditKind.ScenarioActivated,
      cause: options.cause ?? "operator",
      actor: options.actor,
      details: { version: target.version, previous: previous?.name ?? null },
    });
    return { ...target, active: true, activatedAt: options.now };
  });
}
