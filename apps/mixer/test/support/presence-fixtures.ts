// Test fixtures for presence: one Rack id, its directory record and a valid heartbeat to vary.
import type { Heartbeat } from "@fluxrig/wire";
import type { PresenceSink } from "../../src/presence/presence-tracker.js";
import type { RackRecord } from "../../src/registry/registry-records.js";
import { rackRecordFixture as recordFixture } from "./rack-record-fixture.js";

export const RACK_ID = 216282733276561408n;

/** A heartbeat from `rack-a` (RACK_ID), seq 1 of session "s1", with `over` applied. */
export function heartbeatFixture(over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    v: 1,
    entity_id: RACK_ID.toString(),
    name: "rack-a",
    status: "active",
    seq: 1,
    session: "s1",
    version: "0.1.0",
    stats: {
      cpu: { process_pct: 1, host_pct: 2 },
      mem: { rss_bytes: 1, heap_used_bytes: 1 },
      event_loop_lag_ms: 0,
      active_handles: 1,
      uptime_s: 1,
    },
    ts: new Date(0).toISOString(),
    ...over,
  };
}

/** The directory's record of `rack-a` (RACK_ID), active, never seen, its status changed at the epoch. */
export function rackRecordFixture(over: Parameters<typeof recordFixture>[0] = {}): RackRecord {
  return recordFixture({ entityId: RACK_ID, name: "rack-a", ...over });
}

/** A presence sink that writes nothing and asks for no status change: for tests of what presence decides itself. */
export const NULL_PRESENCE_SINK: PresenceSink = {
  flush: async () => undefined,
  markBack: async () => undefined,
  markStopped: async () => undefined,
};
