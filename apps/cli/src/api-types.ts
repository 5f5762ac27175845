// The REST API's response bodies as the CLI reads them (docs/api.md); apps never import each other, so they live here.

export type RackStatus = "pending" | "active" | "offline" | "rejected" | "revoked";

export interface NameConflict {
  name: string;
  claimed_key_fingerprint: string;
  claimed_public_key: string;
  first_at: string;
  last_at: string;
  attempts: number;
  last_source: string | null;
}

/** One Rack; `evidence` is present on `GET /racks/{ref}` only. */
export interface Rack {
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
  key_fingerprint: string;
  passport: { serial: number; issued_at: string; expires_at: string } | null;
  evidence?: { hello_count: number; last_source: string | null; conflicts: NameConflict[] };
}

export interface RackPage {
  items: Rack[];
  next: string | null;
}

export interface RackRemoved {
  name: string;
  entity_id: string;
  machine_id: number;
}

export interface BulkAdoptResult {
  dry_run: boolean;
  adopted: Array<{ name: string; entity_id: string; from: RackStatus }>;
  skipped: Array<{ ref: string; reason: string; code: string }>;
}

export interface RackReplaced {
  old: Rack;
  new: Rack;
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

export interface ActiveScenario extends ScenarioSummary {
  yaml: string;
}

export interface ScenarioImportResult {
  dry_run: boolean;
  scenario: ScenarioSummary;
  activation?: { adopted: string[]; pushed: string[]; waiting: string[] };
}

/** One validation issue of a refused scenario (`details.issues` of a 422). */
export interface ScenarioIssue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export interface ClusterInfo {
  cluster: string;
  public_key: string;
  key_id: string;
  mixer: { entity_id: string; entity_id_hex: string; machine_id: number; name: string; version: string };
  counts: Record<RackStatus, number> & { total: number };
  heartbeat_interval_ms: number;
  counters: Record<string, number>;
  /** Absent from Mixers older than this CLI. */
  memory?: {
    rss_bytes: number;
    heap_used_bytes: number;
    heap_total_bytes: number;
    external_bytes: number;
    db_bytes: number;
    db_by_tag: Record<string, number>;
  };
}

export interface AuditEvent {
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
  items: AuditEvent[];
  next: string | null;
}

export type AuditVerifyResult =
  | { ok: true; count: number }
  | { ok: false; broken_at: number; reason: string };

/** The error body of every failed request. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
