// How hard the long suites push: a sample in the default run, the full count under `pnpm test:fuzz` / `test:faults`.

/** Reads a positive integer from the environment, or returns the fallback when unset. A bad value throws. */
function positiveIntFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** fast-check runs per property: FLUXRIG_FUZZ_RUNS, or `sample` in the default run. */
export function fuzzRuns(sample = 200): number {
  return positiveIntFromEnv("FLUXRIG_FUZZ_RUNS", sample);
}

/** Repetitions of a fault scenario: FLUXRIG_FAULT_ITERATIONS, or `sample` in the default run. */
export function faultIterations(sample = 3): number {
  return positiveIntFromEnv("FLUXRIG_FAULT_ITERATIONS", sample);
}

/** True when the full suites were asked for (either variable set), so reports can say which run they came from. */
export function isFullSuiteRun(): boolean {
  return Boolean(process.env.FLUXRIG_FUZZ_RUNS || process.env.FLUXRIG_FAULT_ITERATIONS);
}
