// The Mixer's REST API bodies (docs/api.md): what the Mixer answers and the CLI reads, declared once so they agree.
// The Mixer ties its zod response schemas (and with them its OpenAPI document) to these types with `satisfies`.
import type { WireErrorCode } from "./wire-error-codes.js";

/** A Rack's status in the registry (SPEC §4): the seed's pending/active/offline plus `rejected` and `revoked`. */
export type RackStatus = "pending" | "active" | "offline" | "rejected" | "revoked";

export const RACK_STATUSES: readonly RackStatus[] = Object.freeze([
  "pending",
  "active",
  "offline",
  "rejected",
  "revoked",
]);

/** One Rack as operators see it. Entity ids are decimal strings (they do not fit a JS number). */
export interface RackView {
  entity_id: string;
  entity_id_hex: string;
  type_id: number;
  machine_id: number;
  name: string;
  status: RackStatus;
  version: string;
  attributes: Record<string, unknown>;
  stats: Record<string, unknown> | null;
  last_seen: string | null;
  /** A pending Rack that has sent no hello or heartbeat for heartbeat_interval x missed_heartbeats: likely gone. */
  stale: boolean;
  first_seen: string | null;
  status_changed_at: string | null;
  /** sha256 fingerprint of the Rack's public key, `SHA256:` + base64, as ssh prints them. */
  key_fingerprint: string;
  passport: { serial: number; issued_at: string; expires_at: string } | null;
  /** Evidence for a decision on a pending Rack; on `GET /racks/{ref}` only. */
  evidence?: {
    hello_count: number;
    last_source: string | null;
    /** Other keys that claimed this name. */
    conflicts: NameConflictView[];
  };
  /** Set on an adopt, reject or revoke answer when the Rack already was so and nothing changed. */
  unchanged?: true;
}

/** Another key that claimed a Rack's name. */
export interface NameConflictView {
  name: string;
  claimed_key_fingerprint: string;
  claimed_public_key: string;
  first_at: string;
  last_at: string;
  attempts: number;
  last_source: string | null;
}

export interface RackPage {
  items: RackView[];
  /** Pass as `after` to get the next page; null on the last page. */
  next: string | null;
}

/** `DELETE /racks/{ref}`. */
export interface RackRemoved {
  name: string;
  entity_id: string;
  machine_id: number;
}

/** `POST /racks/{name}/replace`: the old key's Rack (revoked) and the new one. */
export interface RackReplaced {
  old: RackView;
  new: RackView;
}

export interface BulkAdoptResult {
  dry_run: boolean;
  adopted: Array<{ name: string; entity_id: string; from: RackStatus }>;
  skipped: Array<{ ref: string; reason: string; code: WireErrorCode }>;
}

export interface ScenarioSummary {
  name: string;
  version: string;
  active: boolean;
  imported_at: string;
  activated_at: string | null;
  racks: string[];
  gears: number;
  wires: number;
}

/** `GET /scenarios/active`. */
export interface ActiveScenario extends ScenarioSummary {
  yaml: string;
}

/** One validation issue of a refused scenario (`details.issues` of a 422). */
export interface ScenarioIssueView {
  path: string;
  message: string;
  line?: number | undefined;
  column?: number | undefined;
}

export interface ScenarioImportResult {
  dry_run: boolean;
  scenario: ScenarioSummary;
  /** What activation would do / did: Racks adopted and pushes sent. */
  activation?: { adopted: string[]; pushed: string[]; waiting: string[] };
}

export interface ClusterInfo {
  cluster: string;
  public_key: string;
  key_id: string;
  mixer: { entity_id: string; entity_id_hex: string; machine_id: number; name: string; version: string };
  counts: Record<RackStatus, number> & { total: number };
  heartbeat_interval_ms: number;
  counters: Record<string, number>;
  memory: MemoryView;
}

/** The Mixer's memory when asked: the process (RSS), V8's heap, and DuckDB's own accounting by component. */
export interface MemoryView {
  rss_bytes: number;
  heap_used_bytes: number;
  heap_total_bytes: number;
  /** Memory of JavaScript objects held outside the heap (buffers). */
  external_bytes: number;
  /** The sum of `db_by_tag`: what DuckDB's buffer manager holds, within `[mixer] db_memory_limit`. */
  db_bytes: number;
  /** `duckdb_memory()` by tag (BASE_TABLE, ART_INDEX, ...), the ones above zero. */
  db_by_tag: Record<string, number>;
}

export interface AuditEventView {
  seq: number;
  at: string;
  entity_id: string | null;
  name: string | null;
  kind: string;
  from_status: string | null;
  to_status: string | null;
  cause: string;
  actor: string;
  details: Record<string, unknown> | null;
  prev_hash: string;
  hash: string;
}

export interface AuditEventPage {
  items: AuditEventView[];
  next: string | null;
}

export type AuditVerifyResult =
  | { ok: true; count: number }
  | { ok: false; broken_at: number; reason: string };

/** The error body of every failed request. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
