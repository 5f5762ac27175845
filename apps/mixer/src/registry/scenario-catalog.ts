// Imported scenarios (SPEC §10) in memory: loaded once at start, then changed only by the writer after a commit.
import { asc } from "drizzle-orm";
import type { Db } from "../db/duckdb-database.js";
import type { JsonObject } from "../db/duckdb-values.js";
import { scenarioActivations, scenarios } from "../db/schema.js";
import { ormQuery } from "../db/unwrap-drizzle-error.js";

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

/** One activation, with the version it activated (kept for good: history and rollback). */
export interface ScenarioActivationRecord {
  /** 1, 2, 3, ... in the order of activations. */
  seq: number;
  name: string;
  version: string;
  yaml: string;
  spec: JsonObject;
  at: Date;
  actor: string;
  /** "operator", "rollback" or "before-history" (the scenario active when history began). */
  cause: string;
  reason: string | null;
}

/** Every scenario of the registry file. Scenarios are few (an operator imports them), so all of them are kept. */
export class ScenarioCatalog {
  readonly #byName = new Map<string, ScenarioRecord>();
  readonly #activations: ScenarioActivationRecord[] = [];
  /** The first activation of each name and version: the YAML and spec its later activations share. */
  readonly #versions = new Map<string, ScenarioActivationRecord>();

  static async load(db: Db): Promise<ScenarioCatalog> {
    const catalog = new ScenarioCatalog();
    for (const row of await ormQuery(db.orm.select().from(scenarios).orderBy(asc(scenarios.name)))) {
      catalog.put(row);
    }
    for (const row of await ormQuery(
      db.orm.select().from(scenarioActivations).orderBy(asc(scenarioActivations.seq)),
    )) {
      catalog.recordActivation(row);
    }
    return catalog;
  }

  get(name: string): ScenarioRecord | undefined {
    return this.#byName.get(name);
  }

  /** Every scenario, by name. */
  list(): ScenarioRecord[] {
    return [...this.#byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The active scenario (at most one is). */
  active(): ScenarioRecord | undefined {
    for (const scenario of this.#byName.values()) if (scenario.active) return scenario;
    return undefined;
  }

  values(): IterableIterator<ScenarioRecord> {
    return this.#byName.values();
  }

  /** Every activation, oldest first. */
  activations(): readonly ScenarioActivationRecord[] {
    return this.#activations;
  }

  /**
   * Appends an activation (only after the write that made it has committed). Activations of one version share its
   * YAML and spec, so memory grows with the versions ever activated, not with rollbacks and re-activations.
   */
  recordActivation(activation: ScenarioActivationRecord): void {
    const key = `${activation.name}\u0000${activation.version}`;
    const shared = this.#versions.get(key);
    if (shared) this.#activations.push({ ...activation, yaml: shared.yaml, spec: shared.spec });
    else {
      this.#versions.set(key, activation);
      this.#activations.push(activation);
    }
  }

  /** Adds or replaces a scenario (only after the write that made it has committed). */
  put(scenario: ScenarioRecord): void {
    this.#byName.set(scenario.name, scenario);
  }
}
