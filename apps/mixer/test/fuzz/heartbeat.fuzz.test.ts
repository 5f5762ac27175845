import { MixerHarness, ScriptedRack, waitFor } from "@fluxrig/testkit";
import { encodeMessage, type Heartbeat, HeartbeatSchema, heartbeatSubject, SUBJECTS } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect } from "vitest";
import {
  hostileString,
  hostileValue,
  type Mutation,
  mutate,
  oversizedOrDeep,
  rawBytes,
} from "./support/arbitraries.js";
import { batched, FuzzRecord, type PropertyRecord, tally } from "./support/fuzz-record.js";
import {
  changedRows,
  counters,
  delta,
  deltas,
  type MixerState,
  racks,
  runProperty,
  snapshot,
} from "./support/mixer-state.js";

const record = new FuzzRecord("heartbeat", { sample: 300 });
const TARGET = SUBJECTS.heartbeatAll;
const PREFIX = "fluxrig.event.heartbeat.";
const utf8 = new TextEncoder();

let h: MixerHarness;
let nc: NatsConnection;
/** Heartbeats only as the sentinel that closes each property. */
let sentinel: ScriptedRack;
/** Active, silent: junk aimed at it must never move its row. */
let victim: ScriptedRack;
let other: ScriptedRack;
let revoked: ScriptedRack;
let rejected: ScriptedRack;

/** Publishes, counting what the client itself refuses to send (it never reaches the Mixer). */
function publish(subject: string, data: Uint8Array, rec: PropertyRecord): boolean {
  try {
    nc.publish(subject, data);
    return true;
  } catch {
    rec.outcomes.client_refused = (rec.outcomes.client_refused ?? 0) + 1;
    return false;
  }
}

/**
 * The sentinel heartbeat, published after the junk on the same connection, is counted and flushed: every junk
 * message before it has been handled too (one subscription, read in order), and any row it dirtied is written.
 */
async function sentinelSeen(start: Record<string, number>): Promise<void> {
  await nc.flush();
  const before = (await racks(h)).get(sentinel.name)?.last_seen ?? "";
  sentinel.heartbeat();
  await nc.flush();
  await waitFor(async () => delta(start, await counters(h), "heartbeat.accepted") >= 1, {
    timeoutMs: 30_000,
    message: "the sentinel heartbeat to be accepted",
  });
  await waitFor(async () => ((await racks(h)).get(sentinel.name)?.last_seen ?? "") > before, {
    timeoutMs: 30_000,
    message: "the sentinel's last_seen to be flushed",
  });
}

/**
 * Runs one publish-only property: junk, sentinel, then exactly one accepted heartbeat (the sentinel's), every
 * junk message dropped and counted, and no row changed except the sentinel's presence fields.
 */
function property(
  rec: PropertyRecord,
  body: () => Promise<number>,
  extra?: (before: MixerState, after: MixerState) => void,
): Promise<void> {
  return runProperty(h, rec, body, async (before, sent) => {
    await sentinelSeen(before.counters);
    const after = await snapshot(h);
    Object.assign(rec.outcomes, deltas(before.counters, after.counters, "heartbeat.dropped"));
    const changed = changedRows(before.racks, after.racks);
    // Presence fields too: junk must not move anyone's last_seen or stats (the sentinel's moved on purpose).
    const touched = [...after.racks.values()]
      .filter((r) => r.name !== sentinel.name)
      .filter((r) => {
        const b = before.racks.get(r.name);
        return JSON.stringify([b?.last_seen, b?.stats]) !== JSON.stringify([r.last_seen, r.stats]);
      })
      .map((r) => r.name);
    rec.rows_written_from_invalid_input = changed.length + touched.length;
    expect(changed).toEqual([]);
    expect(touched).toEqual([]);
    expect(after.events.length).toBe(before.events.length);
    expect(delta(before.counters, after.counters, "heartbeat.accepted")).toBe(1);
    expect(delta(before.counters, after.counters, "heartbeat.dropped")).toBe(sent);
    extra?.(before, after);
  });
}

beforeAll(async () => {
  h = await MixerHarness.create({
    env: {
      FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: "30m",
      FLUXRIG_PRESENCE_FLUSH_INTERVAL: "100ms",
      FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false",
    },
  });
  nc = await h.client();
  sentinel = new ScriptedRack(nc, "fz-sentinel");
  victim = new ScriptedRack(nc, "fz-victim");
  other = new ScriptedRack(nc, "fz-other");
  revoked = new ScriptedRack(nc, "fz-revoked");
  rejected = new ScriptedRack(nc, "fz-rejected");
  for (const r of [sentinel, victim, other, revoked, rejected])
    expect((await r.hello()).status).toBe("pending");
  const refs = [sentinel, victim, other, revoked].map((r) => r.name);
  expect((await h.api("/api/v1/racks/adopt", { method: "POST", json: { refs } })).status).toBe(200);
  for (const r of [sentinel, victim, other, revoked]) expect((await r.hello()).status).toBe("active");
  expect((await h.api(`/api/v1/racks/${revoked.name}/revoke`, { method: "POST" })).status).toBe(200);
  expect((await h.api(`/api/v1/racks/${rejected.name}/reject`, { method: "POST" })).status).toBe(200);
  // One real heartbeat each, so last_seen and stats are set and their not moving means something.
  const start = await counters(h);
  victim.heartbeat();
  other.heartbeat();
  await sentinelSeen(start);
}, 60_000);

afterAll(async () => {
  record.write();
  await h?.[Symbol.asyncDispose]();
});

/** Subject tokens: Rack names (live, refused, unknown), hostile text, several tokens, wildcards. */
const subjectToken: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "fz-victim",
    "fz-other",
    "fz-revoked",
    "fz-rejected",
    "fz-unknown",
    "*",
    ">",
    "a.b",
    "a.>",
    "",
  ),
  hostileString.map((s) => s.replace(/[\s\p{Cc}]/gu, "_")).filter((s) => s.length > 0 && s.length < 200),
  fc.stringMatching(/^[a-z0-9-]{1,70}$/),
);

describe("fluxrig.event.heartbeat.> under hostile input", () => {
  record.test(
    "raw bytes on any heartbeat subject are dropped and counted",
    { property: "heartbeat.raw_bytes", target: TARGET, perCaseMs: 5 },
    async (rec) => {
      await property(rec, async () => {
        let sent = 0;
        await batched(rec, fc.tuple(subjectToken, rawBytes), record.runs, async ([token, data]) => {
          rec.cases += 1;
          const subject = `${PREFIX}${token}`;
          // Only subjects NATS delivers to fluxrig.event.heartbeat.> count: no empty tokens.
          const delivered = token.split(".").every((t) => t.length > 0);
          if (publish(subject, data, rec)) {
            if (delivered) sent += 1;
            else tally(rec, "not_delivered_by_nats (empty subject token)");
          }
        });
        return sent;
      });
    },
  );

  record.test(
    "a valid heartbeat with one field broken (wrong type, huge, SQL, unicode, deep) is dropped as schema",
    { property: "heartbeat.field_mutated", target: TARGET, perCaseMs: 5 },
    async (rec) => {
      const paths: string[][] = [
        ["v"],
        ["entity_id"],
        ["name"],
        ["status"],
        ["seq"],
        ["session"],
        ["version"],
        ["ts"],
        ["stats"],
        ["stats", "cpu"],
        ["stats", "cpu", "process_pct"],
        ["stats", "mem", "rss_bytes"],
        ["stats", "event_loop_lag_ms"],
        ["stats", "active_handles"],
        ["stats", "gears"],
        ["stats", "gears", "running"],
        ["stats", "messages"],
        ["stats", "extra"],
        ["extra"],
        ["__proto__"],
      ];
      const template = victim.heartbeatMessage();
      const mutation: fc.Arbitrary<Mutation> = fc
        .record({
          path: fc.constantFrom(...paths),
          value: fc.oneof(hostileValue, fc.constantFrom(-1, 1.5, 2 ** 64, "1", Number.MAX_VALUE)),
          del: fc.boolean(),
        })
        // Only broken messages: a mutation that leaves a valid heartbeat of the victim would be a real one.
        .filter((m) => !HeartbeatSchema.safeParse(mutate(template, m)).success);
      await property(rec, async () => {
        let sent = 0;
        await batched(rec, mutation, record.runs, async (m) => {
          rec.cases += 1;
          const msg = mutate(victim.heartbeatMessage(), m);
          const text = JSON.stringify(msg);
          if (publish(heartbeatSubject(victim.name), utf8.encode(text), rec)) sent += 1;
        });
        return sent;
      });
    },
  );

  record.test(
    "valid heartbeats whose entity id, name or subject do not match the Rack, or from rejected Racks, are dropped",
    { property: "heartbeat.identity_mismatch", target: TARGET, perCaseMs: 5 },
    async (rec) => {
      const mode = fc.constantFrom(
        "other_entity_id",
        "random_entity_id",
        "unknown_name",
        "name_not_subject",
        "rejected",
        "replayed_seq",
      );
      const input = fc.record({
        mode,
        id: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
        seq: fc.integer({ min: 1, max: 2 ** 31 }),
        name: fc.stringMatching(/^fz-ghost-[a-z0-9]{1,8}$/),
      });
      // Replays: the sentinel's session with a seq it already sent (the sentinel may move; no other row may).
      const replayBase = sentinel.heartbeatMessage();
      await property(
        rec,
        async () => {
          let sent = 0;
          await batched(rec, input, record.runs, async (i) => {
            rec.cases += 1;
            let subject = heartbeatSubject(victim.name);
            let msg: Heartbeat;
            switch (i.mode) {
              case "other_entity_id":
                msg = victim.heartbeatMessage({ entity_id: other.entityId! });
                break;
              case "random_entity_id":
                msg = victim.heartbeatMessage({
                  entity_id: (i.id === BigInt(victim.entityId!) ? 1n : i.id).toString(),
                });
                break;
              case "unknown_name":
                subject = heartbeatSubject(i.name);
                msg = { ...victim.heartbeatMessage(), name: i.name };
                break;
              case "name_not_subject":
                msg = { ...victim.heartbeatMessage(), name: other.name, entity_id: other.entityId! };
                break;
              case "rejected":
                subject = heartbeatSubject(rejected.name);
                msg = rejected.heartbeatMessage();
                break;
              case "replayed_seq":
                subject = heartbeatSubject(sentinel.name);
                msg = {
                  ...replayBase,
                  seq: 1 + (i.seq % (replayBase.seq - 1)),
                  ts: new Date().toISOString(),
                };
                break;
            }
            if (publish(subject, encodeMessage(msg), rec)) sent += 1;
          });
          return sent;
        },
        (before, after) => {
          const reasons = deltas(before.counters, after.counters, "heartbeat.dropped");
          for (const k of Object.keys(reasons)) {
            expect([
              "heartbeat.dropped.entity_mismatch",
              "heartbeat.dropped.unknown_rack",
              "heartbeat.dropped.subject_mismatch",
              "heartbeat.dropped.rejected",
              "heartbeat.dropped.replay",
            ]).toContain(k);
          }
        },
      );
    },
  );

  record.test(
    "oversized (over 64 KiB) and deeply nested heartbeats are dropped before parsing",
    { property: "heartbeat.oversized_and_deep", target: TARGET, perCaseMs: 8 },
    async (rec) => {
      await property(
        rec,
        async () => {
          let sent = 0;
          await batched(rec, oversizedOrDeep, record.runs, async ({ kind, n }) => {
            rec.cases += 1;
            const hb = victim.heartbeatMessage();
            const text =
              kind === "size"
                ? JSON.stringify({ ...hb, version: "x".repeat(n) })
                : JSON.stringify({ ...hb, stats: 0 }).replace(
                    '"stats":0',
                    `"stats":${"[".repeat(n)}${"]".repeat(n)}`,
                  );
            if (publish(heartbeatSubject(victim.name), utf8.encode(text), rec)) sent += 1;
          });
          return sent;
        },
        (before, after) => {
          const reasons = deltas(before.counters, after.counters, "heartbeat.dropped");
          expect(Object.keys(reasons).every((k) => /too_large|malformed/.test(k))).toBe(true);
        },
      );
    },
  );

  record.test(
    "junk on fluxrig.* subjects the Mixer does not serve changes nothing and costs it nothing",
    { property: "other_subjects.raw_bytes", target: "fluxrig.> (not hello, not heartbeat)", perCaseMs: 3 },
    async (rec) => {
      const subject = fc.constantFrom(
        "fluxrig.event.heartbeat",
        "fluxrig.event",
        "fluxrig.agent",
        "fluxrig.agent.hello.x",
        "fluxrig.agent.hello.>",
        "fluxrig.rack.fz-victim.passport",
        "fluxrig.rack.fz-victim.scenario",
        "fluxrig.rack.*.passport",
        "fluxrig.msg.demo.w1",
        "fluxrig.mixer",
        "fluxrig",
      );
      await property(
        rec,
        async () => {
          await batched(rec, fc.tuple(subject, rawBytes), record.runs, async ([s, data]) => {
            rec.cases += 1;
            publish(s, data, rec);
          });
          // Nothing here reaches a Mixer subscription: no drop counters move.
          return 0;
        },
        (before, after) => {
          const moved = {
            ...deltas(before.counters, after.counters, "hello"),
            ...deltas(before.counters, after.counters, "heartbeat.dropped"),
          };
          expect(moved).toEqual({});
        },
      );
    },
  );
});
