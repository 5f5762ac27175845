// Scenarios (SPEC §10, Path B): import, list, plan, activate, history, rollback; activation adopts the pending Racks it
// names and pushes logic.

import { keyFingerprint } from "@fluxrig/passport";
import {
  type ScenarioActivation,
  type ScenarioImportResult,
  type ScenarioPlan,
  type ScenarioPlanRack,
  type ScenarioPush,
  type ScenarioSummary,
  scenarioGearChanges,
} from "@fluxrig/wire";
import type { JsonObject } from "../db/duckdb-values.js";
import { notFoundWithSuggestions } from "../errors/name-suggestions.js";
import { OperationError } from "../errors/wire-refusal.js";
import type { Actor, ScenarioOperations } from "../fleet/operations.js";
import type { RackStatusChanges, ScenarioSource } from "../fleet/rack-status-changes.js";
import type { ExpectedKeyLookup } from "../registry/expected-key-list.js";
import type { RackDirectory } from "../registry/rack-directory.js";
import { UnexpectedKeyError } from "../registry/registry-errors.js";
import type { RegistryWrites } from "../registry/registry-writer.js";
import type {
  ScenarioActivationRecord,
  ScenarioCatalog,
  ScenarioRecord,
} from "../registry/scenario-catalog.js";
import {
  planActivateScenario,
  planExpectKey,
  planImportScenario,
  planRollbackScenario,
  rollbackTarget,
  storedScenarioVersion,
} from "../registry/write-plans.js";
import type { Clock } from "../runtime/counters.js";
import {
  type RackScenarioPart,
  scenarioPush,
  scenarioPushesByRack,
  scenarioRackNames,
} from "./scenario-push.js";
import { parseScenarioYaml, type ScenarioSpec, ScenarioSpecSchema } from "./scenario-spec.js";

export class ScenarioService implements ScenarioOperations, ScenarioSource {
  /** The Racks a scenario names, as the directory has them (never read back from DuckDB). */
  readonly #racks: Pick<RackDirectory, "rackByName">;
  readonly #expectedKeys: Pick<ExpectedKeyLookup, "expectedKey"> | undefined;
  readonly #writer: RegistryWrites;
  readonly #catalog: ScenarioCatalog;
  readonly #clock: Clock;
  #lifecycle: RackStatusChanges | undefined;
  #active: {
    record: ScenarioRecord;
    spec: ScenarioSpec;
    names: ReadonlySet<string>;
    /** Its gears and wires per Rack, split once: an activation pushes to every Rack, each hello asks again. */
    byRack: ReadonlyMap<string, RackScenarioPart>;
  } | null = null;

  constructor(opts: {
    racks: Pick<RackDirectory, "rackByName">;
    writer: RegistryWrites;
    catalog: ScenarioCatalog;
    clock: Clock;
    /** Names that may only be adopted with one key (racks expect): a plan says such a Rack waits, as activation does. */
    expectedKeys?: Pick<ExpectedKeyLookup, "expectedKey">;
  }) {
    this.#expectedKeys = opts.expectedKeys;
    this.#racks = opts.racks;
    this.#writer = opts.writer;
    this.#catalog = opts.catalog;
    this.#clock = opts.clock;
  }

  /** The lifecycle and the scenarios need each other; it is wired after both exist. */
  attach(lifecycle: RackStatusChanges): void {
    this.#lifecycle = lifecycle;
  }

  /** Takes the active scenario at start. */
  load(): void {
    this.#setActive(this.#catalog.active() ?? null);
  }

  /** Names of the Racks the active scenario names (adopted at enrollment: Path B). */
  activeRackNames(): ReadonlySet<string> {
    return this.#active?.names ?? EMPTY;
  }

  /**
   * What an adopted Rack must run while a scenario is active: its gears of that scenario, or none. A Rack the active
   * scenario does not name gets the push too (with no gears), so a Rack dropped by a switch, or one that was away
   * when it happened and restarts its old gears from its cache, stops them. Null only while no scenario is active.
   */
  pushFor(name: string, now: Date): ScenarioPush | null {
    if (!this.#active) return null;
    return scenarioPush(this.#active.spec, this.#active.byRack.get(name), now);
  }

  async import(
    yaml: string,
    opts: Actor & { dryRun: boolean; activate: boolean },
  ): Promise<ScenarioImportResult> {
    const spec = parseOrRefuse(yaml);
    const now = this.#clock();
    if (opts.dryRun) {
      // The same refusal a real import would give: a stored version is never changed.
      storedScenarioVersion(
        this.#catalog.get(spec.meta.name),
        {
          name: spec.meta.name,
          version: spec.meta.version,
          spec: spec as unknown as JsonObject,
        },
        this.#catalog.activations(),
      );
      const summary = summarize({ spec, active: false, importedAt: now, activatedAt: null });
      return {
        dry_run: true,
        scenario: summary,
        ...(opts.activate ? { activation: this.#plan(spec) } : {}),
      };
    }
    const record = await this.#writer.submit((stage) =>
      planImportScenario(stage, {
        name: spec.meta.name,
        version: spec.meta.version,
        yaml,
        spec: spec as unknown as JsonObject,
        now,
        actor: opts.actor,
      }),
    );
    if (this.#active?.record.name === record.name) this.#setActive(record);
    if (opts.activate) return this.activate(record.name, opts);
    return { dry_run: false, scenario: summarize({ ...record, spec }) };
  }

  async plan(yaml: string): Promise<ScenarioPlan> {
    const spec = parseOrRefuse(yaml);
    // Refused as its import would be: a stored version never changes.
    const stored = storedScenarioVersion(
      this.#catalog.get(spec.meta.name),
      { name: spec.meta.name, version: spec.meta.version, spec: spec as unknown as JsonObject },
      this.#catalog.activations(),
    );
    const previous = this.#active?.spec;
    const none = { gears: [], wires: [] };
    const before = this.#active?.byRack ?? new Map<string, typeof none>();
    const after = scenarioPushesByRack(spec);
    const racks: ScenarioPlanRack[] = [];
    const keyOf = specKeys(spec);
    for (const name of scenarioRackNames(spec)) {
      const status = this.#racks.rackByName(name)?.status ?? null;
      const runs = status === "active" || status === "offline";
      const action =
        status === "pending" ? (this.#adoptable(name, keyOf) ? "adopt" : "wait") : runs ? "push" : "wait";
      // Only an adopted Rack runs the active scenario's gears now; any other starts from nothing.
      const was = runs ? before.get(name) : undefined;
      racks.push({ name, status, action, gears: scenarioGearChanges(was, after.get(name) ?? none) });
    }
    for (const name of switchedOff(previous, spec)) {
      const status = this.#racks.rackByName(name)?.status ?? null;
      if (status !== "active" && status !== "offline") continue;
      racks.push({ name, status, action: "drop", gears: scenarioGearChanges(before.get(name), none) });
    }
    racks.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const active = this.#active?.record;
    return {
      scenario: { name: spec.meta.name, version: spec.meta.version },
      active: active ? { name: active.name, version: active.version } : null,
      stored,
      racks,
    };
  }

  async history(name?: string): Promise<ScenarioActivation[]> {
    const all = this.#catalog.activations();
    const picked = name === undefined ? all : all.filter((a) => a.name === name);
    if (name !== undefined && picked.length === 0 && !this.#catalog.get(name)) {
      const names = new Set([...this.#catalog.list().map((r) => r.name), ...all.map((a) => a.name)]);
      const { message, details } = notFoundWithSuggestions(`no scenario named ${name}`, name, names);
      throw new OperationError("not_found", message, details);
    }
    // The latest activation is in force while its version is the active one (a re-import of the active scenario
    // replaces the stored version without activating it).
    const active = this.#catalog.active();
    const last = all.at(-1);
    const current = last?.name === active?.name && last?.version === active?.version ? last?.seq : undefined;
    return picked.map((a) => activationView(a, a.seq === current)).reverse();
  }

  async rollback(by: Actor): Promise<ScenarioImportResult> {
    const lifecycle = this.#lifecycle;
    if (!lifecycle) throw new OperationError("unavailable", "the Mixer is still starting");
    const active = this.#catalog.active();
    if (!rollbackTarget(this.#catalog.activations(), active)) {
      const now = active ? `${active.name} version ${active.version} is active` : "no scenario is active";
      throw new OperationError(
        "invalid_transition",
        `nothing to roll back to: ${now} and no other version was ever activated`,
      );
    }
    const now = this.#clock();
    const { record } = await this.#writer.submit((stage) =>
      planRollbackScenario(stage, { now, actor: by.actor, reason: by.reason }),
    );
    return this.#pushActivation(record, lifecycle, by, `rollback to scenario ${record.name}`);
  }

  async list(): Promise<ScenarioSummary[]> {
    return this.#catalog.list().map((r) => summarize({ ...r, spec: specOf(r) }));
  }

  async active(): Promise<(ScenarioSummary & { yaml: string }) | null> {
    const record = this.#catalog.active();
    return record ? { ...summarize({ ...record, spec: specOf(record) }), yaml: record.yaml } : null;
  }

  async activate(name: string, by: Actor): Promise<ScenarioImportResult> {
    const lifecycle = this.#lifecycle;
    if (!lifecycle) throw new OperationError("unavailable", "the Mixer is still starting");
    if (!this.#catalog.get(name)) {
      const names = new Set(this.#catalog.list().map((r) => r.name));
      const { message, details } = notFoundWithSuggestions(`no scenario named ${name}`, name, names);
      throw new OperationError("not_found", message, details);
    }
    const now = this.#clock();
    const keyed = specOf(this.#catalog.get(name)!).racks.filter((r) => r.key !== undefined);
    const record = await this.#writer.submit((stage) => {
      const activated = planActivateScenario(stage, name, {
        now,
        actor: by.actor,
        cause: "operator",
        reason: by.reason,
      });
      // A `key:` in a racks entry becomes that name's expected key, in the same write, before anyone is adopted.
      for (const { name: rackName, key } of keyed) {
        if (key !== undefined && stage.expectedKey(rackName)?.keyFingerprint !== key) {
          planExpectKey(stage, rackName, key, { actor: by.actor, reason: `scenario ${name}`, now });
        }
      }
      return activated;
    });
    return this.#pushActivation(record, lifecycle, by, `scenario ${name}`);
  }

  /** After an activation committed: adopts the pending Racks it names and tells every Rack it changes. */
  async #pushActivation(
    record: ScenarioRecord,
    lifecycle: RackStatusChanges,
    by: Actor,
    cause: string,
  ): Promise<ScenarioImportResult> {
    const previous = this.#active;
    this.#setActive(record);
    const spec = specOf(record);
    const activation = { adopted: [] as string[], pushed: [] as string[], waiting: [] as string[] };
    for (const rackName of switchedOff(previous?.spec, spec)) {
      // Named by the scenario being replaced and not by this one: told at once, so its old gears stop.
      const rack = this.#racks.rackByName(rackName);
      if (rack?.status === "active" || rack?.status === "offline") {
        lifecycle.pushScenarioChange(rackName);
        activation.pushed.push(rackName);
      }
    }
    for (const rackName of scenarioRackNames(spec)) {
      const rack = this.#racks.rackByName(rackName);
      if (rack?.status === "pending") {
        try {
          await lifecycle.activate(rack, { cause, actor: by.actor, kind: "issued" });
        } catch (error) {
          // Its name expects another key (racks expect): never adopted; it waits for the expected key.
          if (!(error instanceof UnexpectedKeyError)) throw error;
          activation.waiting.push(rackName);
          continue;
        }
        activation.adopted.push(rackName);
        activation.pushed.push(rackName);
      } else if (rack?.status === "active" || rack?.status === "offline") {
        lifecycle.pushScenarioChange(rackName);
        activation.pushed.push(rackName);
      } else {
        activation.waiting.push(rackName);
      }
    }
    return { dry_run: false, scenario: summarize({ ...record, spec }), activation };
  }

  /** What activation would do, without doing it. */
  #plan(spec: ScenarioSpec): { adopted: string[]; pushed: string[]; waiting: string[] } {
    const plan = { adopted: [] as string[], pushed: [] as string[], waiting: [] as string[] };
    for (const rackName of switchedOff(this.#active?.spec, spec)) {
      const rack = this.#racks.rackByName(rackName);
      if (rack?.status === "active" || rack?.status === "offline") plan.pushed.push(rackName);
    }
    const keyOf = specKeys(spec);
    for (const rackName of scenarioRackNames(spec)) {
      const rack = this.#racks.rackByName(rackName);
      const adoptable = rack?.status === "pending" && this.#adoptable(rackName, keyOf);
      if (adoptable) plan.adopted.push(rackName);
      if (adoptable || rack?.status === "active" || rack?.status === "offline") plan.pushed.push(rackName);
      else plan.waiting.push(rackName);
    }
    return plan;
  }

  /**
   * Whether activation would adopt the pending Rack of this name: not when its name expects another key (the
   * scenario's own `key:` first, as activation records it before adopting, else `racks expect`).
   */
  #adoptable(name: string, keyOf: ReadonlyMap<string, string>): boolean {
    const rack = this.#racks.rackByName(name);
    if (rack === undefined) return false;
    const expected = keyOf.get(name) ?? this.#expectedKeys?.expectedKey(name)?.keyFingerprint;
    return expected === undefined || keyFingerprint(rack.lifecycle.publicKey) === expected;
  }

  #setActive(record: ScenarioRecord | null): void {
    if (!record) {
      this.#active = null;
      return;
    }
    const spec = specOf(record);
    this.#active = {
      record,
      spec,
      names: new Set(scenarioRackNames(spec)),
      byRack: scenarioPushesByRack(spec),
    };
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/** The Racks the previous scenario named or deployed gears to that the next one does not name. */
function switchedOff(previous: ScenarioSpec | undefined, next: ScenarioSpec): string[] {
  if (!previous) return [];
  const kept = new Set(scenarioRackNames(next));
  const before = new Set([...scenarioRackNames(previous), ...previous.gears.map((g) => g.deploy)]);
  return [...before].filter((name) => !kept.has(name)).sort();
}

/** The scenario in `yaml`, or OperationError(schema) naming the first issue, with every issue in the details. */
function parseOrRefuse(yaml: string): ScenarioSpec {
  const parsed = parseScenarioYaml(yaml);
  if (parsed.ok) return parsed.spec;
  const first = parsed.issues[0];
  const where = first?.line ? `line ${first.line}: ` : "";
  const more = parsed.issues.length > 1 ? ` (and ${parsed.issues.length - 1} more)` : "";
  throw new OperationError(
    "schema",
    `invalid scenario: ${where}${first?.path ? `${first.path}: ` : ""}${first?.message ?? ""}${more}`,
    { issues: parsed.issues },
  );
}

function activationView(a: ScenarioActivationRecord, current: boolean): ScenarioActivation {
  return {
    seq: a.seq,
    name: a.name,
    version: a.version,
    at: a.at.toISOString(),
    actor: a.actor,
    cause: a.cause,
    reason: a.reason,
    current,
  };
}

function specOf(record: ScenarioRecord): ScenarioSpec {
  // Stored specs were validated on import; parsing again keeps the types honest if the table was edited by hand.
  return ScenarioSpecSchema.parse(record.spec);
}

function summarize(s: {
  spec: ScenarioSpec;
  active: boolean;
  importedAt: Date;
  activatedAt: Date | null;
}): ScenarioSummary {
  return {
    name: s.spec.meta.name,
    version: s.spec.meta.version,
    active: s.active,
    imported_at: s.importedAt.toISOString(),
    activated_at: s.activatedAt?.toISOString() ?? null,
    racks: scenarioRackNames(s.spec),
    gears: s.spec.gears.length,
    wires: s.spec.wires.length,
  };
}

/** The `key:` of each racks entry that has one: what activation records as that name's expected key. */
function specKeys(spec: ScenarioSpec): ReadonlyMap<string, string> {
  const keys = new Map<string, string>();
  for (const { name, key } of spec.racks) if (key !== undefined) keys.set(name, key);
  return keys;
}
