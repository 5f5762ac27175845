// What a fault test did, for docs/reliability.md: one JSON record per scenario under .reports/faults/, and a seeded
// random source so that every random kill moment can be replayed from the seed the test logged.
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { attachLogsOnFailure, type OnTestFailed } from "./logs-on-failure.js";
import { faultIterations, isFullSuiteRun } from "./suite-intensity.js";
import { repoRoot } from "./workspace-binaries.js";

/** The record of one fault scenario (one test file), as written to `.reports/faults/<scenario>.json`. */
export interface FaultRecord {
  scenario: string;
  /** The test file, relative to the repository. */
  file: string;
  /** Repetitions of the fault (faultIterations() for repeated faults, 1 for one-off ones). */
  iterations: number;
  /** The seed of the random choices (kill moments, signals), when the scenario makes any. */
  seed?: number;
  /** Acknowledged rows (or adoptions, heartbeats) that the registry no longer had after the fault. */
  rowsLost: number;
  /** Processes that exited without the test asking them to, or could not start again. */
  crashes: number;
  /** Racks admitted (a row, a passport) that should have been refused. */
  wronglyAdmitted: number;
  /** Whether every test of the file passed; set from each test's outcome. */
  passed: boolean;
  /** Tests skipped because this machine cannot produce the fault, with the reason. */
  skipped: Array<{ test: string; reason: string }>;
  /** Free-form facts worth a line in the reliability page (timings, what was used to produce the fault). */
  notes: string[];
  /** Counted figures specific to the scenario (e.g. iterations by phase, worst last_seen lag). */
  figures: Record<string, number>;
}

/** vitest's `afterAll` and `beforeEach`, passed in: the testkit does not import vitest. */
export interface FaultHooks {
  afterAll: (fn: () => void) => void;
  beforeEach: (fn: (ctx: { onTestFailed: OnTestFailed }) => void) => void;
}

/** How a fault test file opens: its report, already attached, with the repetitions and seed it runs with. */
export interface FaultScenario {
  report: FaultReport;
  /** faultIterations(), or 1 for a one-off fault. */
  iterations: number;
  /** The seed of the file's random choices, when `seeded`: recorded, and logged with how to replay it. */
  seed?: number;
}

export interface FaultScenarioOptions {
  /** A one-off fault: 1 iteration instead of faultIterations(). */
  once?: boolean;
  /** The file makes random choices: take a seed from faultSeed(). */
  seeded?: boolean;
  /** Log lines printed per source when a test fails (default 60). */
  tail?: number;
}

/**
 * Opens the fault scenario of a test file: the scenario is the file's name without `.faults.test.ts`, the report is
 * attached to the file's hooks (see {@link FaultReport.attach}), and a seeded file logs its seed at once.
 *
 * @example
 * const { report, iterations, seed } = openFaultScenario(import.meta.url, { afterAll, beforeEach }, { seeded: true });
 */
export function openFaultScenario(
  fileUrl: string,
  hooks: FaultHooks,
  opts: FaultScenarioOptions & { seeded: true },
): FaultScenario & { seed: number };
export function openFaultScenario(
  fileUrl: string,
  hooks: FaultHooks,
  opts?: FaultScenarioOptions,
): FaultScenario;
export function openFaultScenario(
  fileUrl: string,
  hooks: FaultHooks,
  opts: FaultScenarioOptions = {},
): FaultScenario {
  const path = fileURLToPath(fileUrl);
  const scenario = basename(path, ".faults.test.ts");
  const iterations = opts.once ? 1 : faultIterations();
  const seed = opts.seeded ? faultSeed() : undefined;
  const report = new FaultReport({ scenario, file: relative(repoRoot(), path), iterations, seed }).attach(
    hooks,
    opts.tail === undefined ? {} : { tail: opts.tail },
  );
  if (seed !== undefined) {
    console.info(
      `[${scenario}] seed ${seed} (replay with FLUXRIG_FAULT_SEED=${seed}), ${iterations} iterations`,
    );
  }
  return { report, iterations, seed };
}

/** A record being filled by a test file; `write()` it in `afterAll`. */
export class FaultReport {
  readonly record: FaultRecord;
  readonly #startedAt = Date.now();

  constructor(init: { scenario: string; file: string; iterations: number; seed?: number }) {
    this.record = {
      scenario: init.scenario,
      file: init.file,
      iterations: init.iterations,
      ...(init.seed !== undefined ? { seed: init.seed } : {}),
      rowsLost: 0,
      crashes: 0,
      wronglyAdmitted: 0,
      passed: true,
      skipped: [],
      notes: [],
      figures: {},
    };
  }

  note(text: string): void {
    this.record.notes.push(text);
  }

  /** Adds `by` to a figure (created at 0). */
  count(name: string, by = 1): void {
    this.record.figures[name] = (this.record.figures[name] ?? 0) + by;
  }

  /** Keeps the largest value seen for a figure. */
  max(name: string, value: number): void {
    this.record.figures[name] = Math.max(this.record.figures[name] ?? Number.NEGATIVE_INFINITY, value);
  }

  skip(test: string, reason: string): void {
    this.record.skipped.push({ test, reason });
  }

  /** Marks the file failed: hand it to vitest's `onTestFailed`. */
  failed(): void {
    this.record.passed = false;
  }

  /**
   * Wires the report into a test file: each failing test prints the last `tail` log lines of what it started and marks
   * the record failed, and the record is written when the file ends. Pass vitest's `afterAll` and `beforeEach`.
   *
   * @example
   * const report = new FaultReport({ scenario: "mixer-kill9", file: import.meta.url, iterations }).attach(
   *   { afterAll, beforeEach },
   *   { tail: 80 },
   * );
   */
  attach(hooks: FaultHooks, opts: { tail?: number } = {}): this {
    hooks.afterAll(() => {
      this.write();
    });
    hooks.beforeEach(({ onTestFailed }) => {
      attachLogsOnFailure(onTestFailed, { tail: opts.tail ?? 60 });
      onTestFailed(() => this.failed());
    });
    return this;
  }

  /** Writes `.reports/faults/<scenario>.json` (creating the directory) and returns its path. */
  write(): string {
    const dir = join(repoRoot(), ".reports", "faults");
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${this.record.scenario}.json`);
    const body = {
      ...this.record,
      full_run: isFullSuiteRun(),
      finished_at: new Date().toISOString(),
      duration_ms: Date.now() - this.#startedAt,
    };
    writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
    return path;
  }
}

/**
 * The seed for a fault file's random choices: FLUXRIG_FAULT_SEED when set (to replay a failure), else a fresh one.
 * Log it: a failure is reproduced by running again with the same seed.
 */
export function faultSeed(): number {
  const raw = process.env.FLUXRIG_FAULT_SEED;
  if (raw !== undefined && raw !== "") {
    const seed = Number(raw);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`FLUXRIG_FAULT_SEED must be an integer in 0..2^32-1, got ${JSON.stringify(raw)}`);
    }
    return seed;
  }
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}

/** A small deterministic random source (mulberry32): the same seed gives the same sequence. */
export class SeededRandom {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A shuffled copy of `items` (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error("SeededRandom.pick: no items");
    return item;
  }
}
