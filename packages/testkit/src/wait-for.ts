// Waits on a condition with a deadline instead of sleeping, and says what it last saw when the deadline passes.
import { inspect } from "node:util";
import { WaitForTimeout } from "./errors.js";

/** How long and how often to poll, and what to call the condition in the error. */
export interface WaitForOptions {
  /** Deadline for the whole wait (default 5000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** What is awaited, e.g. "rack-1 to be active"; it leads the timeout error's message. */
  message?: string;
}

/** The values `waitFor` treats as "not yet". */
type Falsy = false | 0 | 0n | "" | null | undefined;

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_INTERVAL_MS = 50;

/**
 * Polls `fn` until it returns a truthy value and resolves with it. A falsy value or a thrown error means "not yet";
 * after the deadline it rejects with a {@link WaitForTimeout} naming `message`, the attempts, and the last error
 * or value. An attempt that hangs does not stretch the deadline.
 *
 * @example
 * const row = await waitFor(() => registry.find("rack-1"), { message: "rack-1 enrolled", timeoutMs: 10_000 });
 */
export function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<Exclude<T, Falsy>> {
  return poll(fn, opts, "truthy") as Promise<Exclude<T, Falsy>>;
}

/**
 * Polls an assertion-style `fn` until it stops throwing and resolves with whatever it returned (even `undefined`).
 * Same deadline and error as {@link waitFor}; use it when the callback asserts rather than returns a value.
 *
 * @example
 * await eventually(() => expect(rack.lines().length).toBeGreaterThan(2), { message: "three log lines" });
 */
export function eventually<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<T> {
  return poll(fn, opts, "no-throw");
}

/** Resolves after `ms`; for the few places where a pause, not a condition, is the point (e.g. poll spacing). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Outcome<T> = { kind: "value"; value: T } | { kind: "error"; error: unknown } | { kind: "hung" };

async function poll<T>(
  fn: () => T | Promise<T>,
  opts: WaitForOptions,
  until: "truthy" | "no-throw",
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  const started = Date.now();
  const deadline = started + timeoutMs;
  let attempts = 0;
  let last: Outcome<T> | undefined;
  for (;;) {
    attempts += 1;
    last = await attempt(fn, deadline - Date.now());
    if (last.kind === "value" && (until === "no-throw" || last.value)) return last.value;
    const left = deadline - Date.now();
    if (left <= 0 || last.kind === "hung") break;
    await sleep(Math.min(intervalMs, left));
  }
  const what =
    opts.message ?? (until === "truthy" ? "condition to become truthy" : "callback to stop throwing");
  throw new WaitForTimeout(describeTimeout({ what, timeoutMs, attempts, last, until }), {
    what,
    timeoutMs,
    attempts,
    lastValue: last.kind === "value" ? last.value : undefined,
    lastError: last.kind === "error" ? last.error : undefined,
  });
}

/** Runs one attempt, but gives up on it (without cancelling it) when the overall deadline passes. */
async function attempt<T>(fn: () => T | Promise<T>, budgetMs: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<Outcome<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "hung" }), Math.max(0, budgetMs));
  });
  const run = (async (): Promise<Outcome<T>> => {
    try {
      return { kind: "value", value: await fn() };
    } catch (error) {
      return { kind: "error", error };
    }
  })();
  try {
    return await Promise.race([run, hung]);
  } finally {
    clearTimeout(timer);
  }
}

function describeTimeout(info: {
  what: string;
  timeoutMs: number;
  attempts: number;
  last: Outcome<unknown>;
  until: "truthy" | "no-throw";
}): string {
  const head = `Timed out after ${info.timeoutMs} ms waiting for ${info.what} (${info.attempts} attempt${info.attempts === 1 ? "" : "s"})`;
  const { last } = info;
  if (last.kind === "hung") return `${head}; the last attempt was still running at the deadline.`;
  if (last.kind === "error") return `${head}; last error: ${show(last.error)}`;
  const hint =
    info.until === "truthy" && last.value === undefined
      ? " (an assertion-style callback that returns nothing should use eventually())"
      : "";
  return `${head}; last value: ${show(last.value)}${hint}`;
}

/** A one-line rendering of a value or error, short enough for a test report. */
export function show(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return inspect(value, { depth: 4, breakLength: Number.POSITIVE_INFINITY, maxStringLength: 1_000 });
}
