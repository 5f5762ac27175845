// What an active Rack runs: telemetry and the gear runtime, both loaded lazily and stopped on deactivation.

import type { ScenarioPush } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { GearRuntime } from "./gears/gear-runtime.js";
import type { GearInfo } from "./gears/gear-supervisor.js";
import type { GearTypeRegistry } from "./gears/gear-types.js";
import type { WorkloadStats } from "./heartbeat/rack-stats.js";
import { loadGearRuntime, loadTelemetry } from "./lazy-subsystems.js";
import type { RackTelemetry, TelemetryIdentity } from "./telemetry/telemetry-types.js";

/** How telemetry is doing, for logs and `snapshot()`. */
export type TelemetryState = "not started" | "disabled" | "running";

/** Options of {@link Workloads}. */
export interface WorkloadsOptions {
  logger: Logger;
  telemetry: { endpoint: string | undefined; headers: Record<string, string>; exportIntervalMs: number };
  gearTypes?: GearTypeRegistry;
}

/**
 * Starts and stops telemetry and gears for the agent. Nothing here imports OpenTelemetry or the gear
 * runtime at load time: both come through `lazy-subsystems.ts` when first started.
 */
export class Workloads {
  readonly #opts: WorkloadsOptions;
  #telemetry: RackTelemetry | undefined;
  #telemetryState: TelemetryState = "not started";
  #gears: GearRuntime | undefined;

  constructor(opts: WorkloadsOptions) {
    this.#opts = opts;
  }

  get telemetryState(): TelemetryState {
    return this.#telemetryState;
  }

  get gearsRunning(): boolean {
    return this.#gears !== undefined;
  }

  async startTelemetry(identity: TelemetryIdentity): Promise<void> {
    if (this.#telemetry !== undefined) return;
    const { endpoint, headers, exportIntervalMs } = this.#opts.telemetry;
    if (endpoint === undefined) {
      this.#telemetryState = "disabled";
      this.#opts.logger.info("telemetry: disabled (no [telemetry] otlp_endpoint)");
      return;
    }
    const { startTelemetry } = await loadTelemetry();
    this.#telemetry = startTelemetry({
      endpoint,
      headers,
      exportIntervalMs,
      identity,
      logger: this.#opts.logger,
      workload: () => this.stats(),
    });
    this.#telemetryState = "running";
  }

  async stopTelemetry(): Promise<void> {
    const telemetry = this.#telemetry;
    this.#telemetry = undefined;
    this.#telemetryState = "not started";
    await telemetry?.stop();
  }

  /** Starts the gear runtime on `nc` and applies `scenario` when there is one. */
  async startGears(nc: NatsConnection, scenario: ScenarioPush | undefined): Promise<void> {
    if (this.#gears === undefined) {
      const { GearRuntime } = await loadGearRuntime();
      this.#gears = new GearRuntime({
        nc,
        logger: this.#opts.logger,
        ...(this.#opts.gearTypes ? { types: this.#opts.gearTypes } : {}),
        hooks: {
          messageIn: (gear) => this.#telemetry?.messageIn(gear),
          messageOut: (gear) => this.#telemetry?.messageOut(gear),
        },
      });
      this.#opts.logger.info("gears: runtime started");
    }
    if (scenario !== undefined) await this.#gears.apply(scenario);
    else this.#opts.logger.info("gears: no scenario deployed to this Rack yet");
  }

  /** Replaces the running scenario; false when the runtime is not running. */
  async applyScenario(scenario: ScenarioPush): Promise<boolean> {
    if (this.#gears === undefined) return false;
    await this.#gears.apply(scenario);
    return true;
  }

  async stopGears(): Promise<void> {
    const gears = this.#gears;
    this.#gears = undefined;
    if (gears === undefined) return;
    await gears.stop();
    this.#opts.logger.info("gears: runtime stopped");
  }

  heartbeatSent(): void {
    this.#telemetry?.heartbeatSent();
  }

  /** The scenario the gear runtime runs now, if any. */
  scenario(): { name: string; version: string } | undefined {
    return this.#gears?.scenario;
  }

  /** Gear and message counts while the runtime runs. */
  stats(): WorkloadStats | undefined {
    return this.#gears?.stats();
  }

  gears(): GearInfo[] | null {
    return this.#gears?.describe() ?? null;
  }
}
