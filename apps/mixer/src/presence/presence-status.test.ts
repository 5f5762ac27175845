// The status changes presence asks for: what each writes, what it counts and logs, and how each failure ends.
import { pino } from "pino";
import { describe, expect, test } from "vitest";
import { rackRecordFixture } from "../../test/support/rack-record-fixture.js";
import type { ChangeReason } from "../fleet/rack-status-changes.js";
import { NotFoundError, QueryFailedError, UnexpectedStatusError } from "../registry/registry-errors.js";
import type { RackRecord } from "../registry/registry-records.js";
import { Counters } from "../runtime/counters.js";
import { presenceStatusChanges } from "./presence-status.js";

const rack = rackRecordFixture({ status: "offline" });
const lastSeen = new Date("2025-06-01T12:00:00.000Z");

/** The changes over a lifecycle that answers with `outcome`, with the calls, counters and log lines it saw. */
function setup(outcome: () => Promise<RackRecord>) {
  const calls: Array<{ to: string; why: ChangeReason }> = [];
  const lines: Array<Record<string, unknown>> = [];
  const counters = new Counters();
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const lifecycle = {
    setStatus: (_rack: RackRecord, to: string, why: ChangeReason) => {
      calls.push({ to, why });
      return outcome();
    },
  };
  return { changes: presenceStatusChanges({ lifecycle, counters, logger }), calls, lines, counters };
}

const refusals = [
  ["the Rack changed meanwhile", () => new UnexpectedStatusError("active", "revoked", 1n)],
  ["the Rack is gone", () => new NotFoundError("rack", "rack-1")],
] as const;

describe("presenceStatusChanges", () => {
  test("offline, stopped and back write their cause, actor and details, then count and log", async () => {
    const { changes, calls, lines, counters } = setup(async () => rack);
    await changes.offline({ rack, lastSeen, missedIntervals: 3 });
    await changes.stopped(rack, { lastSeen });
    await changes.back(rack, { offlineForMs: 5000, flaps: 2 });
    const at = lastSeen.toISOString();
    expect(calls).toEqual([
      {
        to: "offline",
        why: { cause: "presence", actor: "mixer", details: { last_seen: at, missed_intervals: 3 } },
      },
      { to: "offline", why: { cause: "stopped", actor: "rack", details: { last_seen: at } } },
      {
        to: "active",
        why: { cause: "presence", actor: "mixer", details: { offline_for_ms: 5000, flaps: 2 } },
      },
    ]);
    expect(counters.snapshot()).toEqual({ "presence.back": 1, "presence.offline": 1, "presence.stopped": 1 });
    expect(lines.map((l) => l.msg)).toEqual([
      "rack offline",
      "rack offline: it stopped on purpose",
      "rack back online",
    ]);
  });

  test.each(refusals)("when %s, offline and stopped are dropped quietly", async (_what, error) => {
    const { changes, lines, counters } = setup(() => Promise.reject(error()));
    await changes.offline({ rack, lastSeen, missedIntervals: 3 });
    await changes.stopped(rack, { lastSeen });
    expect(counters.snapshot()).toEqual({});
    expect(lines).toEqual([]);
  });

  test.each(refusals)(
    "when %s, back rejects (the next heartbeat asks again) without a log",
    async (_w, error) => {
      const { changes, lines, counters } = setup(() => Promise.reject(error()));
      await expect(changes.back(rack, { offlineForMs: 1, flaps: 0 })).rejects.toThrow(error().constructor);
      expect(counters.snapshot()).toEqual({});
      expect(lines).toEqual([]);
    },
  );

  test("a failed write is counted and logged; offline resolves, back rejects", async () => {
    const failure = () => new QueryFailedError("UPDATE registry", { cause: new Error("disk full") });
    const { changes, lines, counters } = setup(() => Promise.reject(failure()));
    await changes.offline({ rack, lastSeen, missedIntervals: 3 });
    await expect(changes.back(rack, { offlineForMs: 1, flaps: 0 })).rejects.toThrow(QueryFailedError);
    expect(counters.snapshot()).toEqual({ "presence.status_failed": 2 });
    expect(lines.map((l) => [l.msg, l.to])).toEqual([
      ["presence status change failed", "offline"],
      ["presence status change failed", "active"],
    ]);
  });
});
