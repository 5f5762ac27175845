// One vitest run for the whole workspace: a fast `unit` project and an `integration` project that uses real processes.
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

const conditions = ["@fluxrig/source", "node", "import", "default"];

/**
 * A project whose tests start real processes (nats-server, the built binaries): they share the clean-up set-up, run
 * after the unit tests two files at a time, and leave benchmarks to the unit project.
 */
function processProject(p: {
  name: string;
  groupOrder: number;
  include: string[];
  testTimeout: number;
  /** Print the logs of what a failing test started (fault files do it through FaultReport.attach). */
  logsOnFailure: boolean;
}): TestProjectInlineConfiguration {
  return {
    extends: true,
    test: {
      name: p.name,
      sequence: { groupOrder: p.groupOrder },
      setupFiles: [
        "tooling/vitest-integration-setup.ts",
        ...(p.logsOnFailure ? ["tooling/vitest-logs-on-failure.ts"] : []),
      ],
      // Benchmarks run once, in the unit project.
      benchmark: { include: [] },
      include: p.include,
      testTimeout: p.testTimeout,
      hookTimeout: 60_000,
      // Each file starts its own nats-server and processes; two at a time suits a 2-core machine.
      maxWorkers: 2,
    },
  };
}

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["@fluxrig/source"] } },
  test: {
    reporters: ["default", ["json", { outputFile: ".reports/vitest.json" }]],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          // Unit tests run first and fast; integration tests follow with their own worker limit.
          sequence: { groupOrder: 0 },
          include: [
            "packages/*/src/**/*.test.ts",
            "apps/*/src/**/*.test.ts",
            "apps/*/console/**/*.test.ts",
            "packages/*/test/**/*.test.ts",
          ],
          exclude: ["**/*.int.test.ts", "**/*.fuzz.test.ts", "**/*.faults.test.ts", "**/node_modules/**"],
        },
      },
      processProject({
        name: "integration",
        groupOrder: 1,
        include: ["packages/*/test/**/*.int.test.ts", "apps/*/test/**/*.int.test.ts"],
        testTimeout: 60_000,
        logsOnFailure: true,
      }),
      // Hostile input: fast-check over every subject and endpoint. The default run takes a sample;
      // `pnpm test:fuzz` sets FLUXRIG_FUZZ_RUNS=10000 (see packages/testkit/src/suite-intensity.ts).
      processProject({
        name: "fuzz",
        groupOrder: 1,
        include: ["packages/*/test/**/*.fuzz.test.ts", "apps/*/test/**/*.fuzz.test.ts"],
        testTimeout: 120_000,
        logsOnFailure: true,
      }),
      // Faults with real processes (kill -9, nats restarts, full disks). The default run repeats each fault a few
      // times; `pnpm test:faults` sets FLUXRIG_FAULT_ITERATIONS=20.
      processProject({
        name: "faults",
        groupOrder: 2,
        include: ["packages/*/test/**/*.faults.test.ts", "apps/*/test/**/*.faults.test.ts"],
        testTimeout: 180_000,
        logsOnFailure: false,
      }),
    ],
  },
});
