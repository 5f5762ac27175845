// Writing a registry's entries into the cluster's buckets, and checking both sides against each other (docs/cluster.md,
// "Moving a single-Mixer registry into a cluster"). Idempotent: a record already there unchanged is counted, a
// different one is reported and never overwritten; every write is a `create` (compare-and-set) with a nonce derived
// from the record, so an unknown outcome reads back as this import's own write.
import { EntityType } from "@fluxrig/entity-id";
import type { AuditStream } from "./audit-stream.js";
import type { KvBucket, KvRecord } from "./kv-bucket.js";
import { KvKeyExistsError, KvValueError } from "./kv-errors.js";
import type { RegistryBuckets } from "./registry-buckets.js";
import {
  type AuditRecord,
  auditRecordSchema,
  canonicalJson,
  decodeLayoutValue,
  importNonce,
  KvLayoutError,
  type LayoutBucket,
  type LayoutEntry,
} from "./registry-layout.js";

const BUCKETS: readonly LayoutBucket[] = ["claims", "racks", "scenarios", "access"];

/** Counts per bucket. */
export type BucketCounts = Record<LayoutBucket, number>;

/** A key whose value in KV is not the registry's. */
export interface LayoutDifference {
  bucket: LayoutBucket;
  key: string;
  /** `different`: another value; `missing`: in the registry, not in KV; `extra`: in KV, not in the registry. */
  kind: "different" | "missing" | "extra";
  /** What is stored (its revision and writer) or why it cannot be read. */
  detail: string;
}

export interface ImportReport {
  dryRun: boolean;
  /** Written now (or, in a dry run, that would be written). */
  written: BucketCounts;
  /** Already in KV with exactly this value. */
  unchanged: BucketCounts;
  /** Already in KV with another value: left as it is. */
  conflicts: LayoutDifference[];
}

export interface VerifyReport {
  /** Keys compared and found equal. */
  same: BucketCounts;
  differences: LayoutDifference[];
}

const zero = (): BucketCounts => ({ claims: 0, racks: 0, scenarios: 0, access: 0 });

/**
 * Writes every entry absent from KV; claims first (as enrollment claims before it writes a record), then records.
 * `concurrency` writes in flight (a cluster with `sync_interval: always` takes many more per second in parallel).
 */
export async function importRegistryEntries(
  kv: Pick<RegistryBuckets, LayoutBucket>,
  entries: readonly LayoutEntry[],
  opts: { dryRun: boolean; concurrency?: number },
): Promise<ImportReport> {
  const report: ImportReport = { dryRun: opts.dryRun, written: zero(), unchanged: zero(), conflicts: [] };
  for (const bucket of BUCKETS) {
    const mine = entries.filter((e) => e.bucket === bucket);
    // One listing instead of a read per record: a key absent here is created at once (a key that appeared since
    // loses the compare-and-set and is then read and compared like any other).
    const present = new Set(await kv[bucket].keys());
    await pool(mine, opts.concurrency ?? 64, async (entry) => {
      const outcome = await importOne(kv, entry, present.has(entry.key), opts.dryRun);
      if (outcome === "written") report.written[bucket]++;
      else if (outcome === "unchanged") report.unchanged[bucket]++;
      else report.conflicts.push(outcome);
    });
  }
  report.conflicts.sort(byKey);
  return report;
}

async function importOne(
  kv: Pick<RegistryBuckets, LayoutBucket>,
  entry: LayoutEntry,
  listed: boolean,
  dryRun: boolean,
): Promise<"written" | "unchanged" | LayoutDifference> {
  const bucket = kv[entry.bucket];
  const existing = listed ? await read(bucket, entry) : null;
  if (!(existing === null || "revision" in existing)) return existing;
  if (existing === null) {
    if (dryRun) return "written";
    try {
      await bucket.create(entry.key, entry.value, { nonce: importNonce(entry) });
      return "written";
    } catch (error) {
      if (!(error instanceof KvKeyExistsError)) throw error;
      // Someone else created it between the read and the write: compare with theirs.
      const now = await read(bucket, entry);
      if (now === null) throw error;
      if (!("revision" in now)) return now;
      return compare(entry, now.value, now.revision, now.writer) ?? "unchanged";
    }
  }
  return compare(entry, existing.value, existing.revision, existing.writer) ?? "unchanged";
}

/** The stored record; a value the KV layer did not write (no envelope) is a difference, not a failure of the run. */
async function read(
  bucket: KvBucket,
  entry: LayoutEntry,
): Promise<KvRecord<unknown> | null | LayoutDifference> {
  try {
    return await bucket.get(entry.key);
  } catch (error) {
    if (!(error instanceof KvValueError)) throw error;
    return { bucket: entry.bucket, key: entry.key, kind: "different", detail: error.message };
  }
}

/** undefined when KV holds exactly the entry's value, else the difference. */
function compare(
  entry: LayoutEntry,
  stored: unknown,
  revision: number,
  writer: string,
): LayoutDifference | undefined {
  let decoded: unknown;
  try {
    decoded = decodeLayoutValue(entry.bucket, entry.key, stored);
  } catch (error) {
    if (!(error instanceof KvLayoutError)) throw error;
    return { bucket: entry.bucket, key: entry.key, kind: "different", detail: error.message };
  }
  if (canonicalJson(decoded) === canonicalJson(entry.value)) return undefined;
  return {
    bucket: entry.bucket,
    key: entry.key,
    kind: "different",
    detail: `revision ${revision} by ${writer}: ${firstDifference(entry.value, decoded)}`,
  };
}

/**
 * Reads both sides and reports every key whose value differs, that the registry has and KV has not, and that KV has
 * and the registry has not (checked key by key through the stream leader, never assumed from counts).
 */
export async function verifyRegistryEntries(
  kv: Pick<RegistryBuckets, LayoutBucket>,
  entries: readonly LayoutEntry[],
  opts: { concurrency?: number } = {},
): Promise<VerifyReport> {
  const report: VerifyReport = { same: zero(), differences: [] };
  for (const bucket of BUCKETS) {
    const mine = entries.filter((e) => e.bucket === bucket);
    const expected = new Set(mine.map((e) => e.key));
    for (const key of await kv[bucket].keys()) {
      if (expected.has(key) || (await isClusterMixersOwn(kv, bucket, key))) continue;
      report.differences.push({ bucket, key, kind: "extra", detail: "in KV, not in the registry" });
    }
    await pool(mine, opts.concurrency ?? 64, async (entry) => {
      const stored = await read(kv[bucket], entry);
      if (stored !== null && !("revision" in stored)) {
        report.differences.push(stored);
        return;
      }
      if (stored === null) {
        report.differences.push({
          bucket,
          key: entry.key,
          kind: "missing",
          detail: "in the registry, not in KV",
        });
        return;
      }
      const diff = compare(entry, stored.value, stored.revision, stored.writer);
      if (diff === undefined) report.same[bucket]++;
      else report.differences.push(diff);
    });
  }
  report.differences.sort(byKey);
  return report;
}

/**
 * A cluster Mixer's own row or one of its claims: each Mixer of the cluster writes these itself (an import carries
 * no node rows), so they are no difference.
 */
async function isClusterMixersOwn(
  kv: Pick<RegistryBuckets, LayoutBucket>,
  bucket: LayoutBucket,
  key: string,
): Promise<boolean> {
  if (bucket === "racks") return key.startsWith("node.");
  if (bucket !== "claims" || key.startsWith("key.")) return false;
  const stored = await kv.claims.get<{ entity_id?: unknown }>(key);
  if (stored === null || typeof stored.value.entity_id !== "string") return false;
  const type = Number(BigInt(stored.value.entity_id) >> 56n);
  return type === EntityType.Mixer || type === EntityType.SnakeTunnel;
}

/** The first field (dotted path) where two records differ, with both values, for a report a person can act on. */
export function firstDifference(expected: unknown, actual: unknown, path = ""): string {
  if (canonicalJson(expected) === canonicalJson(actual)) return "equal";
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObj(expected) && isObj(actual)) {
    for (const k of [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()) {
      if (canonicalJson(expected[k]) !== canonicalJson(actual[k])) {
        return firstDifference(expected[k], actual[k], path === "" ? k : `${path}.${k}`);
      }
    }
  }
  const show = (v: unknown) => (v === undefined ? "absent" : truncate(JSON.stringify(v)));
  return `${path === "" ? "value" : path}: registry has ${show(expected)}, KV has ${show(actual)}`;
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function byKey(a: LayoutDifference, b: LayoutDifference): number {
  return a.bucket === b.bucket ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.bucket < b.bucket ? -1 : 1;
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first failure once all have settled. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}

/** What an import or verify of the audit log found: counts and every event that differs. */
export interface AuditReport {
  /** import: appended now (or, in a dry run, that would be); verify: 0. */
  written: number;
  /** Already in the stream with exactly this event (verify: found equal). */
  unchanged: number;
  differences: Array<{ seq: number; kind: "different" | "missing" | "extra"; detail: string }>;
}

/**
 * Appends every event the stream does not hold yet; an event it holds is compared, never replaced. `verify` writes
 * nothing, reports missing events, and a stream holding more events than the log.
 */
export async function syncAuditEvents(
  stream: AuditStream,
  events: readonly AuditRecord[],
  opts: { mode: "import" | "dry-run" | "verify"; concurrency?: number },
): Promise<AuditReport> {
  const report: AuditReport = { written: 0, unchanged: 0, differences: [] };
  const compare = (event: AuditRecord, stored: unknown) => {
    const parsed = auditRecordSchema.safeParse(stored);
    if (!parsed.success) {
      report.differences.push({
        seq: event.seq,
        kind: "different",
        detail: "not an audit record of this layout",
      });
    } else if (canonicalJson(parsed.data) !== canonicalJson(event)) {
      report.differences.push({
        seq: event.seq,
        kind: "different",
        detail: firstDifference(event, parsed.data),
      });
    } else {
      report.unchanged++;
    }
  };
  await pool(events, opts.concurrency ?? 64, async (event) => {
    if (opts.mode === "import") {
      // The append is itself the compare-and-set (only onto an empty subject): one request for a new event, and a
      // read only for one the stream already holds.
      if ((await stream.append(event)) === "written") report.written++;
      else compare(event, await stream.get(event.seq));
      return;
    }
    const stored = await stream.get(event.seq);
    if (stored !== null) compare(event, stored);
    else if (opts.mode === "dry-run") report.written++;
    else
      report.differences.push({
        seq: event.seq,
        kind: "missing",
        detail: "in the registry, not in the stream",
      });
  });
  if (opts.mode === "verify") {
    const held = await stream.count();
    if (held > events.length) {
      report.differences.push({
        seq: -1,
        kind: "extra",
        detail: `the stream holds ${held} events, the registry's log ${events.length}`,
      });
    }
  }
  report.differences.sort((a, b) => a.seq - b.seq);
  return report;
}
