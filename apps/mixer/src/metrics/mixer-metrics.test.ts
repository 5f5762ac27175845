// The Prometheus exposition over fake sources: names, labels and values read at scrape time, never kept twice.
import { describe, expect, test } from "vitest";
import type { RegistryWriterStats } from "../registry/registry-writer.js";
import { Counters } from "../runtime/counters.js";
import { createMixerMetrics, helloOutcome } from "./mixer-metrics.js";

function fakeSources() {
  const counters = new Counters();
  const racks: Record<string, number> = { pending: 2, active: 5, offline: 1, rejected: 0, revoked: 0 };
  const stats: RegistryWriterStats = {
    batches: 3,
    writes: 12,
    largestBatch: 7,
    retriedBatches: 1,
    deferredWrites: 0,
  };
  const bus = { up: true };
  const metrics = createMixerMetrics({
    counters,
    racksByStatus: () => racks,
    writerStats: () => stats,
    busLinkUp: () => bus.up,
  });
  return { counters, racks, stats, bus, metrics };
}

/** The exposition's sample lines (no HELP or TYPE), for exact matches. */
async function samples(metrics: { render(): Promise<string> }): Promise<string[]> {
  return (await metrics.render()).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

describe("helloOutcome", () => {
  test.each([
    ["hello.enrolled", { outcome: "enrolled", code: "" }],
    ["hello.refused.caps", { outcome: "refused", code: "caps" }],
    ["hello.passport_refused.expired", { outcome: "passport_refused", code: "expired" }],
    ["hello.dropped.no_reply_subject", { outcome: "dropped", code: "no_reply_subject" }],
    ["hello.facts_flushed", null],
    ["heartbeat.accepted", null],
  ])("%s", (name, expected) => {
    expect(helloOutcome(name)).toEqual(expected);
  });
});

describe("the Mixer's Prometheus metrics", () => {
  test("Racks by status, hellos by outcome and code, heartbeats accepted and dropped by reason", async () => {
    const { counters, metrics } = fakeSources();
    counters.inc("hello.enrolled", 4);
    counters.inc("hello.refused.bad_signature", 2);
    counters.inc("hello.facts_flushed", 9);
    counters.inc("heartbeat.accepted", 100);
    counters.inc("heartbeat.dropped.unknown_rack", 3);
    counters.inc("heartbeat.dropped.schema");
    const lines = await samples(metrics);
    expect(lines).toEqual(
      expect.arrayContaining([
        'fluxrig_mixer_racks{status="pending"} 2',
        'fluxrig_mixer_racks{status="active"} 5',
        'fluxrig_mixer_racks{status="revoked"} 0',
        'fluxrig_mixer_hellos_total{outcome="enrolled",code=""} 4',
        'fluxrig_mixer_hellos_total{outcome="refused",code="bad_signature"} 2',
        "fluxrig_mixer_heartbeats_accepted_total 100",
        'fluxrig_mixer_heartbeats_dropped_total{reason="unknown_rack"} 3',
        'fluxrig_mixer_heartbeats_dropped_total{reason="schema"} 1',
        'fluxrig_mixer_events_total{name="hello.facts_flushed"} 9',
        "fluxrig_mixer_registry_write_batches_total 3",
        "fluxrig_mixer_registry_writes_total 12",
        "fluxrig_mixer_registry_largest_batch 7",
        "fluxrig_mixer_registry_retried_batches_total 1",
        "fluxrig_mixer_registry_deferred_writes_total 0",
        "fluxrig_mixer_nats_link_up 1",
      ]),
    );
    expect(lines.some((l) => l.includes('outcome="facts_flushed"'))).toBe(false);
    const text = await metrics.render();
    expect(text).toContain("# TYPE fluxrig_mixer_racks gauge");
    expect(text).toContain("# TYPE fluxrig_mixer_hellos_total counter");
    expect(text).toContain("# TYPE fluxrig_mixer_presence_flush_duration_seconds histogram");
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  test("every scrape reads the sources again: nothing is counted twice or kept stale", async () => {
    const { counters, racks, stats, bus, metrics } = fakeSources();
    counters.inc("heartbeat.accepted", 5);
    await metrics.render();
    counters.inc("heartbeat.accepted", 2);
    racks.active = 6;
    racks.pending = 1;
    stats.batches = 4;
    bus.up = false;
    const lines = await samples(metrics);
    expect(lines).toEqual(
      expect.arrayContaining([
        "fluxrig_mixer_heartbeats_accepted_total 7",
        'fluxrig_mixer_racks{status="active"} 6',
        'fluxrig_mixer_racks{status="pending"} 1',
        "fluxrig_mixer_registry_write_batches_total 4",
        "fluxrig_mixer_nats_link_up 0",
      ]),
    );
  });

  test("flush and sweep durations land in their histograms, in seconds", async () => {
    const { metrics } = fakeSources();
    metrics.flush(0.003);
    metrics.flush(0.2);
    metrics.sweep(0.0002);
    const lines = await samples(metrics);
    expect(lines).toEqual(
      expect.arrayContaining([
        "fluxrig_mixer_presence_flush_duration_seconds_count 2",
        'fluxrig_mixer_presence_flush_duration_seconds_bucket{le="0.005"} 1',
        'fluxrig_mixer_presence_flush_duration_seconds_bucket{le="0.25"} 2',
        "fluxrig_mixer_presence_sweep_duration_seconds_count 1",
        'fluxrig_mixer_presence_sweep_duration_seconds_bucket{le="0.0005"} 1',
      ]),
    );
  });

  test("fluxrig_mixer_leading is 1 for a single Mixer, and follows the gate in cluster mode", async () => {
    expect(await samples(fakeSources().metrics)).toContain("fluxrig_mixer_leading 1");
    const gate = { leading: false };
    const metrics = createMixerMetrics({
      counters: new Counters(),
      racksByStatus: () => ({}),
      writerStats: () => fakeSources().stats,
      busLinkUp: () => true,
      leading: () => gate.leading,
    });
    expect(await samples(metrics)).toContain("fluxrig_mixer_leading 0");
    gate.leading = true;
    expect(await samples(metrics)).toContain("fluxrig_mixer_leading 1");
  });

  test("two Mixers in one process keep separate registries", async () => {
    const a = fakeSources();
    const b = fakeSources();
    a.counters.inc("heartbeat.accepted", 1);
    expect(await samples(a.metrics)).toContain("fluxrig_mixer_heartbeats_accepted_total 1");
    expect(await samples(b.metrics)).toContain("fluxrig_mixer_heartbeats_accepted_total 0");
  });
});

describe("the Grafana dashboard in examples/", () => {
  test("is JSON and queries only metrics the Mixer exposes", async () => {
    const { readFile } = await import("node:fs/promises");
    const path = new URL("../../../../examples/grafana/fluxrig-mixer.json", import.meta.url);
    const dashboard = JSON.parse(await readFile(path, "utf8")) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const { metrics } = fakeSources();
    // Every declared metric, with a histogram's series, whether or not it has a sample yet.
    const exposed = new Set(
      [...(await metrics.render()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
        type === "histogram" ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name],
      ),
    );
    const queried = dashboard.panels.flatMap((p) =>
      p.targets.flatMap((t) => t.expr.match(/fluxrig_mixer_[a-z_]+/g) ?? []),
    );
    expect(queried.length).toBeGreaterThan(8);
    for (const name of queried) expect(exposed, name).toContain(name);
  });
});
