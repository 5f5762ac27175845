// Presence as the Mixer runs it: the tracker over the directory, the heartbeat subscription, the timers, the bus watch.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Db } from "../db/duckdb-database.js";
import type { RackStatusChanges } from "../fleet/rack-status-changes.js";
import { writePresenceRows } from "../registry/presence-writes.js";
import type { RackDirectory } from "../registry/rack-directory.js";
import { watchBus } from "../runtime/bus-watch.js";
import type { Clock, Counters } from "../runtime/counters.js";
import type { LeaderGate } from "../runtime/leader-gate.js";
import { subscribeHeartbeats } from "./heartbeat-subscription.js";
import { presenceStatusChanges } from "./presence-status.js";
import { PresenceSweeper, type PresenceTimings } from "./presence-sweeper.js";
import { PresenceTracker, type StatsHistorySink } from "./presence-tracker.js";

export interface PresenceDeps {
  db: Db;
  nc: NatsConnection;
  directory: RackDirectory;
  lifecycle: RackStatusChanges;
  clock: Clock;
  counters: Counters;
  logger: Logger;
  heartbeatIntervalMs: number;
  missedHeartbeats: number;
  flushIntervalMs: number;
  /** `[presence] stats_flush_interval`: stats are written at most this often (see PresenceOptions). */
  statsFlushIntervalMs?: number;
  pendingTtlMs: number;
  /** Told how long each flush and sweep took. */
  timings?: PresenceTimings;
  /** Samples each heartbeat's stats for the last minutes (the console's chart). */
  statsHistory?: StatsHistorySink;
  /**
   * Whether this Mixer gives presence verdicts (offline, back, stopped, pending expiry); absent: always. A Mixer that
   * does not lead still takes every heartbeat and flushes its own presence (docs/cluster.md, "Work done once").
   */
  leader?: LeaderGate;
}

export interface RunningPresence {
  readonly tracker: PresenceTracker;
  /** Stops taking heartbeats and the timers, then writes what presence holds. */
  stop(): Promise<void>;
}

/** Starts presence; the Mixer's start is the start of every Rack's first window. */
export function startPresence(deps: PresenceDeps): RunningPresence {
  const { clock, counters, logger } = deps;
  const changes = presenceStatusChanges({ lifecycle: deps.lifecycle, counters, logger });
  const tracker = new PresenceTracker(
    {
      heartbeatIntervalMs: deps.heartbeatIntervalMs,
      missedHeartbeats: deps.missedHeartbeats,
      startedAtMs: clock().getTime(),
      ...(deps.statsFlushIntervalMs === undefined ? {} : { statsFlushIntervalMs: deps.statsFlushIntervalMs }),
    },
    {
      directory: deps.directory,
      sink: {
        flush: async (rows) => {
          await writePresenceRows(deps.db, rows);
        },
        markBack: changes.back,
        markStopped: changes.stopped,
      },
      ...(deps.statsHistory === undefined ? {} : { history: deps.statsHistory }),
      leader: deps.leader,
    },
  );
  const heartbeats = subscribeHeartbeats({ nc: deps.nc, presence: tracker, counters, clock });
  const sweeper = new PresenceSweeper({
    presence: tracker,
    lifecycle: deps.lifecycle,
    changes,
    clock,
    logger,
    counters,
    flushIntervalMs: deps.flushIntervalMs,
    sweepIntervalMs: Math.max(25, Math.min(1000, Math.floor(deps.heartbeatIntervalMs / 4))),
    pendingTtlMs: deps.pendingTtlMs,
    confirmCaughtUp: heartbeats.caughtUp,
    confirmTimeoutMs: tracker.offlineAfterMs,
    timings: deps.timings,
    leader: deps.leader,
  });
  sweeper.start();
  // While the Mixer cannot see the bus it judges nobody; when it sees it again, every Rack gets a fresh window.
  watchBus(deps.nc, { lost: () => sweeper.busLost(), regained: () => sweeper.busRegained() });
  return {
    tracker,
    stop: async () => {
      heartbeats.sub.unsubscribe();
      await sweeper.stop();
      await tracker.flush().catch((err: unknown) => logger.error({ err }, "final presence flush failed"));
    },
  };
}
