// The testkit's errors: one base class and one subclass per way a test helper can fail, with the facts as fields.

/** Base class of every error thrown by `@fluxrig/testkit`. */
export class TestkitError extends Error {
  override name = "TestkitError";
}

/**
 * A `waitFor`/`eventually` deadline passed before the condition held.
 *
 * @example
 * try { await waitFor(() => false, { timeoutMs: 10 }); } catch (e) { if (e instanceof WaitForTimeout) e.attempts; }
 */
export class WaitForTimeout extends TestkitError {
  override name = "WaitForTimeout";
  constructor(
    message: string,
    readonly fields: {
      /** The caller's description of what was awaited. */
      what: string;
      timeoutMs: number;
      attempts: number;
      /** The last value the callback returned (when its last attempt did not throw). */
      lastValue: unknown;
      /** The last error the callback threw, if any attempt threw. */
      lastError: unknown;
    },
  ) {
    super(message, fields.lastError === undefined ? undefined : { cause: fields.lastError });
  }
}

/** A nats-server did not become ready: it exited first, or never accepted a connection in time. */
export class NatsServerStartError extends TestkitError {
  override name = "NatsServerStartError";
  constructor(
    message: string,
    readonly fields: {
      reason: "exited" | "timeout" | "spawn-failed";
      port: number;
      exitCode: number | null;
      signal: NodeJS.Signals | null;
      /** The server's log so far (also appended to the message). */
      log: string;
      configPath: string;
    },
  ) {
    super(message);
  }
}

/** A child process exited while a test was waiting for it to say something. */
export class ProcessExitedError extends TestkitError {
  override name = "ProcessExitedError";
  constructor(
    message: string,
    readonly fields: { label: string; code: number | null; signal: NodeJS.Signals | null; output: string },
  ) {
    super(message);
  }
}

/** A wait on a child process (a line, its exit) passed its deadline. */
export class ProcessTimeoutError extends TestkitError {
  override name = "ProcessTimeoutError";
  constructor(
    message: string,
    readonly fields: { label: string; timeoutMs: number; output: string },
  ) {
    super(message);
  }
}

/** The built bundle of a workspace binary is missing: the apps must be built first. */
export class BundleMissingError extends TestkitError {
  override name = "BundleMissingError";
  constructor(
    message: string,
    readonly fields: { binary: string; bundlePath: string },
  ) {
    super(message);
  }
}
