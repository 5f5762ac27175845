// Runs the built `fluxrig` binary against a MixerHarness, isolated from the developer's own settings file.
import { join } from "node:path";
import { type MixerHarness, type RunResult, runBinary, TEST_TOKEN } from "@fluxrig/testkit";

/** A run of the CLI, with its stdout parsed as JSON on demand. */
export interface CliResult extends RunResult {
  json<T = unknown>(): T;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string;
}

/** Environment that points the CLI at nothing in particular: no settings file, plain output. */
export const ISOLATED_ENV: Record<string, string | undefined> = {
  XDG_CONFIG_HOME: join("/nonexistent", "fluxrig-cli-int-test"),
  FLUXRIG_CLI_CONFIG: undefined,
  FLUXRIG_API_URL: undefined,
  FLUXRIG_API_TOKEN: undefined,
  FLUXRIG_API_TIMEOUT: undefined,
  FLUXRIG_ACTOR: "it-test",
  NO_COLOR: "1",
};

/** Runs `fluxrig <args>` with `env` over the isolated environment. */
export async function runFluxrig(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  const result = await runBinary("fluxrig", args, {
    env: { ...ISOLATED_ENV, ...opts.env },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  return {
    ...result,
    json<T>(): T {
      try {
        return JSON.parse(result.stdout) as T;
      } catch (err) {
        throw new Error(
          `stdout of fluxrig ${args.join(" ")} is not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`,
          {
            cause: err,
          },
        );
      }
    },
  };
}

/** A runner bound to one Mixer, with its URL and the test token. */
export function cliFor(h: MixerHarness): (args: readonly string[], opts?: CliOptions) => Promise<CliResult> {
  return (args, opts = {}) =>
    runFluxrig(args, {
      ...opts,
      env: { FLUXRIG_API_URL: h.apiUrl, FLUXRIG_API_TOKEN: TEST_TOKEN, ...opts.env },
    });
}

/** The hex form of a decimal entity id, as the CLI and API print it. */
export function hexId(decimal: string): string {
  return `0x${BigInt(decimal).toString(16).padStart(16, "0")}`;
}
