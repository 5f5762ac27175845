// The telemetry contract the agent codes against; no OpenTelemetry import here, so pending Racks never load it.
import type { Logger } from "pino";
import type { GearMessageHooks } from "../gears/gear-runtime.js";
import type { WorkloadStats } from "../heartbeat/rack-stats.js";

/** Who the metrics are about: the resource attributes of every export. */
export interface TelemetryIdentity {
  /** Decimal entity id, `service.instance.id`. */
  entityId: string;
  name: string;
  machineId: number;
  version: string;
}

/** Options of `startTelemetry`. */
export interface TelemetryOptions {
  /** OTLP/HTTP metrics endpoint, e.g. http://127.0.0.1:8090/v1/metrics. */
  endpoint: string;
  headers: Record<string, string>;
  exportIntervalMs: number;
  identity: TelemetryIdentity;
  logger: Logger;
  /** Gear counts for the gauges, while the gear runtime runs. */
  workload: () => WorkloadStats | undefined;
}

/** Running telemetry: instrument hooks, and a stop that flushes before it shuts down. */
export interface RackTelemetry extends GearMessageHooks {
  heartbeatSent(): void;
  /** forceFlush, then shutdown; never throws. */
  stop(): Promise<void>;
}
