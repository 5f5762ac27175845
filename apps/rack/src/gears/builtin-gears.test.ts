// The built-in gears against a fake context: ticker output, transform mapping, counter logging; their config read
// through @fluxrig/wire's schemas (the ones the Mixer checks at import), and an invalid one failing the gear for good.
import { parseDuration } from "@fluxrig/config";
import { GEAR_CONFIG_SCHEMAS, GEAR_TYPE_NAMES } from "@fluxrig/wire";
import { pino } from "pino";
import { describe, expect, test } from "vitest";
import { BUILTIN_GEAR_TYPES, counterGear, tickerGear, transformGear } from "./builtin-gears.js";
import { GearSupervisor } from "./gear-supervisor.js";
import type { GearContext, GearMessage, GearType } from "./gear-types.js";

/** A gear created with its config read through its type's schema, as the runtime does. */
function started<C>(type: GearType<C>, config: Record<string, unknown>) {
  const emitted: { port: string; message: GearMessage }[] = [];
  const timers: { ms: number; fn: () => void | Promise<void> }[] = [];
  const logs: unknown[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const ctx: GearContext<C> = {
    name: "g",
    config: type.config.parse(config),
    log,
    emit: (port, message) => emitted.push({ port, message }),
    every: (ms, fn) => timers.push({ ms, fn }),
  };
  return { gear: type.create(ctx), emitted, timers, logs };
}

/** A supervised gear of a built-in type, started once with `config` (no restart can happen within a test). */
function supervised(type: "ticker" | "transform" | "counter", config: Record<string, unknown>) {
  const logs: Record<string, unknown>[] = [];
  const supervisor = new GearSupervisor({
    spec: { name: "g", type, config },
    type: BUILTIN_GEAR_TYPES[type] as GearType<unknown>,
    logger: pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) }),
    restart: { initialMs: 60_000, maxMs: 60_000, factor: 1, jitter: 0 },
    emit: () => 0,
  });
  supervisor.start();
  return { supervisor, logs };
}

describe("the built-in types use the shared config schemas", () => {
  test("every type of @fluxrig/wire is built in, each reading its config with the wire's schema", () => {
    expect(Object.keys(BUILTIN_GEAR_TYPES)).toEqual([...GEAR_TYPE_NAMES]);
    for (const name of GEAR_TYPE_NAMES) {
      expect(BUILTIN_GEAR_TYPES[name].type).toBe(name);
      expect(BUILTIN_GEAR_TYPES[name].config).toBe(GEAR_CONFIG_SCHEMAS[name]);
    }
  });

  test("gear durations read like config-file durations", () => {
    for (const text of ["10ms", "250ms", "1s", "1.5s", "90s", "5m", "2h", "1d", " 2s "]) {
      expect(GEAR_CONFIG_SCHEMAS.ticker.parse({ interval: text }).interval, text).toBe(parseDuration(text));
    }
    for (const text of ["soon", "5", "1w", "-1s", "1 s"]) {
      expect(parseDuration(text), text).toBeUndefined();
      expect(GEAR_CONFIG_SCHEMAS.ticker.safeParse({ interval: text }).success, text).toBe(false);
    }
  });

  test.each([
    [
      "ticker",
      { interval_ms: 1000 },
      /interval_ms: unknown key "interval_ms" \(a ticker gear takes: interval\)/,
    ],
    ["ticker", { interval: "soon" }, /interval: expected a duration/],
    ["transform", { rename: { a: 1 } }, /rename\.a: expected a field name/],
    ["transform", { pick: "a" }, /pick: expected a list of field names/],
    ["transform", { set: [1] }, /set: expected a mapping of fields to set/],
    ["counter", { every: "lots" }, /every: expected a whole number/],
    ["counter", { every: 0 }, /every: expected a whole number/],
  ] as const)("%s with %j fails for good, saying why", (type, config, why) => {
    const { supervisor, logs } = supervised(type, config);
    expect(supervisor.info()).toMatchObject({
      state: "failed",
      restarts: 0,
      lastError: expect.stringMatching(why),
    });
    expect(logs.map((l) => l.msg)).toContain("gear: invalid config, not restarting");
  });

  test("a valid config starts the gear", async () => {
    for (const [type, config] of [
      ["counter", {}],
      ["ticker", { interval: 20 }],
      ["transform", { pick: ["a"] }],
    ] as const) {
      const { supervisor } = supervised(type, config);
      expect(supervisor.state, type).toBe("running");
      await supervisor.stop();
    }
  });
});

describe("ticker", () => {
  test("emits {count, ts} on out at its interval", () => {
    const { emitted, timers } = started(tickerGear, { interval: "250ms" });
    expect(timers[0]?.ms).toBe(250);
    timers[0]?.fn();
    timers[0]?.fn();
    expect(emitted.map((e) => [e.port, e.message.count])).toEqual([
      ["out", 1],
      ["out", 2],
    ]);
    expect(typeof emitted[0]?.message.ts).toBe("string");
  });

  test("accepts milliseconds; every second by default", () => {
    expect(started(tickerGear, { interval: 1500 }).timers[0]?.ms).toBe(1500);
    expect(started(tickerGear, {}).timers[0]?.ms).toBe(1000);
  });
});

describe("transform", () => {
  test("pick, then rename, then set, then drop", () => {
    const { gear, emitted } = started(transformGear, {
      pick: ["count", "ts", "x"],
      rename: { count: "n" },
      set: { source: "rack-a" },
      drop: ["x"],
    });
    gear.receive?.("in", { count: 3, ts: "t", x: 1, y: 2 });
    expect(emitted).toEqual([{ port: "out", message: { ts: "t", n: 3, source: "rack-a" } }]);
  });

  test("with no config it passes messages through", () => {
    const { gear, emitted } = started(transformGear, {});
    gear.receive?.("in", { a: 1 });
    expect(emitted[0]?.message).toEqual({ a: 1 });
  });
});

describe("counter", () => {
  test("logs every N messages", () => {
    const { gear, logs } = started(counterGear, { every: 2 });
    for (let i = 0; i < 5; i++) gear.receive?.("in", { i });
    expect(logs.filter((l) => (l as { msg: string }).msg === "counter: messages received")).toHaveLength(2);
  });
});
