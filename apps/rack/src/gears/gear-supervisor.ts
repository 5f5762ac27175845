// Runs one gear: creates its instance, contains its failures, and restarts it with backoff.
import { checkGearConfig, type GearState, type ScenarioPush } from "@fluxrig/wire";
import { WIRE_LIMITS } from "@fluxrig/wire/internal";
import type { Logger } from "pino";
import { Backoff, type BackoffPolicy } from "../lifecycle/backoff.js";
import { GearConfigError } from "../rack-error.js";
import type { Gear, GearContext, GearMessage, GearType } from "./gear-types.js";

/** A gear's spec from the scenario push. */
export type GearSpec = ScenarioPush["gears"][number];

/** Where a gear is: `restarting` waits for its next try after a failure, `failed` is for good (invalid config). */
export type { GearState };

/** A gear's state as heartbeats and tests see it. */
export interface GearInfo {
  name: string;
  type: string;
  state: GearState;
  restarts: number;
  in: number;
  out: number;
  /** The last failure's message, cut to `WIRE_LIMITS.gearErrorChars`, and when it happened. */
  lastError?: string;
  lastErrorAt?: Date;
}

/** A failure as a gear's last error: its message, cut to what a heartbeat carries. */
export function gearErrorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, WIRE_LIMITS.gearErrorChars);
}

/** Options of {@link GearSupervisor}. */
export interface GearSupervisorOptions {
  spec: GearSpec;
  type: GearType<unknown>;
  logger: Logger;
  restart: BackoffPolicy;
  /** Publishes a message from `<gear>.<port>`; returns how many wires carried it. */
  emit: (port: string, message: GearMessage) => number;
  /** A run this long without failing resets the restart backoff. */
  stableMs?: number;
}

/**
 * One gear and its restarts. A throw in `create`, `receive` or a gear timer never escapes: the instance is
 * torn down and a new one is created after a jittered backoff. An invalid config fails it for good.
 */
export class GearSupervisor {
  readonly #opts: GearSupervisorOptions;
  readonly #backoff: Backoff;
  #gear: Gear | undefined;
  #generation = 0;
  #timers = new Set<NodeJS.Timeout>();
  #restartTimer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #state: GearState = "stopped";
  #restarts = 0;
  #in = 0;
  #out = 0;
  #lastError: string | undefined;
  #lastErrorAt: Date | undefined;

  constructor(opts: GearSupervisorOptions) {
    this.#opts = opts;
    this.#backoff = new Backoff(opts.restart);
  }

  get state(): GearState {
    return this.#state;
  }

  info(): GearInfo {
    const { name, type } = this.#opts.spec;
    const info: GearInfo = {
      name,
      type,
      state: this.#state,
      restarts: this.#restarts,
      in: this.#in,
      out: this.#out,
    };
    if (this.#lastError !== undefined) info.lastError = this.#lastError;
    if (this.#lastErrorAt !== undefined) info.lastErrorAt = this.#lastErrorAt;
    return info;
  }

  start(): void {
    const generation = ++this.#generation;
    // Set before create: a gear that fails while being created has run for no time, so its backoff keeps growing.
    this.#startedAt = performance.now();
    try {
      const ctx = this.#context(generation, this.#readConfig());
      this.#gear = this.#opts.type.create(ctx);
      this.#state = "running";
    } catch (error) {
      this.#fail(generation, error);
    }
  }

  /** Hands a message to the gear's input `port`; false when the gear is not running. */
  deliver(port: string, message: GearMessage): boolean {
    const gear = this.#gear;
    if (this.#state !== "running" || gear?.receive === undefined) return false;
    this.#in += 1;
    const generation = this.#generation;
    try {
      const result = gear.receive(port, message);
      if (result instanceof Promise) result.catch((error: unknown) => this.#fail(generation, error));
    } catch (error) {
      this.#fail(generation, error);
    }
    return true;
  }

  async stop(): Promise<void> {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#generation += 1;
    const gear = this.#teardown();
    this.#state = "stopped";
    try {
      await gear?.stop?.();
    } catch (error) {
      this.#opts.logger.warn({ gear: this.#opts.spec.name, err: error }, "gear: error while stopping");
    }
  }

  /** The spec's config read through the type's schema (the one the Mixer checked at import); GearConfigError if not. */
  #readConfig(): unknown {
    const { spec, type } = this.#opts;
    const checked = checkGearConfig(type.config, spec.config, spec.type);
    if (checked.ok) return checked.config;
    const message = checked.issues
      .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
      .join("; ");
    throw new GearConfigError({ gear: spec.name, message });
  }

  #context(generation: number, config: unknown): GearContext<unknown> {
    const { spec, logger } = this.#opts;
    return {
      name: spec.name,
      config,
      log: logger,
      emit: (port, message) => {
        // A torn-down instance may still hold a reference to its context: its output goes nowhere.
        if (generation !== this.#generation) return;
        this.#out += this.#opts.emit(port, message);
      },
      every: (ms, fn) => {
        if (generation !== this.#generation) return;
        const timer = setInterval(() => {
          try {
            const result = fn();
            if (result instanceof Promise) result.catch((error: unknown) => this.#fail(generation, error));
          } catch (error) {
            this.#fail(generation, error);
          }
        }, ms);
        this.#timers.add(timer);
      },
    };
  }

  #teardown(): Gear | undefined {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.clear();
    const gear = this.#gear;
    this.#gear = undefined;
    return gear;
  }

  #fail(generation: number, error: unknown): void {
    if (generation !== this.#generation) return;
    this.#generation += 1;
    const gear = this.#teardown();
    // Restarting unless the config is invalid (below): the state heartbeats report until the next try.
    this.#state = error instanceof GearConfigError ? "failed" : "restarting";
    this.#lastError = gearErrorText(error);
    this.#lastErrorAt = new Date();
    const name = this.#opts.spec.name;
    // Best effort: a failed gear may still hold resources; its own stop() errors change nothing.
    Promise.resolve()
      .then(() => gear?.stop?.())
      .catch(() => undefined);
    if (error instanceof GearConfigError) {
      this.#opts.logger.error({ gear: name, err: error }, "gear: invalid config, not restarting");
      return;
    }
    if (performance.now() - this.#startedAt > (this.#opts.stableMs ?? 60_000)) this.#backoff.reset();
    const delayMs = this.#backoff.next();
    this.#opts.logger.warn({ gear: name, err: error, restart_in_ms: delayMs }, "gear: failed, restarting");
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#restarts += 1;
      this.start();
    }, delayMs);
  }
}
