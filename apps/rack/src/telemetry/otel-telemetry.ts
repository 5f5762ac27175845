// OpenTelemetry metrics over OTLP/HTTP JSON. Only ever reached through a dynamic import, once the Rack is active.
import type { Attributes } from "@opentelemetry/api";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from "@opentelemetry/sdk-metrics";
import {
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from "@opentelemetry/semantic-conventions";
import type { RackTelemetry, TelemetryOptions } from "./telemetry-types.js";

// A stopping Rack gives its last export this long, then shutdown this long: together well inside Docker's 10 s
// stop grace. Unbounded, a dead endpoint held the stop for about 22 s (the exporter's own timeout and retries).
const FINAL_FLUSH_MS = 1_000;
const SHUTDOWN_MS = 500;

type ExportCallback = Parameters<PushMetricExporter["export"]>[1];
type ExportResult = Parameters<ExportCallback>[0];

/** Wraps an exporter to log the first failure of a run of failures and the recovery, not every attempt. */
function loggingExporter(inner: PushMetricExporter, opts: TelemetryOptions): PushMetricExporter {
  let failing = false;
  const wrapped: PushMetricExporter = {
    export(metrics, done) {
      inner.export(metrics, (result: ExportResult) => {
        // ExportResultCode.SUCCESS is 0; @opentelemetry/core, which holds the enum, is not a direct dependency.
        const ok = result.code === 0;
        if (!ok && !failing)
          opts.logger.warn({ err: result.error, endpoint: opts.endpoint }, "telemetry: export failed");
        if (ok && failing) opts.logger.info({ endpoint: opts.endpoint }, "telemetry: export recovered");
        failing = !ok;
        done(result);
      });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
  };
  if (inner.selectAggregationTemporality)
    wrapped.selectAggregationTemporality = (t) => inner.selectAggregationTemporality!(t);
  if (inner.selectAggregation) wrapped.selectAggregation = (t) => inner.selectAggregation!(t);
  return wrapped;
}

/**
 * Starts a MeterProvider exporting every `exportIntervalMs` to `endpoint` with the Rack's identity as resource.
 * Nothing is registered globally, so a revoked and re-adopted Rack can start a fresh provider.
 *
 * @example
 * const telemetry = startTelemetry({ endpoint, headers, exportIntervalMs: 15_000, identity, logger, workload });
 */
export function startTelemetry(opts: TelemetryOptions): RackTelemetry {
  const { identity } = opts;
  const exporter = new OTLPMetricExporter({ url: opts.endpoint, headers: opts.headers });
  const reader = new PeriodicExportingMetricReader({
    exporter: loggingExporter(exporter, opts),
    exportIntervalMillis: opts.exportIntervalMs,
    exportTimeoutMillis: Math.min(opts.exportIntervalMs, 30_000),
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: "fluxrig-rack",
      [ATTR_SERVICE_INSTANCE_ID]: identity.entityId,
      [ATTR_SERVICE_VERSION]: identity.version,
      "fluxrig.rack.name": identity.name,
      "fluxrig.machine_id": identity.machineId,
    }),
    readers: [reader],
  });
  const meter = provider.getMeter("fluxrig-rack", identity.version);
  const messagesIn = meter.createCounter("fluxrig.rack.gear.messages.in", {
    description: "Messages delivered to gears from their input wires",
  });
  const messagesOut = meter.createCounter("fluxrig.rack.gear.messages.out", {
    description: "Messages published by gears onto their output wires",
  });
  const heartbeats = meter.createCounter("fluxrig.rack.heartbeats.sent", {
    description: "Heartbeats published",
  });
  const memory = meter.createObservableGauge("fluxrig.rack.process.memory", {
    description: "Process memory",
    unit: "By",
  });
  memory.addCallback((result) => {
    const mem = process.memoryUsage();
    result.observe(mem.rss, { "process.memory.type": "rss" });
    result.observe(mem.heapUsed, { "process.memory.type": "heap_used" });
  });
  const gears = meter.createObservableGauge("fluxrig.rack.gears", { description: "Gears by state" });
  gears.addCallback((result) => {
    const workload = opts.workload();
    if (workload === undefined) return;
    result.observe(workload.gears.running, { "fluxrig.gear.state": "running" });
    result.observe(workload.gears.failed, { "fluxrig.gear.state": "failed" });
  });

  const gearAttrs = (gear: string): Attributes => ({ "fluxrig.gear.name": gear });
  opts.logger.info(
    { endpoint: opts.endpoint, export_interval_ms: opts.exportIntervalMs, entity_id: identity.entityId },
    "telemetry: started",
  );
  let stopped = false;
  return {
    messageIn: (gear) => messagesIn.add(1, gearAttrs(gear)),
    messageOut: (gear) => messagesOut.add(1, gearAttrs(gear)),
    heartbeatSent: () => heartbeats.add(1),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await provider.forceFlush({ timeoutMillis: FINAL_FLUSH_MS });
      } catch (error) {
        opts.logger.warn({ err: error, timeout_ms: FINAL_FLUSH_MS }, "telemetry: final flush failed");
      }
      try {
        await provider.shutdown({ timeoutMillis: SHUTDOWN_MS });
      } catch (error) {
        opts.logger.warn({ err: error }, "telemetry: shutdown failed");
      }
      opts.logger.info("telemetry: stopped");
    },
  };
}
