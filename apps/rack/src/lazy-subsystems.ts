// The only doors to the gear runtime and OpenTelemetry: dynamic imports, opened on activation and never before.
import type * as GearRuntimeModule from "./gears/gear-runtime.js";
import type * as TelemetryModule from "./telemetry/otel-telemetry.js";

/** The subsystems that can be loaded lazily. */
export type LazySubsystem = "telemetry" | "gears";

const loaded = new Set<LazySubsystem>();

/**
 * Which lazy subsystems this process has loaded so far: a debug view that tests and `status` logs use to
 * show that a pending Rack never loaded OpenTelemetry or the gear runtime.
 */
export function loadedSubsystems(): LazySubsystem[] {
  return [...loaded].sort();
}

/** Loads the OpenTelemetry adapter (and with it the SDK). */
export async function loadTelemetry(): Promise<typeof TelemetryModule> {
  const module = await import("./telemetry/otel-telemetry.js");
  loaded.add("telemetry");
  return module;
}

/** Loads the gear runtime and the built-in gear types. */
export async function loadGearRuntime(): Promise<typeof GearRuntimeModule> {
  const module = await import("./gears/gear-runtime.js");
  loaded.add("gears");
  return module;
}
