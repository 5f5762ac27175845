// createMixer wires the registry, enrollment, presence, scenarios and the API's services over given connections;
// startMixer opens those connections from config. main.ts only parses arguments and handles signals.
import { join } from "node:path";
import { EntityType } from "@fluxrig/entity-id";
import { type ClusterInfo, INBOX_PREFIXES } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { startApi } from "./api-start.js";
import { type BusCredentials, OPEN_BUS } from "./bus-auth/bus-credentials.js";
import { JwtBusCredentials, PENDING_CREDENTIAL_MAX_SECONDS } from "./bus-auth/bus-credentials-jwt.js";
import { controlSigner } from "./bus-auth/control-signing.js";
import { loadBusKeys } from "./bus-auth/key-store.js";
import { MixerBusUsers } from "./bus-auth/mixer-bus-users.js";
import { clusterInfo } from "./cluster-info.js";
import type { MixerConfig } from "./config.js";
import { type Db, openDatabase } from "./db/duckdb-database.js";
import { migrate } from "./db/migrate.js";
import { HelloHandler } from "./enrollment/hello-handler.js";
import { subscribeHellos } from "./enrollment/hello-subscription.js";
import {
  inlineVerifier,
  type SignatureVerifier,
  WorkerSignatureVerifier,
} from "./enrollment/signature-pool.js";
import { ApiTokenOperationsService } from "./fleet/api-token-operations.js";
import { AuditOperationsService } from "./fleet/audit-operations.js";
import { EnrollmentTokenOperationsService } from "./fleet/enrollment-token-operations.js";
import { ExpectedKeyOperationsService } from "./fleet/expected-key-operations.js";
import { RackNotifier } from "./fleet/rack-notifier.js";
import { RackOperationsService } from "./fleet/rack-operations.js";
import { RackStateWriter } from "./fleet/rack-state-writer.js";
import { RackStatusChanges } from "./fleet/rack-status-changes.js";
import { AuditStream } from "./kv/audit-stream.js";
import type { KvBucket } from "./kv/kv-bucket.js";
import { LeaseGate } from "./kv/lease-gate.js";
import { openRackStateBucket } from "./kv/rack-state-bucket.js";
import { openRegistryBuckets, type RegistryBuckets } from "./kv/registry-buckets.js";
import { createMixerMetrics, type MixerMetrics } from "./metrics/mixer-metrics.js";
import { PassportIssuer } from "./passports/passport-issuer.js";
import { startPresence } from "./presence/start-presence.js";
import { ApiTokenList } from "./registry/api-token-list.js";
import { ClusterRegistry } from "./registry/cluster-registry.js";
import { EnrollmentTokenList } from "./registry/enrollment-token-list.js";
import { ExpectedKeyList } from "./registry/expected-key-list.js";
import { emptyRegistryIndex, rackRowCount } from "./registry/index-reset.js";
import { MachineIdPool } from "./registry/machine-id-pool.js";
import { RackDirectory } from "./registry/rack-directory.js";
import type { NodeRecord } from "./registry/registry-records.js";
import { RegistryWriter, type RegistryWrites } from "./registry/registry-writer.js";
import { RevocationList } from "./registry/revocation-list.js";
import { ScenarioCatalog } from "./registry/scenario-catalog.js";
import { planNodeRow } from "./registry/write-plans.js";
import { type ClusterKey, loadClusterKey } from "./runtime/cluster-key.js";
import { type Clock, Counters, systemClock } from "./runtime/counters.js";
import { acquireDataDir, type DataDirLock } from "./runtime/data-dir.js";
import { ApiAuthMissingError, ClusterImportNeededError } from "./runtime/errors.js";
import { ALWAYS_LEADING, type LeaderGate } from "./runtime/leader-gate.js";
import { connectNats } from "./runtime/nats-connection.js";
import { ScenarioService } from "./scenarios/scenario-service.js";
import { RackStatsHistory } from "./telemetry/rack-stats-history.js";

export const REGISTRY_FILE = "registry.duckdb";

export interface MixerDeps {
  config: MixerConfig;
  db: Db;
  nc: NatsConnection;
  clusterKey: ClusterKey;
  logger: Logger;
  version: string;
  clock?: Clock;
  /** The bus mode's credentials (SPEC §11): {@link JwtBusCredentials} in jwt mode; {@link OPEN_BUS} when absent. */
  credentials?: BusCredentials;
  /** Shared with what startMixer built before the Mixer (the credentials count issues and pushes); fresh if absent. */
  counters?: Counters;
  /** The registry's revoked keys, loaded by startMixer so the credentials read the same list; loaded here if absent. */
  revocations?: RevocationList;
  /**
   * Whether this Mixer leads the work done once (offline sweeps, pending TTL, revocation pruning): a KV lease in
   * cluster mode (docs/cluster.md, "Work done once"); absent: always, as a single Mixer.
   */
  leader?: LeaderGate;
  /**
   * Cluster mode (docs/cluster.md): the registry's KV buckets and audit stream, the source of truth; `db` is then
   * this Mixer's index, empty at start and filled from KV before the Mixer serves.
   */
  cluster?: { kv: RegistryBuckets; audit: AuditStream; member: string };
  /** Cluster mode: the `fluxrig_rack_state` bucket each push is also written to (docs/cluster.md); absent in single mode. */
  rackState?: KvBucket;
}

/** What the API serves, and the Mixer's stop. */
export interface Mixer {
  readonly racks: RackOperationsService;
  readonly scenarios: ScenarioService;
  readonly audit: AuditOperationsService;
  /** Named API tokens: the operations behind `/api/v1/tokens`, and the live list the bearer check reads. */
  readonly tokens: ApiTokenOperationsService;
  readonly apiTokens: ApiTokenList;
  /** Enrollment tokens: the operations behind `/api/v1/enrollment-tokens`. */
  readonly enrollmentTokens: EnrollmentTokenOperationsService;
  /** Expected keys: the operations behind `/api/v1/expected-keys`. */
  readonly expectedKeys: ExpectedKeyOperationsService;
  readonly counters: Counters;
  /** The Mixer's own metrics in Prometheus format (`GET /metrics`). */
  readonly metrics: MixerMetrics;
  /** Each Rack's heartbeat stats over the last minutes (`GET /api/v1/racks/{ref}/stats`), fed by presence. */
  readonly statsHistory: RackStatsHistory;
  clusterInfo(): Promise<ClusterInfo>;
  /** Stops taking hellos and heartbeats, writes what presence holds, and checkpoints. Leaves db and nc open. */
  stop(): Promise<void>;
}

/** Builds the Mixer over connections it is given, and starts listening. */
export async function createMixer(deps: MixerDeps): Promise<Mixer> {
  const { config, db, nc, clusterKey, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const counters = deps.counters ?? new Counters();
  const credentials = deps.credentials ?? OPEN_BUS;
  const leader = deps.leader ?? ALWAYS_LEADING;

  const issuer = new PassportIssuer({
    clusterKey,
    cluster: config.mixer.name,
    ttlMs: config.passport.ttl,
    skewMs: config.enrollment.clock_skew,
  });
  const notifier = new RackNotifier({
    nc,
    logger: logger.child({ component: "notifier" }),
    counters,
    clusterKey,
    state:
      deps.rackState &&
      new RackStateWriter({
        bucket: deps.rackState,
        clusterKey,
        logger: logger.child({ component: "rack-state" }),
        counters,
        clock,
      }),
  });

  // The Mixer is the only writer of its registry file: every Rack and scenario is loaded once, and from here on the
  // directory, the MachineID pool and the catalog change only when a write batch commits. Presence follows the
  // directory.
  const directory = await RackDirectory.load(db);
  const catalog = await ScenarioCatalog.load(db);
  const revocations = deps.revocations ?? (await RevocationList.load(db));
  const apiTokens = await ApiTokenList.load(db);
  const enrollmentTokenList = await EnrollmentTokenList.load(db);
  const expectedKeys = await ExpectedKeyList.load(db);
  const index = new RegistryWriter({
    db,
    directory,
    pool: await MachineIdPool.load(db),
    scenarios: catalog,
    revocations,
    apiTokens,
    enrollmentTokens: enrollmentTokenList,
    expectedKeys,
    logger: logger.child({ component: "registry" }),
  });
  // One Mixer: its DuckDB is the registry. Cluster mode: KV is, and DuckDB this Mixer's index, fed from KV.
  const writer: RegistryWrites = deps.cluster
    ? await ClusterRegistry.start({
        kv: deps.cluster.kv,
        audit: deps.cluster.audit,
        index,
        member: deps.cluster.member,
        logger: logger.child({ component: "registry" }),
      })
    : index;
  const mixerRow = await recordOwnRows(deps, writer, clock());
  const scenarios = new ScenarioService({ racks: directory, writer, catalog, clock, expectedKeys });
  scenarios.load();
  const lifecycle = new RackStatusChanges({
    writer,
    directory,
    issuer,
    notifier,
    scenarios,
    clock,
    logger,
    counters,
    credentials,
    // A revocation is kept while a credential it voids could be live: the passport TTL, plus the clock skew allowed.
    revocations: { horizonMs: config.passport.ttl + config.enrollment.clock_skew, leader },
  });
  scenarios.attach(lifecycle);
  lifecycle.startRevocationUpkeep();
  // Read at scrape time from what the Mixer already keeps; the bus link is read once presence exists.
  let busLinkUp = () => !nc.isClosed();
  const metrics = createMixerMetrics({
    counters,
    racksByStatus: () => directory.counts(),
    writerStats: () => writer.stats,
    busLinkUp: () => busLinkUp(),
    leading: () => leader.leading,
  });
  // One sample per heartbeat interval (10 s at least), for the console's chart of the last 5 minutes.
  const statsHistory = new RackStatsHistory({ stepMs: Math.max(10_000, config.presence.heartbeat_interval) });
  const presence = startPresence({
    statsHistory,
    db,
    nc,
    directory,
    lifecycle,
    clock,
    counters,
    logger: logger.child({ component: "presence" }),
    heartbeatIntervalMs: config.presence.heartbeat_interval,
    missedHeartbeats: config.presence.missed_heartbeats,
    flushIntervalMs: config.presence.flush_interval,
    statsFlushIntervalMs: config.presence.stats_flush_interval,
    pendingTtlMs: config.enrollment.pending_ttl,
    timings: metrics,
    leader,
  });
  busLinkUp = () => !nc.isClosed() && !presence.tracker.blind;
  const racks = new RackOperationsService({ db, lifecycle, directory, presence: presence.tracker, clock });
  const audit = new AuditOperationsService(db, racks, { logger: logger.child({ component: "audit-feed" }) });
  const tokens = new ApiTokenOperationsService({ writer, tokens: apiTokens, clock });
  const enrollmentTokens = new EnrollmentTokenOperationsService({
    writer,
    tokens: enrollmentTokenList,
    clock,
  });
  const expectedKeyOperations = new ExpectedKeyOperationsService({ writer, keys: expectedKeys, clock });

  const verifier: SignatureVerifier =
    config.enrollment.verify_threads > 0
      ? new WorkerSignatureVerifier({
          threads: config.enrollment.verify_threads,
          onWorkerLost: (err) =>
            logger.error({ err: err.message }, "a signature worker failed; its checks run on the event loop"),
        })
      : inlineVerifier();
  const hello = new HelloHandler({
    enrollmentTokens: enrollmentTokenList,
    expectedKeys,
    verifier,
    directory,
    lifecycle,
    issuer,
    presence: presence.tracker,
    clusterKey,
    scenarioNames: () => scenarios.activeRackNames(),
    scenarioPush: (name, now) => scenarios.pushFor(name, now),
    credentials,
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
  const hellos = subscribeHellos({
    nc,
    hello,
    counters,
    logger,
    maxInflight: config.enrollment.max_inflight_hellos,
    sign: controlSigner(clusterKey),
  });

  logger.info(
    {
      cluster: config.mixer.name,
      entity_id: mixerRow.entityId.toString(),
      key_id: clusterKey.kid,
      racks: directory.size,
      auto_adopt: config.enrollment.auto_adopt,
      bus_auth: credentials.mode,
    },
    "mixer started",
  );
  const sources = { ...deps, mixerRow, directory, counters, writer, hellos, verifier, leader };
  return {
    racks,
    scenarios,
    audit,
    tokens,
    apiTokens,
    enrollmentTokens,
    expectedKeys: expectedKeyOperations,
    counters,
    metrics,
    statsHistory,
    clusterInfo: () => clusterInfo(sources),
    stop: async () => {
      // Open event streams end first (the API's close does it too; an embedder without the API needs it here).
      await audit.stopFollowing();
      await hellos.stop();
      await verifier.close();
      await presence.stop();
      await lifecycle.close();
      // Cluster mode: the Rack states still being written (bounded: without quorum they would wait out the retry window).
      await notifier.settled(5_000);
      await lifecycle
        .flushHelloFacts()
        .catch((err: unknown) => logger.error({ err }, "final hello facts flush failed"));
      await writer.close();
    },
  };
}

/**
 * Writes this Mixer's own registry rows (itself, then its Snake Tunnel, so the Snake's allocation skips the Mixer's
 * MachineID) through the writer like every registry write, and returns its own.
 */
async function recordOwnRows(deps: MixerDeps, writer: RegistryWrites, now: Date): Promise<NodeRecord> {
  const { config, clusterKey } = deps;
  // In cluster mode each Mixer has rows of its own, named after its member name and told apart by it.
  const member = deps.cluster?.member;
  const name = member ?? config.mixer.name;
  const mine = member === undefined ? {} : { member };
  const mixerRow = await writer.submit((stage) =>
    planNodeRow(stage, {
      typeId: EntityType.Mixer,
      machineId: config.mixer.machine_id,
      name,
      version: deps.version,
      attributes: {
        public_key: clusterKey.publicKeyB64,
        key_id: clusterKey.kid,
        api: config.api.listen,
        ...mine,
      },
      now,
      ...mine,
    }),
  );
  await writer.submit((stage) =>
    planNodeRow(stage, {
      typeId: EntityType.SnakeTunnel,
      name: `${name}-snake`.slice(0, 63).replace(/-+$/, ""),
      version: deps.version,
      attributes: {
        nats_url: redactUrl(config.nats.url),
        mixer_entity_id: mixerRow.entityId.toString(),
        ...mine,
      },
      now,
      machineIdRange: { min: config.enrollment.machine_id_min, max: config.enrollment.machine_id_max },
      ...mine,
    }),
  );
  return mixerRow;
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
    const counters = new Counters();
    const revocations = await RevocationList.load(db);
    const bus = await connectBus({ config, dataDir: lock.dir, logger, counters, cleanups, revocations });
    const cluster = config.cluster.enabled
      ? await openCluster(config, db, revocations, bus.nc, logger)
      : undefined;
    // ---- Cluster mode: Racks watch their own state (docs/cluster.md, "Racks watch their own state") ----
    const rackState = config.cluster.enabled
      ? await openRackStateBucket(bus.nc, {
          replicas: config.cluster.replicas,
          writerId: config.cluster.member ?? config.mixer.name,
        })
      : undefined;
    // ---- end of the Rack-state block ----
    // ── Cluster mode: the work done once, led by one Mixer at a time (docs/cluster.md, "Work done once") ──
    const leader = cluster === undefined ? undefined : leaderLease(config, cluster, logger, cleanups);
    // ──
    const mixer = await createMixer({
      config,
      db,
      nc: bus.nc,
      clusterKey,
      logger,
      version: opts.version,
      credentials: bus.credentials,
      counters,
      revocations,
      ...(cluster === undefined ? {} : { cluster }),
      ...(rackState ? { rackState } : {}),
      leader,
    });
    if (cluster !== undefined) await bus.start?.();
    // Contends once this Mixer can do the work (its index caught up with KV): a Mixer still starting never holds it.
    leader?.start();
    const api = await startApi({
      services: {
        racks: mixer.racks,
        scenarios: mixer.scenarios,
        audit: mixer.audit,
        tokens: mixer.tokens,
        enrollmentTokens: mixer.enrollmentTokens,
        expectedKeys: mixer.expectedKeys,
        namedTokens: mixer.apiTokens,
        counters: mixer.counters,
        cluster: () => mixer.clusterInfo(),
        prometheus: mixer.metrics,
        statsHistory: mixer.statsHistory,
      },
      config,
      logger,
      version: opts.version,
    });
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

/**
 * Cluster mode: the gate on the lease `leader` in `fluxrig_leases`, held as `[cluster] member` (started by the caller
 * once the Mixer is ready). The cleanup (after the Mixer stopped, before the bus drains) releases it, so another Mixer
 * takes over at once.
 */
function leaderLease(
  config: MixerConfig,
  cluster: { kv: RegistryBuckets; member: string },
  logger: Logger,
  cleanups: Array<() => Promise<void>>,
): LeaseGate {
  const gate = new LeaseGate({
    bucket: cluster.kv.leases,
    name: LEADER_LEASE,
    holder: cluster.member,
    ttlMs: config.cluster.lease_ttl,
    logger: logger.child({ component: "leader" }),
  });
  cleanups.push(() => gate.stop());
  return gate;
}

/** The lease the Mixers of a cluster contend for: its holder runs every piece of work done once. */
export const LEADER_LEASE = "leader";

/**
 * Cluster mode: opens the registry's buckets and audit stream with their replicas, and empties this Mixer's index
 * so the mirror rebuilds it from KV. Refuses a registry file holding Racks when KV holds none: that registry has
 * never been imported (`fluxrig-mixer kv import`), and emptying it would lose it.
 */
async function openCluster(
  config: MixerConfig,
  db: Db,
  revocations: RevocationList,
  nc: NatsConnection,
  logger: Logger,
): Promise<{ kv: RegistryBuckets; audit: AuditStream; member: string }> {
  const member = config.cluster.member as string;
  const replicas = config.cluster.replicas;
  const kv = await openRegistryBuckets(nc, { replicas, writerId: member });
  const audit = await AuditStream.open(nc, { replicas });
  const local = await rackRowCount(db);
  if (local > 0 && (await kv.racks.lastRevision()) === 0) throw new ClusterImportNeededError(local);
  await emptyRegistryIndex(db);
  for (const record of [...revocations.revocationRecords()]) revocations.remove(record.publicKey);
  logger.info({ member, replicas, racks_in_old_index: local }, "cluster mode: the index is rebuilt from KV");
  return { kv, audit, member };
}

/**
 * Connects to the bus as `[nats] auth` says. jwt: loads (or creates) the bus keys, connects as the Mixer's fleet user
 * (inbox `_INBOX._mixer`) and, on a second connection, as its system user, and pushes the current fleet account JWT
 * (a clear error if the server does not take it). none: one open connection and a loud warning.
 */
async function connectBus(opts: {
  config: MixerConfig;
  dataDir: string;
  logger: Logger;
  counters: Counters;
  cleanups: Array<() => Promise<void>>;
  revocations: RevocationList;
}): Promise<{ nc: NatsConnection; credentials: BusCredentials; start?: () => Promise<void> }> {
  const { config, logger, cleanups } = opts;
  const base = {
    url: config.nats.url,
    connectTimeoutMs: config.nats.connect_timeout,
    logger,
  };
  if (config.nats.auth === "none") {
    logger.warn(
      'BUS AUTHENTICATION IS OFF ([nats] auth = "none"): anyone who reaches nats-server can forge any Rack\'s heartbeats, read every hello reply and heartbeat, and answer hellos as a fake Mixer; only the Cluster Key signatures on hello replies and pushes protect the Racks',
    );
    const nc = await connectNats({ ...base, name: `fluxrig-mixer ${config.mixer.name}` });
    cleanups.push(async () => {
      await nc.drain();
    });
    return { nc, credentials: OPEN_BUS };
  }
  const keys = await loadBusKeys(opts.dataDir);
  if (keys.created.length > 0) {
    logger.info(
      { created: keys.created, dir: keys.dir },
      "bus keys created; configure nats-server with the output of fluxrig-mixer nats-config",
    );
  }
  const users = new MixerBusUsers(keys, { logger: logger.child({ component: "bus-auth" }) });
  cleanups.push(async () => users.close());
  const nc = await connectNats({
    ...base,
    name: `fluxrig-mixer ${config.mixer.name}`,
    authenticator: users.fleetAuthenticator(),
    inboxPrefix: INBOX_PREFIXES.mixer,
  });
  cleanups.push(async () => {
    await nc.drain();
  });
  const system = await connectNats({
    ...base,
    name: `fluxrig-mixer ${config.mixer.name} system`,
    authenticator: users.systemAuthenticator(),
    inboxPrefix: INBOX_PREFIXES.mixer,
  });
  const credentials = new JwtBusCredentials({
    keys,
    system,
    users,
    revocations: () => opts.revocations.entries(),
    rackTtlSeconds: Math.ceil(config.passport.ttl / 1000),
    pendingTtlSeconds: Math.min(
      Math.ceil(config.enrollment.pending_ttl / 1000),
      PENDING_CREDENTIAL_MAX_SECONDS,
    ),
    logger: logger.child({ component: "bus-auth" }),
    counters: opts.counters,
    // Cluster mode: an adopted Rack's grant adds the read and watch of its own state key.
    rackState: config.cluster.enabled,
  });
  cleanups.push(() => credentials.close());
  // Cluster mode pushes the fleet account JWT once the index holds the cluster's revocations (startMixer): this
  // Mixer's list before that is what it knew when it last stopped, and pushing it would lift a later revocation.
  if (!config.cluster.enabled) await credentials.start();
  logger.info({ user: users.fleetNkey }, "on the bus as the Mixer's fleet user (jwt mode)");
  return { nc, credentials, start: () => credentials.start() };
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
