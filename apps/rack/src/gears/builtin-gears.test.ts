// The built-in gears against a fake context: ticker output, transform mapping, counter logging, config errors.
import { pino } from "pino";
import { describe, expect, test } from "vitest";
import { GearConfigError } from "../rack-error.js";
import { counterGear, tickerGear, transformGear } from "./builtin-gears.js";
import type { GearContext, GearMessage } from "./gear-types.js";

function context(config: Record<string, unknown>) {
  const emitted: { port: string; message: GearMessage }[] = [];
  const timers: { ms: number; fn: () => void | Promise<void> }[] = [];
  const logs: unknown[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const ctx: GearContext = {
    name: "g",
    config,
    log,
    emit: (port, message) => emitted.push({ port, message }),
    every: (ms, fn) => timers.push({ ms, fn }),
  };
  return { ctx, emitted, timers, logs };
}

describe("ticker", () => {
  test("emits {count, ts} on out at its interval", () => {
    const { ctx, emitted, timers } = context({ interval: "250ms" });
    tickerGear.create(ctx);
    expect(timers[0]?.ms).toBe(250);
    timers[0]?.fn();
    timers[0]?.fn();
    expect(emitted.map((e) => [e.port, e.message.count])).toEqual([
      ["out", 1],
      ["out", 2],
    ]);
    expect(typeof emitted[0]?.message.ts).toBe("string");
  });

  test("accepts milliseconds and refuses nonsense", () => {
    const { ctx, timers } = context({ interval: 1500 });
    tickerGear.create(ctx);
    expect(timers[0]?.ms).toBe(1500);
    expect(() => tickerGear.create(context({ interval: "soon" }).ctx)).toThrow(GearConfigError);
  });
});

describe("transform", () => {
  test("pick, then rename, then set, then drop", () => {
    const { ctx, emitted } = context({
      pick: ["count", "ts", "x"],
      rename: { count: "n" },
      set: { source: "rack-a" },
      drop: ["x"],
    });
    const gear = transformGear.create(ctx);
    gear.receive?.("in", { count: 3, ts: "t", x: 1, y: 2 });
    expect(emitted).toEqual([{ port: "out", message: { ts: "t", n: 3, source: "rack-a" } }]);
  });

  test("with no config it passes messages through", () => {
    const { ctx, emitted } = context({});
    transformGear.create(ctx).receive?.("in", { a: 1 });
    expect(emitted[0]?.message).toEqual({ a: 1 });
  });

  test("invalid config is a GearConfigError", () => {
    expect(() => transformGear.create(context({ rename: { a: 1 } }).ctx)).toThrow(GearConfigError);
    expect(() => transformGear.create(context({ pick: "a" }).ctx)).toThrow(GearConfigError);
    expect(() => transformGear.create(context({ set: [1] }).ctx)).toThrow(GearConfigError);
  });
});

describe("counter", () => {
  test("logs every N messages", () => {
    const { ctx, logs } = context({ every: 2 });
    const gear = counterGear.create(ctx);
    for (let i = 0; i < 5; i++) gear.receive?.("in", { i });
    expect(logs.filter((l) => (l as { msg: string }).msg === "counter: messages received")).toHaveLength(2);
    expect(() => counterGear.create(context({ every: 0 }).ctx)).toThrow(GearConfigError);
  });
});
