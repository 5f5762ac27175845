// The JSON record each fuzz file leaves in .reports/fuzz/<file>.json, for docs/reliability.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fuzzRuns, isFullSuiteRun, repoRoot } from "@fluxrig/testkit";
import fc from "fast-check";
import { test } from "vitest";

/** What one property saw. `ok` is false when its assertions failed (the test fails too). */
export interface PropertyRecord {
  property: string;
  /** Where the attack is aimed: a NATS subject or `METHOD /path`. */
  target: string;
  cases: number;
  /** fast-check runs (each a batch of cases sent together; see `batched`). */
  fc_runs?: number;
  crashes: number;
  rows_written_from_invalid_input: number;
  status_5xx: number;
  hung: number;
  /** Refusals by code (hello error codes, HTTP `status code`, heartbeat drop counters). */
  outcomes: Record<string, number>;
  ok: boolean;
  notes?: string[];
}

/**
 * One file's record: every property, the attacks refused at the bus (jwt mode), and what is still allowed by design
 * (documented, not refused).
 */
export class FuzzRecord {
  readonly properties: PropertyRecord[] = [];
  readonly allowed: Array<{ attack: string; observed: string }> = [];
  readonly refused: Array<{ attack: string; observed: string }> = [];
  readonly #started = Date.now();
  /** Cases per property: FLUXRIG_FUZZ_RUNS, or the file's sample in the default run. */
  readonly runs: number;

  constructor(
    readonly name: string,
    opts: { sample: number },
  ) {
    this.runs = fuzzRuns(opts.sample);
  }

  /**
   * One property as a vitest test: its record is started when the test runs, and its timeout grows with the case
   * count (two minutes, plus `perCaseMs` a case; the full run asks 10,000 per property).
   */
  test(
    title: string,
    opts: { property: string; target: string; perCaseMs: number },
    body: (rec: PropertyRecord) => Promise<void>,
  ): void {
    test(title, () => body(this.property(opts.property, opts.target)), 120_000 + this.runs * opts.perCaseMs);
  }

  /** Starts a property's record; fill it in as cases run, then call `finish`. */
  property(property: string, target: string): PropertyRecord {
    const rec: PropertyRecord = {
      property,
      target,
      cases: 0,
      crashes: 0,
      rows_written_from_invalid_input: 0,
      status_5xx: 0,
      hung: 0,
      outcomes: {},
      ok: false,
    };
    this.properties.push(rec);
    return rec;
  }

  allow(attack: string, observed: string): void {
    this.allowed.push({ attack, observed });
  }

  /** An attack the test tried and saw refused (its assertions passed). */
  refuse(attack: string, observed: string): void {
    this.refused.push({ attack, observed });
  }

  /** Writes `.reports/fuzz/<name>.json` at the repository root. */
  write(): string {
    const dir = join(repoRoot(), ".reports", "fuzz");
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${this.name}.json`);
    const body = {
      file: this.name,
      full_run: isFullSuiteRun(),
      fuzz_runs: process.env.FLUXRIG_FUZZ_RUNS ?? null,
      wall_ms: Date.now() - this.#started,
      written_at: new Date().toISOString(),
      properties: this.properties,
      allowed_attacks: this.allowed,
      refused_attacks: this.refused,
    };
    writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
    return path;
  }
}

/** Adds one to `outcomes[key]`. */
export function tally(rec: PropertyRecord, key: string): void {
  rec.outcomes[key] = (rec.outcomes[key] ?? 0) + 1;
}

/** Inputs sent concurrently per fast-check run: keeps 10,000 cases within minutes against a real Mixer. */
export const BATCH = 32;

/**
 * Runs `runs` cases of `arb` through `fn`, `BATCH` at a time: each fast-check run is one batch of inputs sent
 * together (so the Mixer's group commit and NATS pipelining work as with real traffic), and a failing batch is
 * shrunk by fast-check like any other value. `rec.fc_runs` records how many runs that took.
 */
export async function batched<T>(
  rec: PropertyRecord,
  arb: fc.Arbitrary<T>,
  runs: number,
  fn: (input: T) => Promise<void>,
  batch = BATCH,
): Promise<void> {
  const size = Math.min(batch, runs);
  await fc.assert(
    fc.asyncProperty(fc.array(arb, { minLength: size, maxLength: size }), async (inputs) => {
      await Promise.all(inputs.map(fn));
    }),
    // No shrinking: each run costs real round trips; the failing batch and the assertion say enough.
    { numRuns: Math.ceil(runs / size), endOnFailure: true },
  );
  rec.fc_runs = Math.ceil(runs / size);
}
