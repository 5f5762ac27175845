// The status changes presence asks the lifecycle for, once each: offline after a silence or a clean stop, back on a
// heartbeat.
import type { Logger } from "pino";
import type { ChangeReason, RackStatusChanges } from "../fleet/rack-status-changes.js";
import { NotFoundError, UnexpectedStatusError } from "../registry/registry-errors.js";
import type { RackRecord } from "../registry/registry-records.js";
import type { Counters } from "../runtime/counters.js";
import type { SilentRack } from "./presence-tracker.js";

export interface PresenceStatusChanges {
  /** Writes a sweep's verdict; resolves once it is committed (or refused because the Rack changed meanwhile). */
  offline(silent: SilentRack): Promise<void>;
  /** Writes an offline Rack's return; rejects when the write failed, so the next heartbeat asks again. */
  back(rack: RackRecord, details: { offlineForMs: number; flaps: number }): Promise<void>;
  /** Writes a clean stop the Rack announced in its last heartbeat: offline now, cause `stopped`, actor the Rack. */
  stopped(rack: RackRecord, details: { lastSeen: Date }): Promise<void>;
}

/**
 * Each change is asked for with the status presence saw (`expectFrom`): a Rack an operator revoked or removed
 * meanwhile is left as it is, quietly. The directory shows the change once it is committed; presence reads it there.
 */
export function presenceStatusChanges(deps: {
  lifecycle: Pick<RackStatusChanges, "setStatus">;
  counters: Counters;
  logger: Logger;
}): PresenceStatusChanges {
  const { lifecycle, counters, logger } = deps;
  /** Asks for one change; false when it did not happen (logged, unless the Rack changed meanwhile). */
  const change = async (rack: RackRecord, to: "offline" | "active", why: ChangeReason): Promise<boolean> => {
    try {
      await lifecycle.setStatus(rack, to, why);
      return true;
    } catch (err) {
      if (!(err instanceof UnexpectedStatusError || err instanceof NotFoundError)) {
        counters.inc("presence.status_failed");
        logger.error({ rack: rack.name, to, err: (err as Error).message }, "presence status change failed");
      }
      // A return that was not written rejects, so the next heartbeat asks again (see `back`).
      if (to === "active") throw err;
      return false;
    }
  };
  return {
    offline: async ({ rack, lastSeen, missedIntervals }) => {
      const last_seen = lastSeen.toISOString();
      const details = { last_seen, missed_intervals: missedIntervals };
      if (!(await change(rack, "offline", { cause: "presence", actor: "mixer", details }))) return;
      counters.inc("presence.offline");
      logger.info({ rack: rack.name, last_seen, missed: missedIntervals }, "rack offline");
    },
    stopped: async (rack, { lastSeen }) => {
      const last_seen = lastSeen.toISOString();
      if (!(await change(rack, "offline", { cause: "stopped", actor: "rack", details: { last_seen } })))
        return;
      counters.inc("presence.stopped");
      logger.info({ rack: rack.name, last_seen }, "rack offline: it stopped on purpose");
    },
    back: async (rack, d) => {
      const details = { offline_for_ms: d.offlineForMs, flaps: d.flaps };
      if (!(await change(rack, "active", { cause: "presence", actor: "mixer", details }))) return;
      counters.inc("presence.back");
      logger.info({ rack: rack.name, flaps: d.flaps }, "rack back online");
    },
  };
}
