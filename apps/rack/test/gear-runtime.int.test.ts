// The gear runtime on a real nats-server: wires across subjects and Racks, restarts with backoff, clean replacement.
import { type NatsServer, startNatsServer, waitFor } from "@fluxrig/testkit";
import type { ScenarioPush } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import { BUILTIN_GEAR_TYPES } from "../src/gears/builtin-gears.js";
import { GearRuntime } from "../src/gears/gear-runtime.js";
import type { GearType } from "../src/gears/gear-types.js";

const logger = pino({ level: "silent" });
const FAST_RESTART = { initialMs: 20, maxMs: 200, factor: 2, jitter: 0.2 };
let nats: NatsServer;
let ncA: NatsConnection;
let ncB: NatsConnection;
let observer: NatsConnection;
const runtimes: GearRuntime[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false });
  [ncA, ncB, observer] = await Promise.all([nats.connect(), nats.connect(), nats.connect()]);
});
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});
afterAll(async () => {
  await nats.stop();
});

function runtime(nc: NatsConnection, extra: Record<string, GearType> = {}): GearRuntime {
  const r = new GearRuntime({
    nc,
    logger,
    types: { ...BUILTIN_GEAR_TYPES, ...extra },
    restart: FAST_RESTART,
  });
  runtimes.push(r);
  return r;
}

const subject = (scenario: string, wire: string) => `fluxrig.msg.${scenario}.${wire}`;

function scenario(name: string, parts: Pick<ScenarioPush, "gears" | "wires">): ScenarioPush {
  return { v: 1, scenario: { name, version: "1" }, ...parts, ts: new Date().toISOString() };
}

/** ticker -> transform -> counter with two wires; `split` puts the counter's wire end on another Rack. */
function pipeline(name: string) {
  const wires = [
    { name: "ticks", from: "tick.out", to: "shape.in", subject: subject(name, "ticks") },
    { name: "shaped", from: "shape.out", to: "count.in", subject: subject(name, "shaped") },
  ];
  return {
    rackA: scenario(name, {
      gears: [
        { name: "tick", type: "ticker", config: { interval: "20ms" } },
        { name: "shape", type: "transform", config: { rename: { count: "n" }, set: { via: "rack-a" } } },
      ],
      wires,
    }),
    rackB: scenario(name, { gears: [{ name: "count", type: "counter", config: { every: 5 } }], wires }),
  };
}

function collect(subj: string): { messages: Record<string, unknown>[] } {
  const box = { messages: [] as Record<string, unknown>[] };
  observer.subscribe(subj, {
    callback: (_e, m) => {
      box.messages.push(m.json());
    },
  });
  return box;
}

describe("gear runtime", () => {
  test("ticker -> transform -> counter across subjects and across two Racks", async () => {
    const { rackA, rackB } = pipeline("demo");
    const seen = collect(subject("demo", "shaped"));
    await observer.flush();
    const b = runtime(ncB);
    await b.apply(rackB);
    const a = runtime(ncA);
    await a.apply(rackA);

    await waitFor(() => (b.describe().find((g) => g.name === "count")?.in ?? 0) >= 5, {
      message: "counter got 5",
    });
    expect(seen.messages[0]).toMatchObject({ n: 1, via: "rack-a" });
    expect(seen.messages[0]).not.toHaveProperty("count");
    expect(a.stats()).toMatchObject({ gears: { running: 2, failed: 0, restarts: 0 } });
    expect(a.stats().messages.out).toBeGreaterThanOrEqual(2);
    expect(b.stats().messages.in).toBeGreaterThanOrEqual(5);
    expect(a.scenario).toEqual({ name: "demo", version: "1" });
  });

  test("a gear that throws is restarted with backoff and counted; the runtime keeps running", async () => {
    let created = 0;
    const flaky: GearType = {
      type: "flaky",
      config: z.strictObject({}),
      create(ctx) {
        created += 1;
        // The first two instances blow up on their first tick; the third one behaves.
        const doomed = created <= 2;
        ctx.every(10, () => {
          if (doomed) throw new Error(`boom ${created}`);
          ctx.emit("out", { ok: true });
        });
        return {};
      },
    };
    const r = runtime(ncA, { flaky });
    const seen = collect(subject("flaky", "w"));
    await observer.flush();
    await r.apply(
      scenario("flaky", {
        gears: [{ name: "f", type: "flaky", config: {} }],
        wires: [{ name: "w", from: "f.out", to: "sink.in", subject: subject("flaky", "w") }],
      }),
    );
    await waitFor(() => seen.messages.length > 0, { message: "the third instance to emit" });
    expect(created).toBe(3);
    expect(r.describe()[0]).toMatchObject({ name: "f", state: "running", restarts: 2, lastError: "boom 2" });
    expect(r.stats().gears).toEqual({ running: 1, failed: 0, restarts: 2 });
  });

  test("a failed gear shows in stats until it is restarted; a rejecting receive counts as a throw", async () => {
    const sink: GearType = {
      type: "sink",
      config: z.strictObject({}),
      create() {
        return { receive: async () => Promise.reject(new Error("cannot store")) };
      },
    };
    const r = new GearRuntime({
      nc: ncA,
      logger,
      types: { sink },
      restart: { initialMs: 60_000, maxMs: 60_000, factor: 1, jitter: 0 },
    });
    runtimes.push(r);
    await r.apply(
      scenario("sinks", {
        gears: [{ name: "s", type: "sink", config: {} }],
        wires: [{ name: "in", from: "src.out", to: "s.in", subject: subject("sinks", "in") }],
      }),
    );
    observer.publish(subject("sinks", "in"), JSON.stringify({ x: 1 }));
    await waitFor(() => r.stats().gears.failed === 1, { message: "sink to fail" });
    expect(r.stats().gears).toEqual({ running: 0, failed: 1, restarts: 0 });
  });

  test("an invalid config fails the gear for good; an unknown type is not started, shown failed; the rest run", async () => {
    const r = runtime(ncA);
    await r.apply(
      scenario("mixed", {
        gears: [
          { name: "bad", type: "ticker", config: { interval: "whenever" } },
          { name: "what", type: "teleporter", config: {} },
          { name: "good", type: "counter", config: {} },
        ],
        wires: [],
      }),
    );
    expect(r.describe().map((g) => [g.name, g.state])).toEqual([
      ["bad", "failed"],
      ["what", "failed"],
      ["good", "running"],
    ]);
    expect(r.describe()[1]?.lastError).toMatch(/teleporter/);
    expect(r.stats().gears).toEqual({ running: 1, failed: 2, restarts: 0 });
    expect(r.describe()[0]?.restarts).toBe(0);
  });

  test("a new scenario stops the old gears and subscriptions before the new ones start", async () => {
    const r = runtime(ncA);
    const old = collect(subject("old", "ticks"));
    const next = collect(subject("new", "ticks"));
    await observer.flush();
    await r.apply(
      scenario("old", {
        gears: [{ name: "t1", type: "ticker", config: { interval: "10ms" } }],
        wires: [{ name: "ticks", from: "t1.out", to: "x.in", subject: subject("old", "ticks") }],
      }),
    );
    await waitFor(() => old.messages.length >= 2, { message: "old ticks" });
    await r.apply(
      scenario("new", {
        gears: [{ name: "t2", type: "ticker", config: { interval: "10ms" } }],
        wires: [{ name: "ticks", from: "t2.out", to: "x.in", subject: subject("new", "ticks") }],
      }),
    );
    await observer.flush();
    const oldCount = old.messages.length;
    await waitFor(() => next.messages.length >= 5, { message: "new ticks" });
    expect(old.messages.length).toBe(oldCount);
    expect(r.describe().map((g) => g.name)).toEqual(["t2"]);
    expect(r.scenario?.name).toBe("new");
    // Totals survive the replacement: heartbeats report the Rack's counts, not the scenario's.
    expect(r.stats().messages.out).toBeGreaterThanOrEqual(oldCount + 5);
  });
});
