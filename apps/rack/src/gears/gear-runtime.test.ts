// The gear runtime's apply on an in-memory bus: unchanged gears keep running across pushes, changed ones restart.
import { waitFor } from "@fluxrig/testkit";
import type { ScenarioPush } from "@fluxrig/wire";
import { WIRE_LIMITS } from "@fluxrig/wire/internal";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { GearRuntime } from "./gear-runtime.js";
import type { GearContext, GearMessage, GearType } from "./gear-types.js";

/** The part of a NATS connection the runtime uses: publish delivers at once to this bus's subscribers. */
class FakeBus {
  readonly subscribers = new Map<string, Set<(data: Uint8Array) => void>>();
  readonly connection = {
    publish: (subject: string, data: Uint8Array) => {
      for (const deliver of this.subscribers.get(subject) ?? []) deliver(data);
    },
    subscribe: (
      subject: string,
      opts: { callback: (err: Error | null, msg: { data: Uint8Array }) => void },
    ) => {
      const deliver = (data: Uint8Array) => opts.callback(null, { data });
      const set = this.subscribers.get(subject) ?? new Set();
      set.add(deliver);
      this.subscribers.set(subject, set);
      return { unsubscribe: () => set.delete(deliver) };
    },
    flush: async () => undefined,
  } as unknown as NatsConnection;

  count(subject: string): number {
    return this.subscribers.get(subject)?.size ?? 0;
  }
}

/** A source that emits when told, and a sink that counts; both count their instances. */
function probeTypes() {
  const made = { source: 0, sink: 0, stopped: 0 };
  const stop = () => {
    made.stopped += 1;
  };
  const sources: GearContext[] = [];
  const source: GearType = {
    type: "probe-source",
    config: z.record(z.string(), z.unknown()),
    create(ctx) {
      made.source += 1;
      sources.push(ctx);
      return { stop };
    },
  };
  const sink: GearType = {
    type: "probe-sink",
    config: z.record(z.string(), z.unknown()),
    create() {
      made.sink += 1;
      return { receive: (_port: string, _m: GearMessage) => undefined, stop };
    },
  };
  /** The newest instance of source `name` emits `n` messages. */
  const emit = (name: string, n: number) => {
    const ctx = sources.filter((c) => c.name === name).at(-1);
    for (let i = 0; i < n; i++) ctx?.emit("out", { i });
  };
  return { types: { "probe-source": source, "probe-sink": sink }, made, emit };
}

const SUBJECT = "fluxrig.msg.demo.feed";

function push(over: { version?: string; every?: number; subject?: string } = {}): ScenarioPush {
  return {
    v: 1,
    scenario: { name: "demo", version: over.version ?? "1" },
    gears: [
      { name: "src", type: "probe-source", config: { every: over.every ?? 1, nested: { a: 1, b: [1, 2] } } },
      { name: "sink", type: "probe-sink", config: {} },
    ],
    wires: [{ name: "feed", from: "src.out", to: "sink.in", subject: over.subject ?? SUBJECT }],
    ts: new Date().toISOString(),
  };
}

function setup() {
  const bus = new FakeBus();
  const probes = probeTypes();
  const runtime = new GearRuntime({
    nc: bus.connection,
    logger: pino({ level: "silent" }),
    types: probes.types,
  });
  const info = (name: string) => runtime.describe().find((g) => g.name === name);
  return { bus, probes, runtime, info };
}

describe("GearRuntime.apply", () => {
  test("an identical push keeps every gear running: no new instance, counters and subscriptions kept", async () => {
    const { bus, probes, runtime, info } = setup();
    await runtime.apply(push());
    probes.emit("src", 3);
    expect(info("sink")).toMatchObject({ state: "running", in: 3 });
    expect(info("src")).toMatchObject({ state: "running", out: 3 });

    // The same scenario again, as re-activating it sends it (a new timestamp, config keys in another order).
    const again = push();
    again.gears[0]!.config = { nested: { b: [1, 2], a: 1 }, every: 1 };
    await runtime.apply(again);
    expect(probes.made).toEqual({ source: 1, sink: 1, stopped: 0 });
    expect(info("sink")).toMatchObject({ state: "running", in: 3 });
    expect(info("src")).toMatchObject({ state: "running", out: 3 });
    expect(bus.count(SUBJECT)).toBe(1);
    probes.emit("src", 2);
    expect(info("sink")?.in).toBe(5);
    expect(runtime.stats().messages).toEqual({ in: 5, out: 5 });
  });

  test("a changed gear restarts, its unchanged neighbour keeps running; totals survive", async () => {
    const { bus, probes, runtime, info } = setup();
    await runtime.apply(push());
    probes.emit("src", 4);
    await runtime.apply(push({ version: "2", every: 2 }));
    expect(probes.made).toEqual({ source: 2, sink: 1, stopped: 1 });
    expect(info("src")).toMatchObject({ state: "running", out: 0 });
    expect(info("sink")).toMatchObject({ state: "running", in: 4 });
    expect(runtime.scenario).toEqual({ name: "demo", version: "2" });
    probes.emit("src", 1);
    expect(info("sink")?.in).toBe(5);
    expect(bus.count(SUBJECT)).toBe(1);
    expect(runtime.stats().messages).toEqual({ in: 5, out: 5 });
  });

  test("a changed wire restarts both its ends; a removed gear stops and loses its subscriptions", async () => {
    const { bus, probes, runtime } = setup();
    await runtime.apply(push());
    const moved = "fluxrig.msg.demo.feed2";
    await runtime.apply(push({ subject: moved }));
    expect(probes.made).toEqual({ source: 2, sink: 2, stopped: 2 });
    expect(bus.count(SUBJECT)).toBe(0);
    expect(bus.count(moved)).toBe(1);

    const onlySource = push({ subject: moved });
    onlySource.gears = onlySource.gears.filter((g) => g.name === "src");
    await runtime.apply(onlySource);
    expect(runtime.describe().map((g) => g.name)).toEqual(["src"]);
    expect(bus.count(moved)).toBe(0);
    // The source's wire still names sink.in, so its key is unchanged: it kept running.
    expect(probes.made).toEqual({ source: 2, sink: 2, stopped: 3 });
  });
});

describe("GearRuntime per-gear health", () => {
  test("each gear's state, restarts, messages and last error with its time, in scenario order", async () => {
    const bus = new FakeBus();
    const probes = probeTypes();
    let failing = true;
    const parser: GearType = {
      type: "probe-parser",
      config: z.record(z.string(), z.unknown()),
      create() {
        return {
          receive: () => {
            if (failing) throw new Error("cannot parse the message");
          },
        };
      },
    };
    const runtime = new GearRuntime({
      nc: bus.connection,
      logger: pino({ level: "silent" }),
      types: { ...probes.types, "probe-parser": parser },
      restart: { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 },
    });
    const scenario = push();
    scenario.gears = [
      { name: "what", type: "teleporter", config: {} },
      ...scenario.gears,
      { name: "parse", type: "probe-parser", config: {} },
    ];
    scenario.wires.push({
      name: "feed2",
      from: "src.out",
      to: "parse.in",
      subject: "fluxrig.msg.demo.feed2",
    });
    await runtime.apply(scenario);
    const gear = (name: string) => runtime.stats().gearList?.find((g) => g.name === name);

    probes.emit("src", 2);
    expect(runtime.stats().gearList?.map((g) => g.name)).toEqual(["what", "src", "sink", "parse"]);
    expect(gear("what")).toMatchObject({ type: "teleporter", state: "failed", restarts: 0 });
    expect(gear("what")?.last_error?.message).toMatch(/teleporter/);
    expect(gear("src")).toEqual({
      name: "src",
      type: "probe-source",
      state: "running",
      restarts: 0,
      in: 0,
      out: 4,
    });
    expect(gear("sink")).toMatchObject({ state: "running", in: 2, out: 0 });

    // The parser threw on the first message: restarting, its error with the time it happened.
    const before = Date.now();
    expect(gear("parse")).toMatchObject({
      state: "restarting",
      restarts: 0,
      in: 1,
      last_error: { message: "cannot parse the message" },
    });
    const at = Date.parse(gear("parse")!.last_error!.at);
    expect(at).toBeLessThanOrEqual(before);
    expect(at).toBeGreaterThan(before - 5_000);
    expect(runtime.stats().gears).toEqual({ running: 2, failed: 2, restarts: 0 });

    await waitFor(() => gear("parse")?.state === "running", { message: "the parser to be restarted" });
    failing = false;
    probes.emit("src", 3);
    // Restarts counted, counts grew, the last error kept (it is the last one, not a current one).
    expect(gear("parse")).toMatchObject({ state: "running", restarts: 1, in: 4 });
    expect(gear("parse")?.last_error?.message).toBe("cannot parse the message");
    expect(gear("sink")).toMatchObject({ in: 5 });
    expect(runtime.stats().gears).toEqual({ running: 3, failed: 1, restarts: 1 });
    await runtime.stop();
    expect(runtime.stats().gearList).toEqual([]);
  });

  test("a long error is cut to what a heartbeat carries", async () => {
    const bus = new FakeBus();
    const loud: GearType = {
      type: "probe-loud",
      config: z.record(z.string(), z.unknown()),
      create() {
        throw new Error("x".repeat(5_000));
      },
    };
    const runtime = new GearRuntime({
      nc: bus.connection,
      logger: pino({ level: "silent" }),
      types: { "probe-loud": loud },
      restart: { initialMs: 60_000, maxMs: 60_000, factor: 1, jitter: 0 },
    });
    await runtime.apply({ ...push(), gears: [{ name: "loud", type: "probe-loud", config: {} }], wires: [] });
    expect(runtime.stats().gearList?.[0]?.last_error?.message).toHaveLength(WIRE_LIMITS.gearErrorChars);
    await runtime.stop();
  });
});
