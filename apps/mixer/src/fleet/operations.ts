// The operator-facing operations of the Mixer, as the REST API (and through it the CLI) sees them.
import type {
  ActiveScenario,
  ApiTokenCreated,
  ApiTokenRevoked,
  ApiTokenRole,
  ApiTokenView,
  AuditEventView,
  AuditVerifyResult,
  BulkAdoptResult,
  EnrollmentTokenCreated,
  EnrollmentTokenRevoked,
  EnrollmentTokenView,
  ExpectedKeyView,
  NameConflictView,
  RackPage,
  RackRemoved,
  RackReplaced,
  RackView,
  ScenarioActivation,
  ScenarioImportResult,
  ScenarioPlan,
  ScenarioSummary,
} from "@fluxrig/wire";
import type { ListRacksQuery } from "../registry/rack-queries.js";

// The bodies these operations answer (RackView, ClusterInfo, ...) are declared in @fluxrig/wire, shared with the CLI.

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

export interface RackOperations {
  list(query: ListRacksQuery): Promise<RackPage>;
  /** `ref` is a name, a decimal or a 0x-hex entity id. Throws OperationError(not_found). */
  show(ref: string): Promise<RackView>;
  /**
   * `expectKey`: the key fingerprint the operator checked (`racks show`); OperationError(conflict) and nothing adopted
   * when the Rack's key has another.
   */
  adopt(ref: string, by: Actor, opts?: { expectKey?: string }): Promise<RackView>;
  adoptMany(request: BulkAdoptRequest): Promise<BulkAdoptResult>;
  reject(ref: string, by: Actor): Promise<RackView>;
  revoke(ref: string, by: Actor): Promise<RackView>;
  remove(ref: string, by: Actor): Promise<RackRemoved>;
  /** Hands `name` to the key that claimed it (the newest conflict unless `publicKey` is given) and revokes the old key. */
  replace(name: string, opts: Actor & { publicKey?: string; keepMachineId: boolean }): Promise<RackReplaced>;
  conflicts(name?: string): Promise<NameConflictView[]>;
}

export interface ScenarioOperations {
  /** Validates; throws OperationError(schema) with `issues` on invalid YAML. */
  import(yaml: string, opts: Actor & { dryRun: boolean; activate: boolean }): Promise<ScenarioImportResult>;
  list(): Promise<ScenarioSummary[]>;
  active(): Promise<ActiveScenario | null>;
  activate(name: string, by: Actor): Promise<ScenarioImportResult>;
  /** What activating `yaml` would do, compared with the active scenario; writes nothing. Refuses like import. */
  plan(yaml: string): Promise<ScenarioPlan>;
  /** Every activation, newest first; only those of scenario `name` when given (OperationError(not_found) if none). */
  history(name?: string): Promise<ScenarioActivation[]>;
  /** Re-activates the previously active version; OperationError(invalid_transition) when there is none. */
  rollback(by: Actor): Promise<ScenarioImportResult>;
}

export interface AuditOperations {
  list(query: { rack?: string; since?: Date; limit: number; afterSeq?: number }): Promise<AuditEventView[]>;
  /**
   * Events as they are committed, after a cursor: `afterSeq` if given, else from `since` on, else from now.
   * Throws OperationError(not_found) for an unknown `rack`, OperationError(unavailable) when the Mixer is stopping
   * or already serves its most streams.
   */
  follow(query: FollowQuery): Promise<AuditFollow>;
  /** Ends every follow and refuses new ones (the Mixer is stopping); resolves once no read is in flight. */
  stopFollowing(): Promise<void>;
  verify(): Promise<AuditVerifyResult>;
}

/** Named API tokens (issue 16): created and revoked by an admin, listed without their secrets. */
export interface ApiTokenOperations {
  /** Throws OperationError(conflict) for a live or reserved name. The only answer carrying the secret. */
  create(name: string, role: ApiTokenRole, by: Actor): Promise<ApiTokenCreated>;
  list(): Promise<ApiTokenView[]>;
  /** Throws OperationError(not_found). The token stops working when this resolves. */
  revoke(name: string, by: Actor): Promise<ApiTokenRevoked>;
}

/** Enrollment tokens (issue 16): created, listed without their secrets, revoked by an operator. */
export interface EnrollmentTokenOperations {
  /** The only answer carrying the secret. */
  create(
    input: { pattern: string; uses: number; expiresInSeconds: number },
    by: Actor,
  ): Promise<EnrollmentTokenCreated>;
  list(): Promise<EnrollmentTokenView[]>;
  /** Throws OperationError(not_found). The token adopts nobody once this resolves. */
  revoke(id: string, by: Actor): Promise<EnrollmentTokenRevoked>;
}

/** Expected keys (issue 16): a name adopted only with one key. */
export interface ExpectedKeyOperations {
  list(): Promise<ExpectedKeyView[]>;
  /** Sets or replaces the name's expected key. */
  expect(name: string, keyFingerprint: string, by: Actor): Promise<ExpectedKeyView>;
  /** Throws OperationError(not_found) when the name has none. */
  forget(name: string, by: Actor): Promise<ExpectedKeyView>;
}

export interface FollowQuery {
  rack?: string;
  since?: Date;
  afterSeq?: number;
}

/** One follower of the audit log: the backlog after its cursor, then live events, in seq order, none twice. */
export interface AuditFollow {
  /** The cursor it started after (a client that reconnects before any event resumes from here). */
  readonly after: number;
  /**
   * The next events: backlog pages first, then live ones as they commit. [] when none came within `waitMs` (time
   * for a keep-alive); null once it has ended (closed, the Mixer stopping, or this follower fell too far behind).
   */
  next(waitMs: number): Promise<AuditEventView[] | null>;
  /** Aborted once it has ended (the Mixer stopping, the client too slow, or closed). */
  readonly signal: AbortSignal;
  close(): void;
}
