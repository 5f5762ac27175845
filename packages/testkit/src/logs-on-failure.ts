// Prints the logs of the servers and processes a test started, only when that test fails.
import { type Started, startedResources } from "./cleanup-registry.js";

/** Anything with captured output: a `NatsServer`, a `SpawnedProcess`, or your own. */
export interface HasOutput {
  readonly label?: string;
  output(tail?: number): string;
}

/** vitest's `onTestFailed` (from the test context or `import { onTestFailed } from "vitest"`). */
export type OnTestFailed = (handler: () => void | Promise<void>) => void;

export interface LogsOnFailureOptions {
  /** Print only these (default: everything started and not yet stopped when the test fails). */
  only?: readonly HasOutput[];
  /** Last lines per source (default 200). */
  tail?: number;
  /** Where the report goes (default `console.error`, which vitest shows under the failed test). */
  print?: (report: string) => void;
}

/**
 * Registers a failure hook that prints the logs of what the test started. Call it at the top of a test, or in a
 * `beforeEach` to cover every test of a file. The testkit itself does not import vitest; you pass the hook in.
 *
 * @example
 * beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));
 * test("enrolls", async ({ onTestFailed }) => {
 *   attachLogsOnFailure(onTestFailed, { only: [nats, rack], tail: 50 });
 * });
 */
export function attachLogsOnFailure(onTestFailed: OnTestFailed, opts: LogsOnFailureOptions = {}): void {
  onTestFailed(() => {
    // Read the sources when the test fails, so what the test started after attaching is included.
    const sources = opts.only ?? startedResources().filter(hasOutput);
    const report = formatLogs(sources, opts.tail ?? 200);
    if (report !== "") (opts.print ?? console.error)(report);
  });
}

/**
 * The logs of `sources` as one report, one titled section each; for a `catch` block or a custom hook.
 *
 * @example
 * try { ... } catch (e) { console.error(formatLogs([nats, mixer])); throw e; }
 */
export function formatLogs(sources: readonly HasOutput[], tail = 200): string {
  return sources
    .map((source, i) => {
      const title = source.label ?? `source ${i + 1}`;
      const body = source.output(tail);
      return `──── ${title} (last ${tail} lines) ────\n${body === "" ? "(no output)" : body}`;
    })
    .join("\n");
}

function hasOutput(resource: Started): resource is Started & HasOutput {
  return typeof resource.output === "function";
}
