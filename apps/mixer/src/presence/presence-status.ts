// The status changes presence asks the lifecycle for, once each: offline after a silence or a clean stop, back on a
// heartbeat.
import type { Logger } from "pino";
import type { RackStatusChanges } from "../fleet/rack-status-changes.js";
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
  const failed = (rack: RackRecord, to: string, err: unknown): void => {
    if (err instanceof UnexpectedStatusError || err instanceof NotFoundError) return;
    counters.inc("presence.status_failed");
    logger.error({ rack: rack.name, to, err: (err as Error).message }, "presence status change failed");
  };
  return {
    offline: async ({ rack, lastSeen, missedIntervals }) => {
      try {
        await lifecycle.setStatus(rack, "offline", {
          cause: "presence",
          actor: "mixer",
          details: { last_seen: lastSeen.toISOString(), missed_intervals: missedIntervals },
        });
      } catch (err) {
        failed(rack, "offline", err);
        return;
      }
      counters.inc("presence.offline");
      logger.info(
        { rack: rack.name, last_seen: lastSeen.toISOString(), missed: missedIntervals },
        "rack offline",
      );
    },
    stopped: async (rack, { lastSeen }) => {
      try {
        await lifecycle.setStatus(rack, "offline", {
          cause: "stopped",
          actor: "rack",
          details: { last_seen: lastSeen.toISOString() },
        });
      } catch (err) {
        failed(rack, "offline", err);
        return;
      }
      counters.inc("presence.stopped");
      logger.info(
        { rack: rack.name, last_seen: lastSeen.toISOString() },
        "rack offline: it stopped on purpose",
      );
    },
    back: async (rack, d) => {
      try {
        await lifecycle.setStatus(rack, "active", {
          cause: "presence",
          actor: "mixer",
          details: { offline_for_ms: d.offlineForMs, flaps: d.flaps },
        });
      } catch (err) {
        failed(rack, "active", err);
        throw err;
      }
      counters.inc("presence.back");
      logger.info({ rack: rack.name, flaps: d.flaps }, "rack back online");
    },
  };
}
