// createMixer wires the registry, enrollment, presence, scenarios and the API over given connections; startMixer
// opens those connections from config. main.ts only parses arguments and handles signals.
import { join } from "node:path";
import { EntityType, formatEntityIdHex, nodeEntityId } from "@fluxrig/entity-id";
import {
  type ClusterInfo,
  decodeHeartbeatValue,
  encodeMessage,
  parseHeartbeatSubject,
  SUBJECTS,
  WireDecodeError,
} from "@fluxrig/wire";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { MixerConfig } from "./config.js";
import { type Db, openDatabase } from "./db/duckdb-database.js";
import { migrate } from "./db/migrate.js";
import { HelloHandler } from "./enrollment/hello-handler.js";
import {
  inlineVerifier,
  type SignatureVerifier,
  WorkerSignatureVerifier,
} from "./enrollment/signature-pool.js";
import { AuditOperationsService } from "./fleet/audit-operations.js";
import { RackNotifier } from "./fleet/rack-notifier.js";
import { RackOperationsService } from "./fleet/rack-operations.js";
import { RackStatusChanges } from "./fleet/rack-status-changes.js";
import { PassportIssuer } from "./passports/passport-issuer.js";
import { PresenceSweeper } from "./presence/presence-sweeper.js";
import { PresenceTracker } from "./presence/presence-tracker.js";
import { MachineIdPool } from "./registry/machine-id-pool.js";
import { writePresenceRows } from "./registry/presence-writes.js";
import { RackDirectory } from "./registry/rack-directory.js";
import { RegistryWriter } from "./registry/registry-writer.js";
import { ScenarioCatalog } from "./registry/scenario-catalog.js";
import { planNodeRow } from "./registry/write-plans.js";
import { type ClusterKey, loadClusterKey } from "./runtime/cluster-key.js";
import { type Clock, Counters, systemClock } from "./runtime/counters.js";
import { acquireDataDir, type DataDirLock } from "./runtime/data-dir.js";
import { ApiAuthMissingError } from "./runtime/errors.js";
import { memoryReport } from "./runtime/memory-report.js";
import { connectNats } from "./runtime/nats-connection.js";
import { ReplyBatcher } from "./runtime/reply-batcher.js";
import { ScenarioService } from "./scenarios/scenario-service.js";

export const REGISTRY_FILE = "registry.duckdb";
/** Every Mixer answers hellos in one queue group, so a second Mixer on the bus never answers twice. */
export const HELLO_QUEUE = "fluxrig-mixer";

export interface MixerDeps {
  config: MixerConfig;
  db: Db;
  nc: NatsConnection;
  clusterKey: ClusterKey;
  logger: Logger;
  version: string;
  clock?: Clock;
}

export interface Mixer {
  readonly racks: RackOperationsService;
  readonly scenarios: ScenarioService;
  readonly audit: AuditOperationsService;
  readonly presence: PresenceTracker;
  readonly counters: Counters;
  readonly lifecycle: RackStatusChanges;
  clusterInfo(): Promise<ClusterInfo>;
  /** Stops taking hellos and heartbeats, writes what presence holds, and checkpoints. Leaves db and nc open. */
  stop(): Promise<void>;
}

/** Builds the Mixer over connections it is given, and starts listening. */
export async function createMixer(deps: MixerDeps): Promise<Mixer> {
  const { config, db, nc, clusterKey, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const counters = new Counters();
  const now = clock();

  const issuer = new PassportIssuer({
    clusterKey,
    cluster: config.mixer.name,
    ttlMs: config.passport.ttl,
    skewMs: config.enrollment.clock_skew,
  });
  const notifier = new RackNotifier({ nc, logger: logger.child({ component: "notifier" }), counters });

  // The Mixer is the only writer of its registry file: every Rack is loaded once, and from here on the directory
  // and the MachineID pool change only when a write batch commits.
  const directory = await RackDirectory.load(db);
  const pool = await MachineIdPool.load(db);
  const catalog = await ScenarioCatalog.load(db);

  // Presence status transitions go through the lifecycle, which is built after the tracker: late-bound on purpose.
  let lifecycle!: RackStatusChanges;
  const presenceLog = logger.child({ component: "presence" });
  const presence = new PresenceTracker(
    {
      heartbeatIntervalMs: config.presence.heartbeat_interval,
      missedHeartbeats: config.presence.missed_heartbeats,
      startedAtMs: now.getTime(),
    },
    {
      flush: async (rows) => {
        await writePresenceRows(db, rows);
      },
      markOffline: async (entry, d) => {
        const rack = directory.rack(entry.entityId);
        if (rack?.status !== "active") return;
        await lifecycle.setStatus(rack, "offline", {
          cause: "presence",
          actor: "mixer",
          details: { last_seen: d.lastSeen.toISOString(), missed_intervals: d.missedIntervals },
        });
        counters.inc("presence.offline");
        presenceLog.info(
          { rack: entry.name, last_seen: d.lastSeen.toISOString(), missed: d.missedIntervals },
          "rack offline",
        );
      },
      markBack: async (entry, d) => {
        const rack = directory.rack(entry.entityId);
        if (rack?.status !== "offline") return;
        await lifecycle.setStatus(rack, "active", {
          cause: "presence",
          actor: "mixer",
          details: { offline_for_ms: d.offlineForMs, flaps: d.flaps },
        });
        counters.inc("presence.back");
        presenceLog.info({ rack: entry.name, flaps: d.flaps }, "rack back online");
      },
    },
  );
  for (const rack of directory.racks()) {
    presence.upsert({
      entityId: rack.entityId,
      name: rack.name,
      status: rack.status,
      lastSeenMs: rack.lastSeen?.getTime() ?? 0,
      stats: rack.stats,
    });
  }

  // One place follows every committed change: the directory (inside the writer) and presence (here).
  const writer = new RegistryWriter({
    db,
    directory,
    pool,
    scenarios: catalog,
    logger: logger.child({ component: "registry" }),
    onCommitted: (change) => {
      if (change.kind === "removed") {
        if (presence.get(change.rack.name)?.entityId === change.rack.entityId)
          presence.remove(change.rack.name);
        return;
      }
      const { rack, previous } = change;
      // An adoption starts a full presence window, as if the Rack had just been seen.
      const adopted = rack.status === "active" && previous !== undefined && previous.status !== "active";
      const seenMs = adopted ? clock().getTime() : rack.lastSeen?.getTime();
      presence.upsert({
        entityId: rack.entityId,
        name: rack.name,
        status: rack.status,
        ...(seenMs !== undefined ? { lastSeenMs: seenMs } : {}),
      });
    },
  });

  // The Mixer's own rows, through the writer like every registry write: the Mixer's first, so the Snake's
  // allocation skips its MachineID.
  const mixerRow = await writer.submit((stage) =>
    planNodeRow(stage, {
      typeId: EntityType.Mixer,
      machineId: config.mixer.machine_id,
      name: config.mixer.name,
      version: deps.version,
      attributes: { public_key: clusterKey.publicKeyB64, key_id: clusterKey.kid, api: config.api.listen },
      now,
    }),
  );
  await writer.submit((stage) =>
    planNodeRow(stage, {
      typeId: EntityType.SnakeTunnel,
      name: `${config.mixer.name}-snake`.slice(0, 63).replace(/-+$/, ""),
      version: deps.version,
      attributes: { nats_url: redactUrl(config.nats.url), mixer_entity_id: mixerRow.entityId.toString() },
      now,
      machineIdRange: { min: config.enrollment.machine_id_min, max: config.enrollment.machine_id_max },
    }),
  );

  const scenarios = new ScenarioService({ db, writer, catalog, clock });
  scenarios.load();
  lifecycle = new RackStatusChanges({
    writer,
    directory,
    issuer,
    notifier,
    scenarios,
    clock,
    logger,
    counters,
  });
  scenarios.attach(lifecycle);
  const racks = new RackOperationsService({ db, lifecycle, directory, presence });
  const audit = new AuditOperationsService(db, racks);
  const verifier: SignatureVerifier =
    config.enrollment.verify_threads > 0
      ? new WorkerSignatureVerifier({
          threads: config.enrollment.verify_threads,
          onWorkerLost: (err) =>
            logger.error({ err: err.message }, "a signature worker failed; its checks run on the event loop"),
        })
      : inlineVerifier();
  const hello = new HelloHandler({
    verifier,
    directory,
    lifecycle,
    issuer,
    presence,
    clusterKey,
    scenarioNames: () => scenarios.activeRackNames(),
    clock,
    counters,
    logger: logger.child({ component: "enrollment" }),
    options: {
      autoAdopt: config.enrollment.auto_adopt,
      maxPending: config.enrollment.max_pending,
      machineIdMin: config.enrollment.machine_id_min,
      machineIdMax: config.enrollment.machine_id_max,
      clockSkewMs: config.enrollment.clock_skew,
      heartbeatIntervalMs: config.presence.heartbeat_interval,
    },
  });

  const subs: Subscription[] = [];
  const inflight = new Set<Promise<unknown>>();
  const replies = new ReplyBatcher();
  const helloSub = nc.subscribe(SUBJECTS.hello, { queue: HELLO_QUEUE });
  subs.push(helloSub);
  void (async () => {
    for await (const msg of helloSub) {
      if (!msg.reply) {
        counters.inc("hello.dropped.no_reply_subject");
        continue;
      }
      if (inflight.size >= config.enrollment.max_inflight_hellos) {
        replies.respond(msg, encodeMessage(hello.busy(inflight.size)));
        continue;
      }
      const work = hello
        .handle(msg.data, { source: msg.reply.split(".").slice(0, 2).join(".") })
        .then((reply) => replies.respond(msg, encodeMessage(reply)))
        .catch((err: unknown) => logger.error({ err }, "hello reply failed"));
      inflight.add(work);
      void work.finally(() => inflight.delete(work));
    }
  })();

  const hbSub = nc.subscribe(SUBJECTS.heartbeatAll);
  subs.push(hbSub);
  void (async () => {
    for await (const msg of hbSub) {
      const name = parseHeartbeatSubject(msg.subject);
      // The heartbeat itself, not a result object around it: see decodeHeartbeatValue.
      const hb = decodeHeartbeatValue(msg.data);
      if (hb instanceof WireDecodeError) {
        counters.inc(`heartbeat.dropped.${hb.code}`);
        continue;
      }
      if (name === null || hb.name !== name) {
        counters.inc("heartbeat.dropped.subject_mismatch");
        continue;
      }
      let entityId: bigint;
      try {
        entityId = BigInt(hb.entity_id);
      } catch {
        counters.inc("heartbeat.dropped.schema");
        continue;
      }
      const verdict = presence.heartbeat(hb, entityId, clock().getTime());
      counters.inc(verdict.accepted ? "heartbeat.accepted" : `heartbeat.dropped.${verdict.reason}`);
    }
  })();

  const sweeper = new PresenceSweeper({
    presence,
    directory,
    lifecycle,
    clock,
    logger: presenceLog,
    counters,
    flushIntervalMs: config.presence.flush_interval,
    sweepIntervalMs: Math.max(25, Math.min(1000, Math.floor(config.presence.heartbeat_interval / 4))),
    pendingTtlMs: config.enrollment.pending_ttl,
    confirmCaughtUp: () => caughtUpWith(nc, hbSub),
    confirmTimeoutMs: presence.offlineAfterMs,
  });
  sweeper.start();

  // While the Mixer cannot see the bus it judges nobody; when it sees it again, every Rack gets a fresh window.
  // The loop ends when the connection closes.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        if (presence.busLost(clock().getTime())) presenceLog.warn("bus link lost: offline detection paused");
      } else if (status.type === "reconnect") {
        const blindForMs = presence.busRegained(clock().getTime());
        counters.inc("presence.bus_regained");
        presenceLog.info(
          { blind_for_ms: blindForMs, grace_ms: presence.offlineAfterMs },
          "bus link back: every Rack gets a full presence window",
        );
      }
    }
  })().catch(() => undefined);

  logger.info(
    {
      cluster: config.mixer.name,
      entity_id: mixerRow.entityId.toString(),
      key_id: clusterKey.kid,
      racks: presence.size,
      auto_adopt: config.enrollment.auto_adopt,
    },
    "mixer started",
  );

  return {
    racks,
    scenarios,
    audit,
    presence,
    counters,
    lifecycle,
    clusterInfo: async () => {
      // From the directory: it is the registry as committed, and the bench polls this every second.
      const counts = directory.counts();
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      return {
        cluster: config.mixer.name,
        public_key: clusterKey.publicKeyB64,
        key_id: clusterKey.kid,
        mixer: {
          entity_id: mixerRow.entityId.toString(),
          entity_id_hex: formatEntityIdHex(mixerRow.entityId),
          machine_id: mixerRow.machineId,
          name: config.mixer.name,
          version: deps.version,
        },
        counts: { ...counts, total },
        heartbeat_interval_ms: config.presence.heartbeat_interval,
        counters: {
          ...counters.snapshot(),
          "registry.write_batches": writer.stats.batches,
          "registry.writes": writer.stats.writes,
          "registry.largest_batch": writer.stats.largestBatch,
          "registry.retried_batches": writer.stats.retriedBatches,
          "registry.deferred_writes": writer.stats.deferredWrites,
          "hello.replies_sent": replies.stats.sent,
          "hello.signatures_offloaded": verifier.stats.offloaded,
          "hello.signatures_inline": verifier.stats.inline,
          "hello.reply_flushes": replies.stats.flushes,
        },
        memory: await memoryReport(db),
      };
    },
    stop: async () => {
      for (const sub of subs) sub.unsubscribe();
      await Promise.allSettled([...inflight]);
      replies.flush();
      await verifier.close();
      await sweeper.stop();
      await presence.flush().catch((err: unknown) => logger.error({ err }, "final presence flush failed"));
      await lifecycle
        .flushHelloFacts()
        .catch((err: unknown) => logger.error({ err }, "final hello facts flush failed"));
      await writer.close();
    },
  };
}

export interface RunningMixer {
  mixer: Mixer;
  apiUrl: string | null;
  stop(): Promise<void>;
}

/** Opens everything from config (data dir, key, DuckDB, NATS), creates the Mixer, and returns a stop function. */
export async function startMixer(opts: {
  config: MixerConfig;
  logger: Logger;
  version: string;
}): Promise<RunningMixer> {
  const { config, logger } = opts;
  if (!config.api.auth_token && !config.api.auth_disabled_dangerously) throw new ApiAuthMissingError();
  if (config.api.auth_disabled_dangerously) {
    logger.warn(
      "API AUTHENTICATION IS DISABLED ([api] auth_disabled_dangerously = true): anyone who reaches the API can adopt and revoke Racks",
    );
  }
  const lock: DataDirLock = await acquireDataDir(config.mixer.data_dir);
  const cleanups: Array<() => Promise<void>> = [() => lock.release()];
  const cleanup = async () => {
    for (const fn of cleanups.reverse())
      await fn().catch((err: unknown) => logger.error({ err }, "cleanup failed"));
  };
  try {
    const clusterKey = await loadClusterKey(lock.dir);
    if (clusterKey.created)
      logger.info({ key_id: clusterKey.kid, path: clusterKey.path }, "cluster key created");
    const db = await openDatabase({
      path: join(lock.dir, REGISTRY_FILE),
      config: {
        memory_limit: config.mixer.db_memory_limit,
        // DuckDB's allocator (its own jemalloc) otherwise returns freed pages to the system only while it is busy
        // allocating, so memory from a burst stayed resident: at 10,000 heartbeating Racks the Mixer held about 40 MB
        // more (swarm bench). With its background thread, pages are purged on a timer; no cost per heartbeat seen.
        allocator_background_threads: "true",
      },
    });
    cleanups.push(() => db.close());
    const migrated = await migrate(db);
    logger.info({ schema_version: migrated.to, applied: migrated.applied }, "registry ready");
    const nc = await connectNats({
      url: config.nats.url,
      name: `fluxrig-mixer ${config.mixer.name}`,
      connectTimeoutMs: config.nats.connect_timeout,
      logger,
    });
    cleanups.push(async () => {
      await nc.drain();
    });
    const mixer = await createMixer({ config, db, nc, clusterKey, logger, version: opts.version });
    const { startApi } = await import("./api-server.js");
    const api = await startApi({ mixer, config, logger, version: opts.version });
    logger.info({ api: api.url, nats: redactUrl(config.nats.url) }, "mixer ready");
    return {
      mixer,
      apiUrl: api.url,
      stop: async () => {
        await api.close();
        await mixer.stop();
        await db.checkpoint().catch((err: unknown) => logger.error({ err }, "checkpoint failed"));
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}

export { nodeEntityId };

/**
 * Resolves once every heartbeat the server held for this connection has been applied: a PING/PONG round trip puts
 * them all in the subscription's queue, and the queue is then drained by the heartbeat loop.
 */
async function caughtUpWith(nc: NatsConnection, sub: Subscription): Promise<void> {
  await nc.flush();
  while (sub.getPending() > 0) await new Promise<void>((resolve) => setImmediate(resolve));
}
