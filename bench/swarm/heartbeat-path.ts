// The Mixer's CPU per heartbeat on its own path, off the bus: the heartbeat subscription's callback (subject, decode,
// entity id, presence, stats history, counters) over 10,000 Racks in a real directory, each beating once per round as
// at 10,000/s, so each Rack's objects are as cold as in the Mixer between two of its heartbeats; and the flush's rows
// (stats to JSON text, no DuckDB). process.cpuUsage over `rounds` rounds after 5; prints us per heartbeat and per row.
// Compare two builds by running it on each, alternated, on the same machine.
//
// Run: pnpm exec tsx --conditions=@fluxrig/source bench/swarm/heartbeat-path.ts [rounds=30]
import { loadavg } from "node:os";
import { subscribeHeartbeats } from "../../apps/mixer/src/presence/heartbeat-subscription.js";
import { PresenceTracker } from "../../apps/mixer/src/presence/presence-tracker.js";
import { RackDirectory } from "../../apps/mixer/src/registry/rack-directory.js";
import { Counters, systemClock } from "../../apps/mixer/src/runtime/counters.js";
import { RackStatsHistory } from "../../apps/mixer/src/telemetry/rack-stats-history.js";
import { rackRecordFixture } from "../../apps/mixer/test/support/rack-record-fixture.js";
import { encodeMessage, type Heartbeat, heartbeatSubject } from "../../packages/wire/src/index.js";

type Subscribe = Parameters<typeof subscribeHeartbeats>[0];
type Msg = { subject: string; data: Uint8Array };

const RACKS = 10_000;
const rounds = Number(process.argv[2] ?? 30);

const directory = new RackDirectory();
const racks: { subject: string; hb: Heartbeat }[] = [];
for (let i = 0; i < RACKS; i++) {
  const entityId = 216282733276561408n + BigInt(i);
  const name = `sw-${String(i).padStart(5, "0")}`;
  directory.put(rackRecordFixture({ entityId, name }));
  racks.push({
    subject: heartbeatSubject(name),
    // live-stats.bench.ts's heartbeat with the totals (about 560 bytes encoded): figures with all their digits, so
    // the decode is dearer than the swarm's (ScriptedRack sends short numbers), as with a Rack that does not round.
    hb: {
      v: 1,
      entity_id: entityId.toString(),
      name,
      status: "active",
      seq: 0,
      session: `session-${String(i).padStart(12, "0")}-Jw3qv9QbT1m8cS5kXo2L`,
      version: "1.4.2",
      stats: {
        cpu: { process_pct: 3.7519184782608694, host_pct: 41.21739130434783 },
        mem: { rss_bytes: 84_312_064, heap_used_bytes: 31_457_280 },
        event_loop_lag_ms: 1.3702399999999999,
        active_handles: 14,
        uptime_s: 86_412.517893402,
        gears: { running: 7, failed: 1, restarts: 23 },
        messages: { in: 1_048_576_381, out: 1_046_002_917 },
      },
      ts: "2026-12-06T12:00:00.000Z",
    },
  });
}
let rows = 0;
const tracker = new PresenceTracker(
  { heartbeatIntervalMs: 1000, missedHeartbeats: 3, startedAtMs: Date.now() },
  {
    directory,
    sink: {
      flush: async (source) => {
        while (source(() => rows++, 1000)) {}
      },
      markBack: async () => undefined,
      markStopped: async () => undefined,
    },
    history: new RackStatsHistory({ stepMs: 10_000 }),
  },
);
const counters = new Counters();
let deliver: ((err: Error | null, msg: Msg) => void) | undefined;
const nc = {
  subscribe: (_subject: string, opts: { callback: (err: Error | null, msg: Msg) => void }) => {
    deliver = opts.callback;
    return { unsubscribe: () => undefined };
  },
  flush: async () => undefined,
} as unknown as Subscribe["nc"];
subscribeHeartbeats({ nc, presence: tracker, counters, clock: systemClock });

/** Each Rack's next heartbeat as bytes off the bus (seq, ts and a counter change, as the swarm's do). */
function nextRound(seq: number): Msg[] {
  const ts = new Date().toISOString();
  return racks.map(({ subject, hb }) => {
    hb.seq = seq;
    hb.ts = ts;
    (hb.stats.messages as { in: number }).in += 7;
    return { subject, data: encodeMessage(hb) };
  });
}

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
let heartbeatUs = 0;
let flushUs = 0;
let counted = 0;
for (let r = 1; r <= rounds + 5; r++) {
  const msgs = nextRound(r);
  const t0 = cpu();
  for (const msg of msgs) deliver?.(null, msg);
  const t1 = cpu();
  await tracker.flush(Date.now());
  const t2 = cpu();
  if (r > 5) {
    heartbeatUs += t1 - t0;
    flushUs += t2 - t1;
    counted++;
  }
}
if (counters.get("heartbeat.accepted") !== (rounds + 5) * RACKS || rows !== (rounds + 5) * RACKS) {
  throw new Error(`not every heartbeat was accepted and flushed: ${JSON.stringify(counters.snapshot())}`);
}
const per = (us: number) => (us / (counted * RACKS)).toFixed(2);
console.log(
  `heartbeat path ${per(heartbeatUs)} us/heartbeat, flush rows ${per(flushUs)} us/row ` +
    `(${counted} rounds of ${RACKS} Racks; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")})`,
);
