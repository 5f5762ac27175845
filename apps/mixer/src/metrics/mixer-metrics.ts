// The Mixer's own metrics for Prometheus: read at scrape time from the counters, directory and writer it already keeps.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RegistryWriterStats } from "../registry/registry-writer.js";

/**
 * Where each metric is read from. Nothing here is counted twice: a scrape reads the Mixer's named counters, the
 * directory's counts by status, the writer's stats and the bus link as they are at that moment.
 */
export interface MixerMetricsSources {
  /** The Mixer's named counters (`hello.refused.<code>`, `heartbeat.dropped.<reason>`, ...). */
  counters: { snapshot(): Record<string, number> };
  /** Racks by status as committed (the `RackDirectory`). */
  racksByStatus: () => Record<string, number>;
  /** The registry writer's running totals. */
  writerStats: () => Readonly<RegistryWriterStats>;
  /** True while the Mixer's own NATS link is up. */
  busLinkUp: () => boolean;
  /** True while this Mixer leads the work done once (a single Mixer always does; cluster mode: its lease). */
  leading?: () => boolean;
}

/** Seconds of a presence flush or sweep: from sub-millisecond idle ticks to a stalled DuckDB. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Hello counters that are not outcomes of one hello (background flushes of hello facts). */
const NOT_HELLO_OUTCOMES = new Set(["facts_flushed", "facts_flush_failed"]);

/** A hello counter as (outcome, code): `hello.refused.caps` is (refused, caps), `hello.enrolled` (enrolled, ""). */
export function helloOutcome(name: string): { outcome: string; code: string } | null {
  if (!name.startsWith("hello.")) return null;
  const rest = name.slice("hello.".length);
  const dot = rest.indexOf(".");
  const outcome = dot < 0 ? rest : rest.slice(0, dot);
  if (NOT_HELLO_OUTCOMES.has(outcome)) return null;
  return { outcome, code: dot < 0 ? "" : rest.slice(dot + 1) };
}

/** The Prometheus side of the Mixer: a registry of its own (not prom-client's global one) and the two timers. */
export interface MixerMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text, every collector read now. */
  render(): Promise<string>;
  /** Records one presence flush (last seen, stats and hello facts written). */
  flush(seconds: number): void;
  /** Records one offline sweep (including its wait to be caught up with the bus). */
  sweep(seconds: number): void;
}

/**
 * Builds the Mixer's metrics over `sources`.
 *
 * @example
 * const metrics = createMixerMetrics({ counters, racksByStatus: () => directory.counts(),
 *   writerStats: () => writer.stats, busLinkUp: () => !tracker.blind });
 * const text = await metrics.render();
 */
export function createMixerMetrics(sources: MixerMetricsSources): MixerMetrics {
  const registry = new Registry();
  const counted = (prefix: string): Array<[string, number]> =>
    Object.entries(sources.counters.snapshot()).filter(([name]) => name.startsWith(prefix));

  new Gauge({
    name: "fluxrig_mixer_racks",
    help: "Racks in the registry by status, as committed.",
    labelNames: ["status"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [status, n] of Object.entries(sources.racksByStatus())) this.set({ status }, n);
    },
  });

  new Counter({
    name: "fluxrig_mixer_hellos_total",
    help: "Hellos answered, by outcome (enrolled, renewed, refused, ...) and refusal code.",
    labelNames: ["outcome", "code"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, n] of counted("hello.")) {
        const labels = helloOutcome(name);
        if (labels !== null) this.inc(labels, n);
      }
    },
  });

  new Counter({
    name: "fluxrig_mixer_heartbeats_accepted_total",
    help: "Heartbeats applied to presence.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sources.counters.snapshot()["heartbeat.accepted"] ?? 0);
    },
  });

  new Counter({
    name: "fluxrig_mixer_heartbeats_dropped_total",
    help: "Heartbeats dropped, by reason (unknown_rack, stale_sequence, schema, ...).",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, n] of counted("heartbeat.dropped.")) {
        this.inc({ reason: name.slice("heartbeat.dropped.".length) }, n);
      }
    },
  });

  new Counter({
    name: "fluxrig_mixer_events_total",
    help: "Every named counter of the Mixer (as in GET /api/v1/cluster), by name.",
    labelNames: ["name"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, n] of Object.entries(sources.counters.snapshot())) this.inc({ name }, n);
    },
  });

  const writerCounter = (name: string, help: string, read: (s: Readonly<RegistryWriterStats>) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(sources.writerStats()));
      },
    });
  writerCounter(
    "fluxrig_mixer_registry_write_batches_total",
    "Registry write batches committed.",
    (s) => s.batches,
  );
  writerCounter(
    "fluxrig_mixer_registry_writes_total",
    "Registry writes committed (in all batches).",
    (s) => s.writes,
  );
  writerCounter(
    "fluxrig_mixer_registry_retried_batches_total",
    "Write batches that failed as a whole and were retried one write at a time.",
    (s) => s.retriedBatches,
  );
  writerCounter(
    "fluxrig_mixer_registry_deferred_writes_total",
    "Writes moved to the next batch because they reused a key their batch freed.",
    (s) => s.deferredWrites,
  );
  new Gauge({
    name: "fluxrig_mixer_registry_largest_batch",
    help: "The most writes one registry batch has held since start.",
    registers: [registry],
    collect() {
      this.set(sources.writerStats().largestBatch);
    },
  });

  new Gauge({
    name: "fluxrig_mixer_nats_link_up",
    help: "1 while the Mixer's own NATS link is up; 0 while it is down (offline detection is paused).",
    registers: [registry],
    collect() {
      this.set(sources.busLinkUp() ? 1 : 0);
    },
  });

  new Gauge({
    name: "fluxrig_mixer_leading",
    help: "1 while this Mixer leads the work done once (offline sweeps, pending expiry, revocation pruning); always 1 for a single Mixer.",
    registers: [registry],
    collect() {
      this.set((sources.leading?.() ?? true) ? 1 : 0);
    },
  });

  const flush = new Histogram({
    name: "fluxrig_mixer_presence_flush_duration_seconds",
    help: "Time of one presence flush: last seen and live stats, then hello facts, written to DuckDB.",
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const sweep = new Histogram({
    name: "fluxrig_mixer_presence_sweep_duration_seconds",
    help: "Time of one offline sweep, including its wait to be caught up with the bus and its verdicts' commit.",
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    flush: (seconds) => flush.observe(seconds),
    sweep: (seconds) => sweep.observe(seconds),
  };
}
