// The operator-facing operations of the Mixer, as the REST API (and through it the CLI) sees them.
import type { WireErrorCode } from "@fluxrig/wire";

import type { RackStatus } from "../registry/rack-status.js";

export { RACK_STATUSES, type RackStatus } from "../registry/rack-status.js";

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
  first_seen: string | null;
  status_changed_at: string | null;
  /** sha256 fingerprint of the Rack's public key, `SHA256:` + base64, as ssh prints them. */
  key_fingerprint: string;
  passport: { serial: number; issued_at: string; expires_at: string } | null;
  /** Evidence for a decision on a pending Rack. */
  evidence?: {
    hello_count: number;
    last_source: string | null;
    /** Other keys that claimed this name. */
    conflicts: NameConflictView[];
  };
}

export interface NameConflictView {
  name: string;
  claimed_key_fingerprint: string;
  claimed_public_key: string;
  first_at: string;
  last_at: string;
  attempts: number;
  last_source: string | null;
}

export interface RackListQuery {
  status?: RackStatus;
  namePrefix?: string;
  limit: number;
  /** Keyset cursor: the last name of the previous page. */
  after?: string;
}

export interface RackPage {
  items: RackView[];
  /** Pass as `after` to get the next page; null on the last page. */
  next: string | null;
}

/** Who asked for a change, for the audit log. */
export interface Actor {
  actor: string;
  reason?: string;
}

export interface BulkAdoptRequest extends Actor {
  refs?: string[];
  /** A glob over names: `*` any run of characters, `?` one character. */
  pattern?: string;
  dryRun: boolean;
}

export interface BulkAdoptResult {
  dry_run: boolean;
  adopted: Array<{ name: string; entity_id: string; from: RackStatus }>;
  skipped: Array<{ ref: string; reason: string; code: WireErrorCode }>;
}

export interface RackOperations {
  list(query: RackListQuery): Promise<RackPage>;
  /** `ref` is a name, a decimal or a 0x-hex entity id. Throws OperationError(not_found). */
  show(ref: string): Promise<RackView>;
  adopt(ref: string, by: Actor): Promise<RackView>;
  adoptMany(request: BulkAdoptRequest): Promise<BulkAdoptResult>;
  reject(ref: string, by: Actor): Promise<RackView>;
  revoke(ref: string, by: Actor): Promise<RackView>;
  remove(ref: string, by: Actor): Promise<{ name: string; entity_id: string; machine_id: number }>;
  /** Hands `name` to the key that claimed it (the newest conflict unless `publicKey` is given) and revokes the old key. */
  replace(
    name: string,
    opts: Actor & { publicKey?: string; keepMachineId: boolean },
  ): Promise<{ old: RackView; new: RackView }>;
  conflicts(name?: string): Promise<NameConflictView[]>;
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

export interface ScenarioOperations {
  /** Validates; throws OperationError(schema) with `issues` on invalid YAML. */
  import(yaml: string, opts: Actor & { dryRun: boolean; activate: boolean }): Promise<ScenarioImportResult>;
  list(): Promise<ScenarioSummary[]>;
  active(): Promise<(ScenarioSummary & { yaml: string }) | null>;
  activate(name: string, by: Actor): Promise<ScenarioImportResult>;
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

export interface AuditOperations {
  list(query: { rack?: string; since?: Date; limit: number; afterSeq?: number }): Promise<AuditEventView[]>;
  verify(): Promise<{ ok: true; count: number } | { ok: false; broken_at: number; reason: string }>;
}

/** A refusal with a wire error code; the API maps `code` to the HTTP status in one place. */
export class OperationError extends Error {
  override readonly name = "OperationError";
  constructor(
    readonly code: WireErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
