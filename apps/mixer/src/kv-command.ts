// `fluxrig-mixer kv import|verify`: moves a stopped single Mixer's DuckDB registry into the cluster's KV buckets and
// checks both sides against each other. Wiring only: the layout and the import rules live in kv/ (docs/cluster.md).
import { stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { nonceAuthenticator } from "@fluxrig/passport";
import { INBOX_PREFIXES } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import { eq } from "drizzle-orm";
import { loadBusKeys } from "./bus-auth/key-store.js";
import { mixerFleetUser } from "./bus-auth/service-users.js";
import type { MixerConfig } from "./config.js";
import { openDatabase } from "./db/duckdb-database.js";
import { asBigInt, asNumber, fromTimestamp } from "./db/duckdb-values.js";
import { migrate } from "./db/migrate.js";
import { auditEvents, rackLifecycle, registry, scenarioActivations, scenarios } from "./db/schema.js";
import { ormQuery } from "./db/unwrap-drizzle-error.js";
import { AuditStream } from "./kv/audit-stream.js";
import { openRegistryBuckets } from "./kv/registry-buckets.js";
import {
  type AuditReport,
  type ImportReport,
  importRegistryEntries,
  type LayoutDifference,
  syncAuditEvents,
  type VerifyReport,
  verifyRegistryEntries,
} from "./kv/registry-import.js";
import {
  type AuditRecord,
  auditRecord,
  type LayoutEntry,
  type RegistrySnapshot,
  registryEntries,
} from "./kv/registry-layout.js";
import { REGISTRY_FILE } from "./mixer.js";
import { ApiTokenList } from "./registry/api-token-list.js";
import { EnrollmentTokenList } from "./registry/enrollment-token-list.js";
import { ExpectedKeyList } from "./registry/expected-key-list.js";
import { apiTokenToKv, enrollmentTokenToKv, expectedKeyToKv, revocationToKv } from "./registry/kv-records.js";
import { RevocationList } from "./registry/revocation-list.js";
import { acquireDataDir } from "./runtime/data-dir.js";
import { MixerError } from "./runtime/errors.js";
import { createLogger } from "./runtime/logger.js";
import { connectNats } from "./runtime/nats-connection.js";

export interface KvCommandInput {
  action: "import" | "verify";
  config: MixerConfig;
  /** import: read and compare, write nothing. */
  dryRun: boolean;
  /** The buckets' replicas: 3 on a cluster, 1 on one nats-server. */
  replicas: 1 | 3 | 5;
  /** Writes in flight. */
  concurrency?: number;
}

export type KvCommandResult =
  | { action: "import"; source: SourceSummary; report: ImportReport; audit: AuditReport }
  | { action: "verify"; source: SourceSummary; report: VerifyReport; audit: AuditReport };

export interface SourceSummary {
  registryPath: string;
  racks: number;
  nodes: number;
  tombstones: number;
  scenarios: number;
  activations: number;
  /** Bus revocations, API and enrollment tokens, expected keys. */
  access: number;
  auditEvents: number;
  entries: number;
}

/**
 * Runs `kv import` or `kv verify`: takes the data dir's lock (a running Mixer is refused with DataDirLockedError),
 * reads the registry, connects as the Mixer would (`[nats] url`, and in JWT mode the Mixer's fleet user from the data
 * dir's bus keys), opens the registry buckets and imports or compares.
 */
export async function kvCommand(input: KvCommandInput): Promise<KvCommandResult> {
  const registryPath = join(input.config.mixer.data_dir, REGISTRY_FILE);
  const exists = await stat(registryPath).catch(() => undefined);
  if (exists === undefined) {
    throw new MixerError(
      "kv_import_no_registry",
      `no registry at ${registryPath}: point --config (or FLUXRIG_MIXER_DATA_DIR) at the single Mixer's data dir`,
    );
  }
  const lock = await acquireDataDir(input.config.mixer.data_dir);
  try {
    const { snapshot, audit, summary } = await readRegistry(join(lock.dir, REGISTRY_FILE));
    const entries = registryEntries(snapshot);
    const source = { ...summary, entries: entries.length };
    const nc = await connect(input.config, lock.dir);
    try {
      const kv = await openRegistryBuckets(nc, {
        replicas: input.replicas,
        writerId: `kv-import-${hostname()}-${process.pid}`,
      });
      const stream = await AuditStream.open(nc, { replicas: input.replicas });
      return await run(input, kv, stream, entries, audit, source);
    } finally {
      await nc.drain().catch(() => undefined);
    }
  } finally {
    await lock.release();
  }
}

async function run(
  input: KvCommandInput,
  kv: Awaited<ReturnType<typeof openRegistryBuckets>>,
  stream: AuditStream,
  entries: LayoutEntry[],
  events: AuditRecord[],
  source: SourceSummary,
): Promise<KvCommandResult> {
  const concurrency = input.concurrency ?? 64;
  if (input.action === "import") {
    const report = await importRegistryEntries(kv, entries, { dryRun: input.dryRun, concurrency });
    const mode = input.dryRun ? "dry-run" : "import";
    const audit = await syncAuditEvents(stream, events, { mode, concurrency });
    return { action: "import", source, report, audit };
  }
  const report = await verifyRegistryEntries(kv, entries, { concurrency });
  const audit = await syncAuditEvents(stream, events, { mode: "verify", concurrency });
  return { action: "verify", source, report, audit };
}

async function connect(config: MixerConfig, dataDir: string): Promise<NatsConnection> {
  const base = {
    url: config.nats.url,
    name: `fluxrig-mixer kv (${config.mixer.name})`,
    connectTimeoutMs: config.nats.connect_timeout,
    logger: createLogger({ level: "silent" }),
  };
  if (config.nats.auth === "none") return connectNats(base);
  const keys = await loadBusKeys(dataDir);
  const nowSeconds = Math.floor(Date.now() / 1000);
  // A short-lived fleet user of the Mixer's own keys: the one bus identity allowed the registry's buckets.
  const user = mixerFleetUser(keys, { nowSeconds, ttlSeconds: 3600 });
  return connectNats({
    ...base,
    authenticator: nonceAuthenticator({ privateKey: user.privateKey, jwt: () => user.jwt }),
    inboxPrefix: INBOX_PREFIXES.mixer,
  });
}

/** Every row cluster mode keeps, read from the registry file (migrated first, as the Mixer itself would at start). */
async function readRegistry(
  path: string,
): Promise<{ snapshot: RegistrySnapshot; audit: AuditRecord[]; summary: Omit<SourceSummary, "entries"> }> {
  const db = await openDatabase({ path });
  try {
    await migrate(db);
    const rows = await ormQuery(
      db.orm.select().from(registry).leftJoin(rackLifecycle, eq(registry.entityId, rackLifecycle.entityId)),
    );
    const tombs = await db.query(
      "SELECT machine_id, entity_id, name, retired_at, reusable_after FROM machine_id_tombstones ORDER BY machine_id",
    );
    const scenarioRows = await ormQuery(db.orm.select().from(scenarios));
    const activationRows = await ormQuery(db.orm.select().from(scenarioActivations));
    const auditRows = await ormQuery(db.orm.select().from(auditEvents));
    const audit = auditRows.map((e) => auditRecord(e));
    const snapshot: RegistrySnapshot = {
      entities: rows.map(({ registry: r, rack_lifecycle: l }) => ({
        entityId: r.entityId,
        typeId: r.typeId,
        machineId: r.machineId,
        name: r.name,
        status: r.status,
        version: r.version,
        attributes: r.attributes,
        stats: r.stats,
        lastSeen: r.lastSeen,
        lifecycle:
          l === null
            ? null
            : {
                publicKey: l.publicKey,
                firstSeen: l.firstSeen,
                statusChangedAt: l.statusChangedAt,
                passportSerial: l.passportSerial,
                passportIssuedAt: l.passportIssuedAt,
                passportExpiresAt: l.passportExpiresAt,
                passportsValidUntil: l.passportsValidUntil,
                lastSource: l.lastSource,
                helloCount: l.helloCount,
                flaps: l.flaps,
              },
      })),
      tombstones: tombs.rows.map(([machineId, entityId, name, retiredAt, reusableAfter]) => ({
        machineId: asNumber(machineId ?? 0),
        entityId: asBigInt(entityId ?? 0n),
        name: String(name),
        retiredAt: fromTimestamp(retiredAt ?? null),
        reusableAfter: fromTimestamp(reusableAfter ?? null),
      })),
      scenarios: scenarioRows.map((s) => ({ ...s })),
      activations: activationRows.map((a) => ({ ...a })),
      access: {
        revocations: [...(await RevocationList.load(db)).revocationRecords()].map(revocationToKv),
        apiTokens: [...(await ApiTokenList.load(db)).apiTokenRecords()].map(apiTokenToKv),
        enrollmentTokens: [...(await EnrollmentTokenList.load(db)).enrollmentTokenRecords()].map(
          enrollmentTokenToKv,
        ),
        expectedKeys: [...(await ExpectedKeyList.load(db)).expectedKeyRecords()].map(expectedKeyToKv),
      },
    };
    const racks = snapshot.entities.filter((e) => e.lifecycle !== null).length;
    return {
      snapshot,
      audit,
      summary: {
        registryPath: path,
        racks,
        nodes: snapshot.entities.length - racks,
        tombstones: snapshot.tombstones.length,
        scenarios: snapshot.scenarios.length,
        activations: snapshot.activations.length,
        access: Object.values(snapshot.access ?? {}).reduce((n, list) => n + list.length, 0),
        auditEvents: audit.length,
      },
    };
  } finally {
    await db.close();
  }
}

/** The report as lines for a person: what was read, counts per bucket, and every conflict or difference. */
export function kvCommandText(result: KvCommandResult): string {
  const s = result.source;
  const lines = [
    `registry ${s.registryPath}: ${s.racks} Racks, ${s.tombstones} retired MachineIDs, ${s.scenarios} scenarios, ${s.activations} activations, ${s.access} revocations/tokens/expected keys: ${s.entries} KV records; ${s.auditEvents} audit events (${s.nodes} node rows of this Mixer left out: each cluster Mixer writes its own)`,
  ];
  const diff = (d: LayoutDifference) => `  ${d.kind} ${d.bucket}/${d.key}: ${d.detail}`;
  const a = result.audit;
  const auditDiffs = a.differences.map(
    (d) => `  ${d.kind} audit/${d.seq < 0 ? "(stream)" : `fluxrig.audit.${d.seq}`}: ${d.detail}`,
  );
  if (result.action === "import") {
    const r = result.report;
    const verb = r.dryRun ? "would write" : "written";
    for (const b of ["claims", "racks", "scenarios", "access"] as const) {
      lines.push(`${b}: ${verb} ${r.written[b]}, already there ${r.unchanged[b]}`);
    }
    lines.push(`audit: ${verb} ${a.written}, already there ${a.unchanged}`);
    const total = r.written.claims + r.written.racks + r.written.scenarios + a.written;
    const conflicts = r.conflicts.length + a.differences.length;
    if (conflicts > 0) {
      lines.push(
        `${conflicts} conflicting record(s) in KV, left as they are:`,
        ...r.conflicts.map(diff),
        ...auditDiffs,
      );
    }
    if (r.dryRun) lines.push("dry run: nothing written");
    else if (total === 0) lines.push("nothing new: every record was already in KV");
  } else {
    const r = result.report;
    for (const b of ["claims", "racks", "scenarios", "access"] as const)
      lines.push(`${b}: ${r.same[b]} equal`);
    lines.push(`audit: ${a.unchanged} equal`);
    const differences = r.differences.length + a.differences.length;
    lines.push(
      differences === 0
        ? "KV holds exactly the registry's records and audit events"
        : `${differences} difference(s):`,
      ...r.differences.map(diff),
      ...auditDiffs,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** 0 when the command found nothing to report, 1 when it found conflicts or differences. */
export function kvCommandExitCode(result: KvCommandResult): number {
  const found =
    result.action === "import" ? result.report.conflicts.length : result.report.differences.length;
  return found + result.audit.differences.length === 0 ? 0 : 1;
}
