// In-memory fakes of the fleet operations for the HTTP-layer tests: real enough to page, resolve refs and fail on cue.
import type {
  ApiTokenRole,
  ApiTokenView,
  AuditEventView,
  ClusterInfo,
  EnrollmentTokenView,
  ExpectedKeyView,
  NameConflictView,
  RackStatus,
  RackView,
  ScenarioSummary,
  WireErrorCode,
} from "@fluxrig/wire";
import type { NamedTokens } from "../../src/api/api-deps.js";
import { OperationError } from "../../src/errors/wire-refusal.js";
import type {
  Actor,
  ApiTokenOperations,
  AuditOperations,
  EnrollmentTokenOperations,
  ExpectedKeyOperations,
  RackOperations,
  ScenarioOperations,
} from "../../src/fleet/operations.js";

const AT = "2025-01-01T00:00:00.000Z";

/** A Rack view with MachineID `machineId`; its entity id is the Rack node id for that MachineID. */
export function fakeRack(name: string, machineId: number, status: RackStatus = "pending"): RackView {
  const id = (3n << 56n) | (BigInt(machineId) << 40n);
  return {
    entity_id: id.toString(),
    entity_id_hex: `0x${id.toString(16).padStart(16, "0")}`,
    type_id: 3,
    machine_id: machineId,
    name,
    status,
    version: "0.1.0",
    attributes: { hostname: name, os: "linux", arch: "x64" },
    stats: null,
    last_seen: AT,
    stale: false,
    first_seen: AT,
    status_changed_at: AT,
    key_fingerprint: "SHA256:abc",
    passport: status === "active" ? { serial: 1, issued_at: AT, expires_at: AT } : null,
  };
}

export const FAKE_CONFLICT: NameConflictView = {
  name: "rack-a",
  claimed_key_fingerprint: "SHA256:other",
  claimed_public_key: "A".repeat(43),
  first_at: AT,
  last_at: AT,
  attempts: 3,
  last_source: "10.0.0.9",
};

export const FAKE_SCENARIO: ScenarioSummary = {
  name: "edge-demo",
  version: "1",
  active: false,
  imported_at: AT,
  activated_at: null,
  racks: ["rack-a"],
  gears: 1,
  wires: 0,
};

export const FAKE_CLUSTER: ClusterInfo = {
  cluster: "mixer-1",
  public_key: "B".repeat(43),
  key_id: "k1",
  mixer: {
    entity_id: "144116287587483648",
    entity_id_hex: "0x0200010000000000",
    machine_id: 1,
    name: "mixer-1",
    version: "0.1.0",
  },
  counts: { pending: 1, active: 1, offline: 0, rejected: 0, revoked: 0, total: 2 },
  heartbeat_interval_ms: 10_000,
  counters: { "api.refused.unauthorized": 0 },
  memory: {
    rss_bytes: 250 * 1048576,
    heap_used_bytes: 50 * 1048576,
    heap_total_bytes: 90 * 1048576,
    external_bytes: 4 * 1048576,
    db_bytes: 12 * 1048576,
    db_by_tag: { ART_INDEX: 4 * 1048576, BASE_TABLE: 8 * 1048576 },
  },
};

function auditEvent(seq: number): AuditEventView {
  return {
    seq,
    at: AT,
    entity_id: fakeRack("rack-a", 1).entity_id,
    name: "rack-a",
    kind: "status",
    from_status: "pending",
    to_status: "active",
    cause: "operator",
    actor: "api",
    details: null,
    prev_hash: "0".repeat(64),
    hash: "1".repeat(64),
  };
}

/** The named tokens every fake fleet starts with: secret by name. */
export const FAKE_TOKENS: Record<string, { role: ApiTokenRole; secret: string }> = {
  dashboard: { role: "viewer", secret: "frt_viewer-secret-for-tests" },
  alice: { role: "operator", secret: "frt_operator-secret-for-tests" },
  root: { role: "admin", secret: "frt_admin-secret-for-tests" },
  "ci-deploy": { role: "operator", secret: "frt_ci-secret-for-tests" },
};

/** Every call the fakes received, so tests can check what the API passed on. */
export interface FakeCall {
  op: string;
  args: unknown[];
}

/** The fakes share one registry of Racks and one failure switch. */
export class FakeFleet {
  readonly calls: FakeCall[] = [];
  readonly rackRows = new Map<string, RackView>();
  activeScenario: (ScenarioSummary & { yaml: string }) | null = null;
  readonly tokenRows = new Map<string, { view: ApiTokenView; secret: string }>(
    Object.entries(FAKE_TOKENS).map(([name, t]) => [
      name,
      { view: { name, role: t.role, created_at: AT, created_by: "api" }, secret: t.secret },
    ]),
  );
  #failure: Error | undefined;

  constructor() {
    for (const rack of [
      fakeRack("rack-a", 1),
      fakeRack("rack-b", 2, "active"),
      fakeRack("rack-c", 3, "offline"),
    ]) {
      this.rackRows.set(rack.name, rack);
    }
  }

  /** The next operation call throws `OperationError(code)`. */
  failNext(code: WireErrorCode, details?: Record<string, unknown>): void {
    this.#failure = new OperationError(code, `fake refusal: ${code}`, details);
  }

  /** The next operation call throws a plain Error, as a bug would. */
  crashNext(message: string): void {
    this.#failure = new Error(message);
  }

  #call(op: string, ...args: unknown[]): void {
    this.calls.push({ op, args });
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure !== undefined) throw failure;
  }

  #resolve(ref: string): RackView {
    for (const rack of this.rackRows.values()) {
      if (rack.name === ref || rack.entity_id === ref || rack.entity_id_hex === ref.toLowerCase())
        return rack;
    }
    throw new OperationError("not_found", `no Rack ${ref}`);
  }

  #change(ref: string, status: RackStatus): RackView {
    const rack = { ...this.#resolve(ref), status };
    this.rackRows.set(rack.name, rack);
    return rack;
  }

  readonly racks: RackOperations = {
    list: async (q) => {
      this.#call("racks.list", q);
      const all = [...this.rackRows.values()]
        .filter((r) => q.status === undefined || r.status === q.status)
        .filter((r) => q.namePrefix === undefined || r.name.startsWith(q.namePrefix))
        .filter((r) => q.after === undefined || r.name > q.after)
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      const items = all.slice(0, q.limit);
      return { items, next: all.length > q.limit ? (items[items.length - 1]?.name ?? null) : null };
    },
    show: async (ref) => {
      this.#call("racks.show", ref);
      return this.#resolve(ref);
    },
    adopt: async (ref, by: Actor) => {
      this.#call("racks.adopt", ref, by);
      return this.#change(ref, "active");
    },
    reject: async (ref, by) => {
      this.#call("racks.reject", ref, by);
      return this.#change(ref, "rejected");
    },
    revoke: async (ref, by) => {
      this.#call("racks.revoke", ref, by);
      return this.#change(ref, "revoked");
    },
    remove: async (ref, by) => {
      this.#call("racks.remove", ref, by);
      const rack = this.#resolve(ref);
      this.rackRows.delete(rack.name);
      return { name: rack.name, entity_id: rack.entity_id, machine_id: rack.machine_id };
    },
    adoptMany: async (request) => {
      this.#call("racks.adoptMany", request);
      const adopted = [...this.rackRows.values()]
        .filter((r) => r.status === "pending")
        .map((r) => ({ name: r.name, entity_id: r.entity_id, from: r.status }));
      return {
        dry_run: request.dryRun,
        adopted,
        skipped: [{ ref: "rack-z", reason: "no such Rack", code: "not_found" }],
      };
    },
    replace: async (name, opts) => {
      this.#call("racks.replace", name, opts);
      const old = this.#resolve(name);
      return {
        old: { ...old, status: "revoked" },
        new: { ...old, key_fingerprint: "SHA256:new", status: "active" },
      };
    },
    conflicts: async (name) => {
      this.#call("racks.conflicts", name);
      return [FAKE_CONFLICT];
    },
  };

  readonly scenarios: ScenarioOperations = {
    import: async (yaml, opts) => {
      this.#call("scenarios.import", yaml, opts);
      return {
        dry_run: opts.dryRun,
        scenario: FAKE_SCENARIO,
        ...(opts.activate ? { activation: { adopted: ["rack-a"], pushed: ["rack-a"], waiting: [] } } : {}),
      };
    },
    list: async () => {
      this.#call("scenarios.list");
      return [FAKE_SCENARIO];
    },
    active: async () => {
      this.#call("scenarios.active");
      return this.activeScenario;
    },
    activate: async (name, by) => {
      this.#call("scenarios.activate", name, by);
      return { dry_run: false, scenario: { ...FAKE_SCENARIO, name, active: true, activated_at: AT } };
    },
    plan: async (yaml) => {
      this.#call("scenarios.plan", yaml);
      return { scenario: { name: "edge-demo", version: "2" }, active: null, stored: false, racks: [] };
    },
    history: async (name) => {
      this.#call("scenarios.history", name);
      return [];
    },
    rollback: async (by) => {
      this.#call("scenarios.rollback", by);
      return { dry_run: false, scenario: { ...FAKE_SCENARIO, active: true, activated_at: AT } };
    },
  };

  readonly audit: AuditOperations = {
    list: async (q) => {
      this.#call("audit.list", q);
      const first = (q.afterSeq ?? 0) + 1;
      return Array.from({ length: Math.max(0, Math.min(q.limit, 5 - first + 1)) }, (_, i) =>
        auditEvent(first + i),
      );
    },
    follow: async (q) => {
      this.#call("audit.follow", q);
      // The backlog after the cursor (as list gives it), then an end: enough for the route's framing.
      let events: AuditEventView[] | null = await this.audit.list({ ...q, limit: 100 });
      return {
        after: q.afterSeq ?? 0,
        signal: new AbortController().signal,
        next: async () => {
          const out = events;
          events = null;
          return out;
        },
        close: () => this.#call("audit.follow.close"),
      };
    },
    stopFollowing: async () => {
      this.#call("audit.stopFollowing");
    },
    verify: async () => {
      this.#call("audit.verify");
      return { ok: true, count: 5 };
    },
  };

  readonly tokens: ApiTokenOperations & NamedTokens = {
    create: async (name, role, by) => {
      this.#call("tokens.create", name, role, by);
      if (this.tokenRows.has(name)) throw new OperationError("conflict", `an API token named ${name} exists`);
      const view = { name, role, created_at: AT, created_by: by.actor };
      const secret = `frt_fake-${name}`;
      this.tokenRows.set(name, { view, secret });
      return { ...view, secret };
    },
    list: async () => {
      this.#call("tokens.list");
      return [...this.tokenRows.values()].map((t) => t.view);
    },
    revoke: async (name, by) => {
      this.#call("tokens.revoke", name, by);
      const row = this.tokenRows.get(name);
      if (row === undefined) throw new OperationError("not_found", `no API token named ${name}`);
      this.tokenRows.delete(name);
      return { ...row.view, revoked_at: AT };
    },
    // Not a call: the bearer check runs before every operation.
    authenticate: (secret) => {
      for (const { view, secret: s } of this.tokenRows.values()) {
        if (s === secret) return { name: view.name, role: view.role };
      }
      return undefined;
    },
  };

  /** Enrollment tokens by id; the example id exists. */
  readonly enrollmentTokenRows = new Map<string, EnrollmentTokenView>([
    [
      "0123456789ab",
      {
        id: "0123456789ab",
        pattern: "edge-*",
        uses: 10,
        used: 2,
        expires_at: AT,
        state: "usable",
        created_at: AT,
        created_by: "api",
      },
    ],
  ]);

  readonly enrollmentTokens: EnrollmentTokenOperations = {
    create: async (input, by) => {
      this.#call("enrollmentTokens.create", input, by);
      const view: EnrollmentTokenView = {
        id: "ba9876543210",
        pattern: input.pattern,
        uses: input.uses,
        used: 0,
        expires_at: AT,
        state: "usable",
        created_at: AT,
        created_by: by.actor,
      };
      this.enrollmentTokenRows.set(view.id, view);
      return { ...view, secret: `fet_${view.id}_${"A".repeat(43)}` };
    },
    list: async () => {
      this.#call("enrollmentTokens.list");
      return [...this.enrollmentTokenRows.values()];
    },
    revoke: async (id, by) => {
      this.#call("enrollmentTokens.revoke", id, by);
      const row = this.enrollmentTokenRows.get(id);
      if (row === undefined) throw new OperationError("not_found", `no enrollment token ${id}`);
      this.enrollmentTokenRows.delete(id);
      return { ...row, revoked_at: AT };
    },
  };

  readonly expectedKeyRows = new Map<string, ExpectedKeyView>([
    [
      "rack-nyc-01",
      { name: "rack-nyc-01", key_fingerprint: `SHA256:${"A".repeat(43)}`, created_at: AT, created_by: "api" },
    ],
  ]);

  readonly expectedKeys: ExpectedKeyOperations = {
    list: async () => {
      this.#call("expectedKeys.list");
      return [...this.expectedKeyRows.values()];
    },
    expect: async (name, key, by) => {
      this.#call("expectedKeys.expect", name, key, by);
      const view = { name, key_fingerprint: key, created_at: AT, created_by: by.actor };
      this.expectedKeyRows.set(name, view);
      return view;
    },
    forget: async (name, by) => {
      this.#call("expectedKeys.forget", name, by);
      const row = this.expectedKeyRows.get(name);
      if (row === undefined) throw new OperationError("not_found", `no expected key for ${name}`);
      this.expectedKeyRows.delete(name);
      return row;
    },
  };

  readonly cluster = async (): Promise<ClusterInfo> => {
    this.#call("cluster");
    return FAKE_CLUSTER;
  };
}
