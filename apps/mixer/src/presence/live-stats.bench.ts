// The Mixer's CPU per heartbeat: decode and validate the bytes, copy the stats into the Rack's LiveStats; and the
// flush's cost per Rack (toJSONText). Heartbeats with the totals only (older Racks) and with a per-gear list.
// Run: pnpm exec vitest bench --run --project unit apps/mixer/src/presence/live-stats.bench.ts
//
// Measured when the per-gear list came (2 shared cores, load 4-5, so means are noisy; minimums in parentheses): a
// totals-only heartbeat 4.1 us (3.3) per heartbeat before and 4.0 us (3.3) after; 8 gears listed 9.2 us (7.8),
// 64 gears 56 us (51). Decoding alone takes 7.6 us (min) and 50 us (min) of those: the copy adds about a microsecond,
// the rest is JSON.parse and the schema, which grow with the bytes. toJSONText per Rack per flush: 0.8 us, 4.7 us, 22 us.
import { decodeHeartbeatValue, encodeMessage, type Heartbeat, WireDecodeError } from "@fluxrig/wire";
import { bench, describe } from "vitest";
import { LiveStats } from "./live-stats.js";

const base: Heartbeat = {
  v: 1,
  entity_id: "216282733276561408",
  name: "rack-warehouse-nyc-east-building-b-01",
  status: "active",
  seq: 4821,
  session: "Jw3qv9QbT1m8cS5kXo2LzAq0c7Yd4TnW1r8Hk2sPfVb",
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
  scenario: { name: "lab-demo", version: "3" },
  ts: "2026-12-06T12:00:00.000Z",
};

/** A heartbeat with `gears` gears in its per-gear list, one of them failing. */
function withGears(gears: number): Heartbeat {
  const list = Array.from({ length: gears }, (_, i) => ({
    name: `gear-${i}`,
    type: i % 2 === 0 ? "transform" : "counter",
    state: i === 0 ? "restarting" : "running",
    restarts: i === 0 ? 23 : 0,
    in: 1_000_000 + i,
    out: 999_000 + i,
    ...(i === 0
      ? {
          last_error: {
            message: "Unexpected token } in JSON at position 17",
            at: "2026-12-06T11:59:58.000Z",
          },
        }
      : {}),
  }));
  return { ...base, stats: { ...base.stats, gear_list: list } } as Heartbeat;
}

const cases: Array<[string, Heartbeat]> = [
  ["totals only (an older Rack)", base],
  ["8 gears listed", withGears(8)],
  ["64 gears listed", withGears(64)],
];

let sink: unknown;

for (const [label, hb] of cases) {
  const bytes = encodeMessage(hb);
  // Before the per-gear list existed its heartbeats did not decode: those cases are skipped then.
  if (decodeHeartbeatValue(bytes) instanceof WireDecodeError) continue;
  const live = new LiveStats();
  let seq = 1;
  describe(`${label} (${bytes.byteLength} bytes)`, () => {
    bench("decode + LiveStats.take (per heartbeat)", () => {
      const decoded = decodeHeartbeatValue(bytes) as Heartbeat;
      decoded.seq = ++seq;
      live.take(decoded, 0);
    });
    bench("decode only (what the copy adds to)", () => {
      sink = decodeHeartbeatValue(bytes);
    });
    bench("LiveStats.toJSONText (per Rack per flush)", () => {
      live.toJSONText();
    });
  });
}

export { sink };
