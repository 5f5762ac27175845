// LiveStats gives back exactly what the tracker used to store: the heartbeat's stats plus rack_status and presence.
import { type Heartbeat, HeartbeatSchema, RackStatsSchema } from "@fluxrig/wire";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { LiveStats, RACK_STATS_LAYOUT, statsLayout } from "./live-stats.js";

const count = fc.integer({ min: 0, max: 2 ** 40 });
const gauge = fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true });
/** Valid stats of any shape the wire's schema allows, built from the schema: a field added there is generated here. */
const statsArb = statsArbitrary(RackStatsSchema);

/** Valid values of a scalar or an object of them, or a short list of such objects, built from their schema. */
function valueArbitrary(field: z.ZodType): fc.Arbitrary<unknown> {
  const inner = field instanceof z.ZodOptional ? (field.unwrap() as z.ZodType) : field;
  if (inner instanceof z.ZodArray)
    return fc.array(valueArbitrary(inner.element as z.ZodType), { maxLength: 4 });
  if (inner instanceof z.ZodObject) {
    const shape = Object.entries(inner.shape) as Array<[string, z.ZodType]>;
    return fc.record(Object.fromEntries(shape.map(([k, f]) => [k, valueArbitrary(f)])), {
      requiredKeys: shape.filter(([, f]) => !(f instanceof z.ZodOptional)).map(([k]) => k),
    });
  }
  if (inner instanceof z.ZodEnum) return fc.constantFrom(...(inner.options as string[]));
  if (inner.def.type === "string") {
    // Names, types and error texts: whatever the schema takes among a few shapes (a timestamp for `at`).
    return fc
      .constantFrom("tick", "transform", "rack.sink", 'Unexpected token "}"', new Date(0).toISOString())
      .filter((text) => inner.safeParse(text).success);
  }
  // A count is an integer; a gauge takes fractions too.
  return inner.safeParse(0.5).success ? gauge : count;
}

function statsArbitrary(schema: z.ZodObject): fc.Arbitrary<Record<string, unknown>> {
  // A count is an integer; a gauge takes fractions too.
  const numberArb = (field: z.ZodType) => (field.safeParse(0.5).success ? gauge : count);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  const requiredKeys: string[] = [];
  for (const [key, field] of Object.entries(schema.shape) as Array<[string, z.ZodType]>) {
    const inner = field instanceof z.ZodOptional ? (field.unwrap() as z.ZodType) : field;
    if (!(field instanceof z.ZodOptional)) requiredKeys.push(key);
    model[key] =
      inner instanceof z.ZodArray
        ? valueArbitrary(inner)
        : inner instanceof z.ZodObject
          ? fc.record(
              Object.fromEntries(
                Object.entries(inner.shape).map(([leaf, f]) => [leaf, numberArb(f as z.ZodType)]),
              ),
            )
          : numberArb(inner);
  }
  return fc.record(model, { requiredKeys });
}

/** Valid stats with the required keys only. */
const BASE_STATS = {
  cpu: { process_pct: 1.5, host_pct: 2 },
  mem: { rss_bytes: 3, heap_used_bytes: 4 },
  event_loop_lag_ms: 0.25,
  active_handles: 6,
  uptime_s: 7,
};

const sessionArb = fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/);

function heartbeat(
  stats: unknown,
  seq: number,
  status: Heartbeat["status"],
  session = "session-0123456789",
): Heartbeat {
  return HeartbeatSchema.parse({
    v: 1,
    entity_id: "216282733276561408",
    name: "rack-a",
    status,
    seq,
    session,
    version: "1.0.0",
    stats,
    ts: new Date(0).toISOString(),
  });
}

describe("LiveStats", () => {
  test("its layout is every key of the wire's stats schema, in schema order", () => {
    expect(RACK_STATS_LAYOUT.groups.map((g) => g.key)).toEqual(Object.keys(RackStatsSchema.shape));
  });

  test("a field added to a stats schema is copied and written back with no other change", () => {
    const extended = RackStatsSchema.extend({
      open_files: z.int().nonnegative(),
      disk: z.strictObject({ used_bytes: z.int(), free_bytes: z.int() }).optional(),
      temperature_c: z.number().optional(),
    });
    const live = new LiveStats(statsLayout(extended));
    const stats = { ...BASE_STATS, open_files: 12, disk: { used_bytes: 100, free_bytes: 900 } };
    const hb = { ...heartbeat(BASE_STATS, 1, "active"), stats } as unknown as Heartbeat;
    live.take(hb, 2);
    expect(live.toJSON()).toEqual({
      ...stats,
      rack_status: "active",
      presence: { flaps: 2, session: hb.session, seq: 1 },
    });
    expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
    // An optional key absent from the next heartbeat is absent from the stored form too.
    const { disk: _, ...withoutDisk } = stats;
    live.take({ ...hb, seq: 2, stats: { ...withoutDisk, temperature_c: 40.5 } } as unknown as Heartbeat, 2);
    expect(live.toJSON()).toMatchObject({ temperature_c: 40.5 });
    expect(live.toJSON()).not.toHaveProperty("disk");
    expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
  });

  test("the scenario a Rack says it runs is kept with its stats, and gone once it runs none", () => {
    const live = new LiveStats();
    const hb = heartbeat(BASE_STATS, 1, "active");
    live.take({ ...hb, scenario: { name: "lab-demo", version: "3" } }, 0);
    expect(live.toJSON()).toMatchObject({ scenario: { name: "lab-demo", version: "3" } });
    expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
    const kept = live.scenarioName;
    live.take({ ...hb, seq: 2, scenario: { name: "lab-demo", version: "3" } }, 0);
    expect(live.scenarioName).toBe(kept);
    live.take({ ...hb, seq: 3 }, 0);
    expect(live.toJSON()).not.toHaveProperty("scenario");
    expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
  });

  test("the per-gear list is kept in rows reused across heartbeats, equal strings kept, and written back as sent", () => {
    const live = new LiveStats();
    const gear = (over: Record<string, unknown> = {}) => ({
      name: "tick",
      type: "ticker",
      state: "running",
      restarts: 0,
      in: 0,
      out: 1,
      ...over,
    });
    const error = { message: "boom", at: new Date(1000).toISOString() };
    const hb = (seq: number, list: unknown[]) => heartbeat({ ...BASE_STATS, gear_list: list }, seq, "active");
    live.take(
      hb(1, [gear(), gear({ name: "parse", state: "restarting", restarts: 1, last_error: error })]),
      0,
    );
    expect(live.toJSON().gear_list).toEqual([
      gear(),
      gear({ name: "parse", state: "restarting", restarts: 1, last_error: error }),
    ]);
    expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
    const [row0, row1] = live.lists[0]!;
    const heldName = row0!.name;
    const heldError = row1!.last_error;

    // The same gears again, counts moved on: the same rows, the same strings, the same error object.
    live.take(
      hb(2, [
        gear({ out: 5 }),
        gear({ name: "parse", state: "running", restarts: 1, last_error: { ...error } }),
      ]),
      0,
    );
    expect(live.lists[0]![0]).toBe(row0);
    expect(live.lists[0]![0]!.name).toBe(heldName);
    expect(live.lists[0]![1]!.last_error).toBe(heldError);
    expect(live.toJSON().gear_list).toMatchObject([{ out: 5 }, { state: "running" }]);

    // A new error replaces the old one; a gear gone from the list is gone from the stored form.
    const later = { message: "boom again", at: new Date(2000).toISOString() };
    live.take(hb(3, [gear({ name: "parse", state: "failed", last_error: later })]), 0);
    expect(live.toJSON().gear_list).toEqual([gear({ name: "parse", state: "failed", last_error: later })]);
    expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));

    // An older Rack's heartbeat (totals only) stores no list.
    live.take(heartbeat(BASE_STATS, 4, "active"), 0);
    expect(live.toJSON()).not.toHaveProperty("gear_list");
    expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
  });

  test("a schema key that is not a number or an object of numbers is refused at load", () => {
    expect(() => statsLayout(z.strictObject({ name: z.string() }))).toThrow("stats key name");
    expect(() => statsLayout(z.strictObject({ a: z.strictObject({ b: z.string() }) }))).toThrow(
      "stats key a.b",
    );
    expect(() => statsLayout(z.strictObject({ l: z.array(z.number()) }))).toThrow("stats key l");
    expect(() =>
      statsLayout(z.strictObject({ l: z.array(z.strictObject({ a: z.array(z.number()) })) })),
    ).toThrow("stats key l[].a");
  });

  test("round trip: the stored form equals the heartbeat's stats plus rack_status and presence (property)", () => {
    const live = new LiveStats();
    fc.assert(
      fc.property(
        statsArb,
        fc.integer({ min: 1, max: 1e6 }),
        fc.constantFrom("pending", "active", "stopping" as const),
        fc.nat(100),
        (stats, seq, status, flaps) => {
          const hb = heartbeat(stats, seq, status);
          // The same object is reused across heartbeats: leftovers of an earlier one must not leak through.
          live.take(hb, flaps);
          expect(live.toJSON()).toEqual({
            ...hb.stats,
            rack_status: status,
            presence: { flaps, session: hb.session, seq },
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  test("toJSONText is byte for byte JSON.stringify of toJSON (property)", () => {
    const live = new LiveStats();
    fc.assert(
      fc.property(
        statsArb,
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.constantFrom("pending", "active", "stopping" as const),
        fc.nat(),
        sessionArb,
        (stats, seq, status, flaps, session) => {
          live.take(heartbeat(stats, seq, status, session), flaps);
          expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
        },
      ),
      { numRuns: 500 },
    );
  });

  test("toJSONText follows a new session, scenario and status, though it keeps their JSON text between flushes", () => {
    const live = new LiveStats();
    const hb = heartbeat(BASE_STATS, 1, "active");
    const steps: Partial<Heartbeat>[] = [
      { scenario: { name: "lab-demo", version: "3" } },
      { scenario: { name: "lab-demo", version: "4" } },
      { scenario: { name: "other", version: "4" }, session: "s-2-restarted" },
      { session: 'quote"and\\back' },
      { status: "stopping" },
      { scenario: { name: "lab-demo", version: "3" } },
    ];
    for (const [i, over] of steps.entries()) {
      live.take({ ...hb, seq: i + 2, ...over }, i);
      expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
      expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
    }
    expect(live.toJSON()).toMatchObject({
      scenario: { name: "lab-demo", version: "3" },
      rack_status: "active",
    });
  });

  test("toJSONText writes a number JSON cannot hold as null, as JSON.stringify does", () => {
    const live = new LiveStats();
    const hb = heartbeat(BASE_STATS, 1, "active");
    // Numbers the schema refuses, copied as they come (the copy does not check them again).
    const odd = { ...BASE_STATS, event_loop_lag_ms: Number.NaN, uptime_s: Number.POSITIVE_INFINITY };
    live.take({ ...hb, stats: { ...odd, cpu: { process_pct: 1, host_pct: -0 } } }, 0);
    expect(live.toJSONText()).toBe(JSON.stringify(live.toJSON()));
    expect(live.toJSONText()).toContain('"event_loop_lag_ms":null');
  });
});
