// Heartbeats validate against the wire schema, number themselves per session and skip before enrollment.
import { decodeHeartbeat, HeartbeatSchema, type HeartbeatStatus } from "@fluxrig/wire";
import { afterEach, describe, expect, test } from "vitest";
import { HeartbeatLoop, type HeartbeatLoopOptions, type HeartbeatSource } from "./heartbeat-loop.js";
import { StatsSampler } from "./rack-stats.js";

const samplers: StatsSampler[] = [];
afterEach(() => {
  for (const s of samplers.splice(0)) s.close();
});

function loop(
  source: Partial<HeartbeatSource> = {},
  over: Pick<Partial<HeartbeatLoopOptions>, "publish" | "onError"> = {},
) {
  const sent: { subject: string; data: Uint8Array }[] = [];
  const sampler = new StatsSampler();
  samplers.push(sampler);
  const hb = new HeartbeatLoop({
    name: "rack-nyc-01",
    version: "0.1.0+abc",
    intervalMs: 1_000,
    sampler,
    source: {
      status: () => "pending" as HeartbeatStatus,
      entityId: () => "216282733276561408",
      workload: () => undefined,
      ...source,
    },
    publish: (subject, data) => sent.push({ subject, data }),
    ...over,
  });
  return { hb, sent };
}

describe("HeartbeatLoop", () => {
  test("the per-gear list rides in the heartbeat's stats, and is dropped, totals kept, if it would outgrow a message", () => {
    const gear = (i: number, error: string) => ({
      name: `gear-${i}`,
      type: "transform",
      state: "restarting" as const,
      restarts: 1,
      in: 2,
      out: 3,
      last_error: { message: error, at: new Date(0).toISOString() },
    });
    const workload = (list: ReturnType<typeof gear>[]) => ({
      gears: { running: 0, failed: list.length, restarts: list.length },
      messages: { in: 2, out: 3 },
      gearList: list,
    });
    const few = [gear(0, "boom"), gear(1, "bang")];
    const small = loop({ workload: () => workload(few) });
    small.hb.beat();
    const decoded = decodeHeartbeat(small.sent[0]!.data);
    expect(decoded.ok && decoded.value.stats.gear_list).toEqual(few);

    // 256 gears, each with a 200-character error: over 64 KiB with the list.
    const many = Array.from({ length: 256 }, (_, i) => gear(i, "x".repeat(200)));
    const big = loop({ workload: () => workload(many) });
    big.hb.beat();
    const sent = decodeHeartbeat(big.sent[0]!.data);
    expect(sent.ok).toBe(true);
    if (!sent.ok) return;
    expect(sent.value.stats).not.toHaveProperty("gear_list");
    expect(sent.value.stats.gears).toEqual({ running: 0, failed: 256, restarts: 256 });
  });

  test("a pending heartbeat matches the wire schema and goes to the Rack's subject", () => {
    const { hb, sent } = loop();
    const beat = hb.beat();
    expect(HeartbeatSchema.safeParse(beat).success).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.subject).toBe("fluxrig.event.heartbeat.rack-nyc-01");
    const decoded = decodeHeartbeat(sent[0]!.data);
    expect(decoded.ok && decoded.value).toMatchObject({ status: "pending", seq: 1, name: "rack-nyc-01" });
    expect(decoded.ok && decoded.value.stats.gears).toBeUndefined();
  });

  test("stats carry cpu, memory, loop lag, handles, uptime, and gear counts once active", () => {
    const { hb } = loop({
      status: () => "active",
      workload: () => ({ gears: { running: 3, failed: 1, restarts: 2 }, messages: { in: 10, out: 12 } }),
    });
    const beat = hb.build()!;
    expect(HeartbeatSchema.parse(beat).stats).toMatchObject({
      gears: { running: 3, failed: 1, restarts: 2 },
      messages: { in: 10, out: 12 },
    });
    expect(beat.stats.mem.rss_bytes).toBeGreaterThan(0);
    expect(beat.stats.active_handles).toBeGreaterThanOrEqual(0);
    expect(beat.stats.cpu.host_pct).toBeLessThanOrEqual(100);
  });

  test("the sequence grows by one per heartbeat within a random session", () => {
    const a = loop().hb;
    const b = loop().hb;
    expect([a.build()?.seq, a.build()?.seq, a.build()?.seq]).toEqual([1, 2, 3]);
    expect(a.session).not.toBe(b.session);
    expect(a.session).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  test("no heartbeat before the Mixer has given an entity id, nor in states without a heartbeat status", () => {
    expect(loop({ entityId: () => null }).hb.beat()).toBeNull();
    const { hb, sent } = loop({ status: () => null });
    expect(hb.beat()).toBeNull();
    expect(sent).toHaveLength(0);
    expect(hb.sequence).toBe(0);
  });

  test("a status override sends the last `stopping` heartbeat", () => {
    const { hb } = loop({ status: () => "active" });
    expect(hb.beat("stopping")?.status).toBe("stopping");
  });

  test("a publish failure is reported, not thrown", () => {
    const errors: unknown[] = [];
    const { hb } = loop(
      {},
      {
        publish: () => {
          throw new Error("closed");
        },
        onError: (e) => errors.push(e),
      },
    );
    expect(() => hb.beat()).not.toThrow();
    expect(errors).toHaveLength(1);
  });
});
