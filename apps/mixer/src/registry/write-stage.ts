// A write batch's view of the registry while it is planned: reads fall through to what is committed, writes stay here.
//
// Each operation of a batch is planned on a fork of the batch's stage and merged only when it succeeds, so an
// operation refused halfway (a taken name, an illegal transition, a full range) leaves nothing behind.
import type { ApiTokenList, ApiTokenLookup, ApiTokenRecord } from "./api-token-list.js";
import type { AuditEventInput } from "./audit-log.js";
import type {
  EnrollmentTokenList,
  EnrollmentTokenLookup,
  EnrollmentTokenRecord,
} from "./enrollment-token-list.js";
import type { ExpectedKeyList, ExpectedKeyLookup, ExpectedKeyRecord } from "./expected-key-list.js";
import type { MachineIdPool, MachineIdState, MachineIdView } from "./machine-id-pool.js";
import type { RackDirectory, RackLookup } from "./rack-directory.js";
import { InvalidInputError, RegistryFullError } from "./registry-errors.js";
import type { MachineIdRange, NodeRecord, RackRecord } from "./registry-records.js";
import type { RevocationList, RevocationLookup, RevocationRecord } from "./revocation-list.js";
import type { ScenarioActivationRecord, ScenarioCatalog, ScenarioRecord } from "./scenario-catalog.js";

/**
 * What a stage reads through: the committed directory, MachineID pool, scenarios and bus revocations, or a parent
 * stage.
 */
export interface StageBase
  extends RackLookup,
    MachineIdView,
    RevocationLookup,
    ApiTokenLookup,
    EnrollmentTokenLookup,
    ExpectedKeyLookup {
  /** The Mixer's own rows (the Mixer, its Snake Tunnel). */
  nodeRecords(): Iterable<NodeRecord>;
  scenario(name: string): ScenarioRecord | undefined;
  scenarioRecords(): Iterable<ScenarioRecord>;
  /** Every scenario activation, oldest first. */
  scenarioActivations(): readonly ScenarioActivationRecord[];
}

/** The committed registry in memory as a stage reads it: what a batch is planned on. */
export function committedBase(
  directory: RackDirectory,
  pool: MachineIdPool,
  scenarios: ScenarioCatalog,
  revocations: RevocationList,
  apiTokens?: ApiTokenList,
  enrollmentTokens?: EnrollmentTokenList,
  expectedKeys?: ExpectedKeyList,
): StageBase {
  return {
    rack: (id) => directory.rack(id),
    rackByPublicKey: (key) => directory.rackByPublicKey(key),
    nameHolder: (name) => directory.nameHolder(name),
    machineIdState: (id, nowMs) => pool.machineIdState(id, nowMs),
    machineIdScanStart: (min) => pool.machineIdScanStart(min),
    nodeRecords: () => directory.nodeRecords(),
    scenario: (name) => scenarios.get(name),
    scenarioRecords: () => scenarios.values(),
    scenarioActivations: () => scenarios.activations(),
    revocation: (key) => revocations.revocation(key),
    revocationRecords: () => revocations.revocationRecords(),
    apiToken: (name) => apiTokens?.apiToken(name),
    apiTokenRecords: () => apiTokens?.apiTokenRecords() ?? [],
    enrollmentToken: (id) => enrollmentTokens?.enrollmentToken(id),
    enrollmentTokenRecords: () => enrollmentTokens?.enrollmentTokenRecords() ?? [],
    expectedKey: (name) => expectedKeys?.expectedKey(name),
    expectedKeyRecords: () => expectedKeys?.expectedKeyRecords() ?? [],
  };
}

export interface TombstoneRow {
  machineId: number;
  entityId: bigint;
  name: string;
  retiredAt: Date;
  reusableAfter: Date;
}

/** Name-conflict writes, kept in order: a clear followed by a new attempt must leave the attempt. */
export type ConflictWrite =
  | { kind: "clear"; name: string }
  | {
      kind: "record";
      name: string;
      claimedPublicKey: string;
      holderEntityId: bigint | null;
      source: string | null;
      attributes?: Record<string, unknown> | null;
      version?: string | null;
      now: Date;
    };

export class WriteStage implements StageBase {
  readonly #parent: StageBase;
  /** Final state of every Rack this stage wrote: the record, or null once deleted. */
  readonly racks = new Map<bigint, RackRecord | null>();
  /** Entities deleted in this stage (a later insert of the same id is a new row, not an update). */
  readonly deleted = new Set<bigint>();
  /** Racks whose current record is written as it is (hello facts), without a change of their own. */
  readonly touched = new Set<bigint>();
  /** Final state of every node row (the Mixer's own rows) this stage wrote, or null once deleted. */
  readonly nodes = new Map<bigint, NodeRecord | null>();
  /** Every scenario this stage wrote, as it is after the stage. */
  readonly scenarios = new Map<string, ScenarioRecord>();
  /** Scenario activations this stage recorded, in order. */
  readonly activations: ScenarioActivationRecord[] = [];
  readonly tombstones = new Map<number, TombstoneRow | null>();
  readonly conflicts: ConflictWrite[] = [];
  /** Final state of every bus revocation this stage wrote, by public key: the record, or null once pruned. */
  readonly revocations = new Map<string, RevocationRecord | null>();
  /** Final state of every named API token this stage wrote, by name: the record, or null once revoked. */
  readonly apiTokens = new Map<string, ApiTokenRecord | null>();
  /** Final state of every enrollment token this stage wrote (created, spent), by id: the record, or null once revoked. */
  readonly enrollmentTokens = new Map<string, EnrollmentTokenRecord | null>();
  /** Final state of every expected key this stage wrote, by name: the record, or null once forgotten. */
  readonly expectedKeys = new Map<string, ExpectedKeyRecord | null>();
  readonly audits: AuditEventInput[] = [];
  readonly #names = new Map<string, bigint | null>();
  readonly #keys = new Map<string, bigint | null>();
  readonly #ids = new Map<number, MachineIdState>();
  /** Per range start: every id in [start, cursor) is taken (by the base or by this stage). */
  #cursors: Map<number, number>;
  /** The lowest id this stage made available again (a delete, a cleared tombstone); scans never skip it. */
  #lowestFreed = Number.POSITIVE_INFINITY;

  constructor(parent: StageBase) {
    this.#parent = parent;
    this.#cursors = parent instanceof WriteStage ? new Map(parent.#cursors) : new Map();
    if (parent instanceof WriteStage) this.#lowestFreed = parent.#lowestFreed;
  }

  get empty(): boolean {
    return (
      this.racks.size === 0 &&
      this.touched.size === 0 &&
      this.nodes.size === 0 &&
      this.scenarios.size === 0 &&
      this.activations.length === 0 &&
      this.tombstones.size === 0 &&
      this.conflicts.length === 0 &&
      this.revocations.size === 0 &&
      this.apiTokens.size === 0 &&
      this.enrollmentTokens.size === 0 &&
      this.expectedKeys.size === 0 &&
      this.audits.length === 0
    );
  }

  /** A child stage for one operation; `merge()` it when the operation succeeds, drop it otherwise. */
  fork(): WriteStage {
    return new WriteStage(this);
  }

  /** Moves everything this (child) stage wrote into its parent. */
  merge(): void {
    const parent = this.#parent;
    if (!(parent instanceof WriteStage)) throw new TypeError("only a forked stage can be merged");
    for (const [id, rack] of this.racks) parent.racks.set(id, rack);
    for (const id of this.deleted) parent.deleted.add(id);
    for (const id of this.touched) parent.touched.add(id);
    for (const [id, node] of this.nodes) parent.nodes.set(id, node);
    for (const [name, scenario] of this.scenarios) parent.scenarios.set(name, scenario);
    parent.activations.push(...this.activations);
    for (const [id, row] of this.tombstones) parent.tombstones.set(id, row);
    parent.conflicts.push(...this.conflicts);
    for (const [key, record] of this.revocations) parent.revocations.set(key, record);
    for (const [name, record] of this.apiTokens) parent.apiTokens.set(name, record);
    for (const [id, record] of this.enrollmentTokens) parent.enrollmentTokens.set(id, record);
    for (const [name, record] of this.expectedKeys) parent.expectedKeys.set(name, record);
    parent.audits.push(...this.audits);
    for (const [name, id] of this.#names) parent.#names.set(name, id);
    for (const [key, id] of this.#keys) parent.#keys.set(key, id);
    for (const [id, state] of this.#ids) parent.#ids.set(id, state);
    parent.#cursors = this.#cursors;
    parent.#lowestFreed = this.#lowestFreed;
  }

  /**
   * Whether this (forked) stage puts a Rack row on a key its parent stage let go of: an entity id or MachineID the
   * parent deleted or retired, or a name or public key the parent released. Committed in one transaction, that is a
   * key deleted and inserted again, which DuckDB cannot undo: when such a commit fails (a full or read-only disk) it
   * aborts the whole process while reverting. The writer moves such a write to the next batch instead.
   */
  reusesKeyFreedByParent(): boolean {
    const parent = this.#parent;
    if (!(parent instanceof WriteStage)) return false;
    const freed = (entityId: bigint, name: string, machineId: number): boolean => {
      if (parent.deleted.has(entityId) || parent.nodes.get(entityId) === null) return true;
      if (parent.#names.get(name) === null) return true;
      const id = parent.#ids.get(machineId);
      return id !== undefined && !(id.kind === "live" && id.entityId === entityId);
    };
    for (const [entityId, rack] of this.racks) {
      if (rack === null) continue;
      if (freed(entityId, rack.name, rack.machineId)) return true;
      if (parent.#keys.get(rack.lifecycle.publicKey) === null) return true;
    }
    for (const [entityId, node] of this.nodes) {
      if (node !== null && freed(entityId, node.name, node.machineId)) return true;
    }
    return false;
  }

  // Reads

  rack(entityId: bigint): RackRecord | undefined {
    if (this.racks.has(entityId)) return this.racks.get(entityId) ?? undefined;
    return this.#parent.rack(entityId);
  }

  rackByPublicKey(publicKey: string): RackRecord | undefined {
    if (!this.#keys.has(publicKey)) return this.#parent.rackByPublicKey(publicKey);
    const id = this.#keys.get(publicKey);
    return id === null || id === undefined ? undefined : this.rack(id);
  }

  nameHolder(name: string): bigint | undefined {
    if (!this.#names.has(name)) return this.#parent.nameHolder(name);
    return this.#names.get(name) ?? undefined;
  }

  machineIdState(machineId: number, nowMs: number): MachineIdState {
    const own = this.#ids.get(machineId);
    if (own === undefined) return this.#parent.machineIdState(machineId, nowMs);
    if (own.kind === "tombstoned" && own.reusableAfterMs <= nowMs) return { kind: "free" };
    return own;
  }

  *nodeRecords(): Generator<NodeRecord> {
    for (const node of this.#parent.nodeRecords()) {
      if (!this.nodes.has(node.entityId)) yield node;
    }
    for (const node of this.nodes.values()) if (node) yield node;
  }

  scenario(name: string): ScenarioRecord | undefined {
    return this.scenarios.get(name) ?? this.#parent.scenario(name);
  }

  *scenarioRecords(): Generator<ScenarioRecord> {
    for (const scenario of this.#parent.scenarioRecords()) {
      if (!this.scenarios.has(scenario.name)) yield scenario;
    }
    yield* this.scenarios.values();
  }

  revocation(publicKey: string): RevocationRecord | undefined {
    if (this.revocations.has(publicKey)) return this.revocations.get(publicKey) ?? undefined;
    return this.#parent.revocation(publicKey);
  }

  *revocationRecords(): Generator<RevocationRecord> {
    for (const record of this.#parent.revocationRecords()) {
      if (!this.revocations.has(record.publicKey)) yield record;
    }
    for (const record of this.revocations.values()) if (record) yield record;
  }

  apiToken(name: string): ApiTokenRecord | undefined {
    if (this.apiTokens.has(name)) return this.apiTokens.get(name) ?? undefined;
    return this.#parent.apiToken(name);
  }

  *apiTokenRecords(): Generator<ApiTokenRecord> {
    for (const record of this.#parent.apiTokenRecords()) {
      if (!this.apiTokens.has(record.name)) yield record;
    }
    for (const record of this.apiTokens.values()) if (record) yield record;
  }

  enrollmentToken(id: string): EnrollmentTokenRecord | undefined {
    if (this.enrollmentTokens.has(id)) return this.enrollmentTokens.get(id) ?? undefined;
    return this.#parent.enrollmentToken(id);
  }

  *enrollmentTokenRecords(): Generator<EnrollmentTokenRecord> {
    for (const record of this.#parent.enrollmentTokenRecords()) {
      if (!this.enrollmentTokens.has(record.id)) yield record;
    }
    for (const record of this.enrollmentTokens.values()) if (record) yield record;
  }

  expectedKey(name: string): ExpectedKeyRecord | undefined {
    if (this.expectedKeys.has(name)) return this.expectedKeys.get(name) ?? undefined;
    return this.#parent.expectedKey(name);
  }

  *expectedKeyRecords(): Generator<ExpectedKeyRecord> {
    for (const record of this.#parent.expectedKeyRecords()) {
      if (!this.expectedKeys.has(record.name)) yield record;
    }
    for (const record of this.expectedKeys.values()) if (record) yield record;
  }

  /** Whether this stage revokes a key on the bus (not counting prunes): the bus must then be told. */
  get revokesKeys(): boolean {
    for (const record of this.revocations.values()) if (record) return true;
    return false;
  }

  machineIdScanStart(min: number): number {
    const start = this.#cursors.get(min) ?? this.#parent.machineIdScanStart(min);
    return this.#lowestFreed >= min ? Math.min(start, this.#lowestFreed) : start;
  }

  // Writes

  /** Inserts or replaces a Rack record. */
  putRack(rack: RackRecord): void {
    const previous = this.rack(rack.entityId);
    if (previous && previous.name !== rack.name) this.#names.set(previous.name, null);
    if (previous && previous.lifecycle.publicKey !== rack.lifecycle.publicKey) {
      this.#keys.set(previous.lifecycle.publicKey, null);
    }
    this.racks.set(rack.entityId, rack);
    this.#names.set(rack.name, rack.entityId);
    this.#keys.set(rack.lifecycle.publicKey, rack.entityId);
  }

  deleteRack(rack: RackRecord): void {
    this.racks.set(rack.entityId, null);
    this.deleted.add(rack.entityId);
    this.#names.set(rack.name, null);
    this.#keys.set(rack.lifecycle.publicKey, null);
  }

  /** Inserts or replaces one of the Mixer's own rows. */
  putNode(node: NodeRecord): void {
    const previous = this.#node(node.entityId);
    if (previous && previous.name !== node.name) this.#names.set(previous.name, null);
    this.nodes.set(node.entityId, node);
    this.#names.set(node.name, node.entityId);
    this.#ids.set(node.machineId, { kind: "live", entityId: node.entityId });
  }

  /** Deletes a node row: its name and MachineID are free at once (node rows hold no passports). */
  deleteNode(node: NodeRecord): void {
    this.nodes.set(node.entityId, null);
    this.#names.set(node.name, null);
    this.#ids.set(node.machineId, { kind: "free" });
    this.#freed(node.machineId);
  }

  scenarioActivations(): readonly ScenarioActivationRecord[] {
    const staged = this.activations;
    const committed = this.#parent.scenarioActivations();
    return staged.length === 0 ? committed : [...committed, ...staged];
  }

  /** Records an activation; its seq follows every activation before it. */
  recordScenarioActivation(activation: Omit<ScenarioActivationRecord, "seq">): ScenarioActivationRecord {
    const record = { ...activation, seq: (this.scenarioActivations().at(-1)?.seq ?? 0) + 1 };
    this.activations.push(record);
    return record;
  }

  putScenario(scenario: ScenarioRecord): void {
    this.scenarios.set(scenario.name, scenario);
  }

  touch(entityId: bigint): void {
    this.touched.add(entityId);
  }

  appendAudit(event: AuditEventInput): void {
    this.audits.push(event);
  }

  /** The lowest id in the range free at `now`, reserved for `entityId`; {@link RegistryFullError} when none is. */
  allocateMachineId(range: MachineIdRange, now: Date): number {
    for (const [field, value] of Object.entries(range)) checkMachineId(value, `machineId.${field}`);
    if (range.min > range.max)
      throw new InvalidInputError("machineId", `range ${range.min}..${range.max} is empty`);
    const nowMs = now.getTime();
    for (let id = this.machineIdScanStart(range.min); id <= range.max; id++) {
      if (this.machineIdState(id, nowMs).kind !== "free") continue;
      this.#cursors.set(range.min, id + 1);
      return id;
    }
    throw new RegistryFullError(range.min, range.max);
  }

  markMachineIdLive(machineId: number, entityId: bigint): void {
    this.#ids.set(machineId, { kind: "live", entityId });
  }

  /** The row holding `machineId` is deleted; its tombstone holds it until `reusableAfter`. */
  retireMachineId(row: TombstoneRow): void {
    this.tombstones.set(row.machineId, row);
    this.#ids.set(row.machineId, { kind: "tombstoned", reusableAfterMs: row.reusableAfter.getTime() });
    this.#freed(row.machineId);
  }

  /** Drops a tombstone, handing its id on at once (an operator's replace keeping the MachineID). */
  deleteTombstone(machineId: number): void {
    this.tombstones.set(machineId, null);
    this.#ids.set(machineId, { kind: "free" });
    this.#freed(machineId);
  }

  /** Revokes (or revokes again, later) a key on the bus. */
  putRevocation(record: RevocationRecord): void {
    this.revocations.set(record.publicKey, record);
  }

  /** Drops a revocation every JWT of which has expired. */
  deleteRevocation(publicKey: string): void {
    this.revocations.set(publicKey, null);
  }

  /** Creates a named API token. */
  putApiToken(record: ApiTokenRecord): void {
    this.apiTokens.set(record.name, record);
  }

  /** Revokes a named API token: its row goes. */
  deleteApiToken(name: string): void {
    this.apiTokens.set(name, null);
  }

  /** Creates an enrollment token or records a use of it (the whole record, its `used` counted). */
  putEnrollmentToken(record: EnrollmentTokenRecord): void {
    this.enrollmentTokens.set(record.id, record);
  }

  /** Revokes an enrollment token: its row goes. */
  deleteEnrollmentToken(id: string): void {
    this.enrollmentTokens.set(id, null);
  }

  /** Sets (or replaces) a name's expected key. */
  putExpectedKey(record: ExpectedKeyRecord): void {
    this.expectedKeys.set(record.name, record);
  }

  /** Forgets a name's expected key. */
  deleteExpectedKey(name: string): void {
    this.expectedKeys.set(name, null);
  }

  recordConflict(write: ConflictWrite): void {
    this.conflicts.push(write);
  }

  #node(entityId: bigint): NodeRecord | undefined {
    if (this.nodes.has(entityId)) return this.nodes.get(entityId) ?? undefined;
    for (const node of this.#parent.nodeRecords()) if (node.entityId === entityId) return node;
    return undefined;
  }

  #freed(machineId: number): void {
    this.#lowestFreed = Math.min(this.#lowestFreed, machineId);
    for (const [min, cursor] of this.#cursors) if (machineId < cursor) this.#cursors.delete(min);
  }
}

/** Refuses anything but an integer in 1..65535 (0 is invalid for a node, SPEC §3). */
export function checkMachineId(value: number, field = "machineId"): void {
  if (!Number.isInteger(value) || value < 1 || value > 0xffff) {
    throw new InvalidInputError(field, `must be an integer in 1..65535, got ${value}`);
  }
}
