// The one list of everything the testkit started, so a forgotten server or process never outlives the test run.

/** Something the testkit started (a server, a process, a temp dir) that must be cleaned up. */
export interface Started {
  readonly label: string;
  /** Orderly stop (SIGTERM, grace, SIGKILL; files removed); idempotent. */
  stop(): Promise<unknown>;
  /** Last resort from a process-exit hook, where only synchronous work runs: SIGKILL, `rmSync`. */
  killSync(): void;
  /** The captured output, for failure reports; `tail` keeps only the last lines. */
  output?(tail?: number): string;
}

interface RegistryState {
  live: Set<Started>;
  hooked: boolean;
}

// On globalThis so every copy of this module in one process (vitest re-imports per file) shares one list and
// installs the exit hooks once.
const KEY = Symbol.for("@fluxrig/testkit/started");

function state(): RegistryState {
  const holder = globalThis as typeof globalThis & { [KEY]?: RegistryState };
  holder[KEY] ??= { live: new Set(), hooked: false };
  return holder[KEY];
}

/**
 * Registers `resource` until the returned function is called (on a normal stop). Installs the exit hooks on first use.
 *
 * @example
 * const untrack = track({ label: "nats:4222", stop, killSync });
 * // ... later, once it is stopped:
 * untrack();
 */
export function track(resource: Started): () => void {
  const s = state();
  s.live.add(resource);
  if (!s.hooked) installExitHooks(s);
  return () => {
    s.live.delete(resource);
  };
}

/** Everything started and not yet stopped, oldest first. */
export function startedResources(): Started[] {
  return [...state().live];
}

/**
 * Stops everything the testkit started and has not stopped yet; for `afterAll`. Resolves with how many it stopped;
 * rejects with an AggregateError if some refused to stop (they are SIGKILLed anyway).
 *
 * @example
 * afterAll(killAllStarted);
 */
export async function killAllStarted(): Promise<number> {
  const live = startedResources();
  const results = await Promise.allSettled(live.map((r) => r.stop()));
  const failed: unknown[] = [];
  results.forEach((result, i) => {
    if (result.status === "rejected") {
      failed.push(result.reason);
      live[i]?.killSync();
    }
  });
  for (const r of live) state().live.delete(r);
  if (failed.length > 0)
    throw new AggregateError(failed, `killAllStarted: ${failed.length} resource(s) failed to stop`);
  return live.length;
}

function killAllSync(s: RegistryState): void {
  for (const resource of s.live) {
    try {
      resource.killSync();
    } catch {
      // Exit hooks must not throw: keep going so every other process is still killed.
    }
  }
  s.live.clear();
}

function installExitHooks(s: RegistryState): void {
  s.hooked = true;
  process.on("exit", () => killAllSync(s));
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAllSync(s);
      // Listening for a signal cancels Node's default exit; if nobody else handles it, die of it as we would have.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}
