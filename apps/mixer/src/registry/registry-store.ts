// RegistryStore: the one typed entry point to the Mixer's registry database, over a Db handle and a clock.
import { type Db, type OpenDatabaseOptions, openDatabase } from "../db/duckdb-database.js";
import { migrate } from "../db/migrate.js";
import { unwrapDrizzleError } from "../db/unwrap-drizzle-error.js";
import type { AuditChainVerdict, AuditEvent } from "./audit-chain.js";
import {
  type AuditEventInput,
  appendAudit,
  type ListAuditQuery,
  listAudit,
  verifyAuditChain,
} from "./audit-log.js";
import { type AllocateMachineIdOptions, allocateMachineId } from "./machine-id-allocator.js";
import {
  clearNameConflicts,
  listNameConflicts,
  type NameConflict,
  type RecordNameConflictInput,
  recordNameConflict,
} from "./name-conflicts.js";
import { listNodeRows, type UpsertNodeRowInput, upsertNodeRow } from "./node-rows.js";
import { flushPresence } from "./presence-writes.js";
import {
  countPendingRacks,
  countRacksByStatus,
  getRackByEntityId,
  getRackByName,
  getRackByPublicKey,
  type ListRacksQuery,
  listRacks,
  listStalePending,
  loadPresence,
} from "./rack-queries.js";
import type { RackStatus } from "./rack-status.js";
import {
  type DeletedRack,
  type DeleteRackOptions,
  deleteRack,
  type SetStatusOptions,
  setRackStatus,
} from "./rack-status-writes.js";
import {
  type InsertRackInput,
  insertRack,
  nextPassportSerial,
  type PassportIssuedInput,
  type RecordHelloInput,
  recordHello,
  recordPassportIssued,
} from "./rack-writes.js";
import type { NodeRecord, PresenceSeed, PresenceUpdate, RackPage, RackRecord } from "./registry-records.js";
import {
  type ActivateScenarioOptions,
  activateScenario,
  getActiveScenario,
  getScenario,
  listScenarios,
  type SaveScenarioInput,
  type ScenarioRecord,
  saveScenario,
} from "./scenario-store.js";

/** `T` with `now` optional: the store's clock fills it in. Distributes over unions. */
export type WithOptionalNow<T> = T extends unknown ? Omit<T, "now"> & { now?: Date } : never;

export interface RegistryStoreOptions {
  db: Db;
  /** Where `now` comes from when a call does not give one (default: the system clock). */
  clock?: () => Date;
}

export interface OpenRegistryStoreOptions extends OpenDatabaseOptions {
  clock?: () => Date;
}

/**
 * The registry: Racks, the Mixer's own rows, MachineIDs, presence, name conflicts, the audit log and scenarios.
 * Every multi-statement change runs in one transaction; compose several with `transaction(fn)`.
 *
 * @example
 * const store = await RegistryStore.open({ path: join(dataDir, "registry.duckdb") });
 * const rack = await store.insertRack({ name: "rack-nyc-01", publicKey, status: "pending", ... });
 * await store.setStatus(rack.entityId, "active", { cause: "operator", actor: "alice" });
 */
export class RegistryStore {
  readonly db: Db;
  readonly #clock: () => Date;

  constructor(options: RegistryStoreOptions) {
    this.db = options.db;
    this.#clock = options.clock ?? (() => new Date());
  }

  /** Opens the database file, applies pending migrations and returns the store (closing the file on failure). */
  static async open(options: OpenRegistryStoreOptions): Promise<RegistryStore> {
    const db = await openDatabase(options);
    try {
      await migrate(db, { now: (options.clock ?? (() => new Date()))() });
    } catch (error) {
      await db.close();
      throw error;
    }
    return new RegistryStore(options.clock ? { db, clock: options.clock } : { db });
  }

  /** Runs `fn` in one transaction; store calls made inside it join it, and all roll back if it throws. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.#guard(() => this.db.transaction(fn));
  }

  // Racks: reads

  getByName(name: string): Promise<RackRecord | undefined> {
    return this.#guard(() => getRackByName(this.db, name));
  }
  getByEntityId(entityId: bigint): Promise<RackRecord | undefined> {
    return this.#guard(() => getRackByEntityId(this.db, entityId));
  }
  getByPublicKey(publicKey: string): Promise<RackRecord | undefined> {
    return this.#guard(() => getRackByPublicKey(this.db, publicKey));
  }
  listRacks(query: ListRacksQuery): Promise<RackPage> {
    return this.#guard(() => listRacks(this.db, query));
  }
  countByStatus(): Promise<Record<RackStatus, number>> {
    return this.#guard(() => countRacksByStatus(this.db));
  }
  countPending(): Promise<number> {
    return this.#guard(() => countPendingRacks(this.db));
  }
  listStalePending(olderThan: Date): Promise<RackRecord[]> {
    return this.#guard(() => listStalePending(this.db, olderThan));
  }

  // Racks: writes

  insertRack(input: WithOptionalNow<InsertRackInput>): Promise<RackRecord> {
    return this.#guard(() => insertRack(this.db, { ...input, now: input.now ?? this.#clock() }));
  }
  recordHello(entityId: bigint, input: WithOptionalNow<RecordHelloInput>): Promise<RackRecord> {
    return this.#guard(() => recordHello(this.db, entityId, { ...input, now: input.now ?? this.#clock() }));
  }
  setStatus(
    entityId: bigint,
    to: RackStatus,
    options: WithOptionalNow<SetStatusOptions>,
  ): Promise<RackRecord> {
    return this.#guard(() =>
      setRackStatus(this.db, entityId, to, { ...options, now: options.now ?? this.#clock() }),
    );
  }
  deleteRack(entityId: bigint, options: WithOptionalNow<DeleteRackOptions>): Promise<DeletedRack> {
    return this.#guard(() =>
      deleteRack(this.db, entityId, { ...options, now: options.now ?? this.#clock() }),
    );
  }
  nextPassportSerial(entityId: bigint): Promise<number> {
    return this.#guard(() => nextPassportSerial(this.db, entityId));
  }
  recordPassportIssued(entityId: bigint, input: PassportIssuedInput): Promise<RackRecord> {
    return this.#guard(() => recordPassportIssued(this.db, entityId, input));
  }

  /** The lowest free MachineID now; `insertRack` allocates by itself, inside its own transaction. */
  allocateMachineId(options: WithOptionalNow<AllocateMachineIdOptions>): Promise<number> {
    return this.#guard(() => allocateMachineId(this.db, { ...options, now: options.now ?? this.#clock() }));
  }

  // The Mixer's own rows

  upsertNodeRow(input: WithOptionalNow<UpsertNodeRowInput>): Promise<NodeRecord> {
    return this.#guard(() =>
      upsertNodeRow(this.db, { ...input, now: input.now ?? this.#clock() } as UpsertNodeRowInput),
    );
  }
  listNodeRows(): Promise<NodeRecord[]> {
    return this.#guard(() => listNodeRows(this.db));
  }

  // Presence

  flushPresence(rows: readonly PresenceUpdate[]): Promise<number> {
    return this.#guard(() => flushPresence(this.db, rows));
  }
  loadPresence(): Promise<PresenceSeed[]> {
    return this.#guard(() => loadPresence(this.db));
  }

  // Name conflicts

  recordNameConflict(input: WithOptionalNow<RecordNameConflictInput>): Promise<NameConflict> {
    return this.#guard(() => recordNameConflict(this.db, { ...input, now: input.now ?? this.#clock() }));
  }
  listConflicts(name?: string): Promise<NameConflict[]> {
    return this.#guard(() => listNameConflicts(this.db, name));
  }
  clearConflicts(name: string): Promise<number> {
    return this.#guard(() => clearNameConflicts(this.db, name));
  }

  // Audit log

  appendAudit(event: WithOptionalNow<Omit<AuditEventInput, "at">> & { at?: Date }): Promise<AuditEvent> {
    return this.#guard(() => appendAudit(this.db, { ...event, at: event.at ?? this.#clock() }));
  }
  listAudit(query: ListAuditQuery): Promise<AuditEvent[]> {
    return this.#guard(() => listAudit(this.db, query));
  }
  verifyAuditChain(): Promise<AuditChainVerdict> {
    return this.#guard(() => verifyAuditChain(this.db));
  }

  // Scenarios

  saveScenario(input: WithOptionalNow<SaveScenarioInput>): Promise<ScenarioRecord> {
    return this.#guard(() => saveScenario(this.db, { ...input, now: input.now ?? this.#clock() }));
  }
  getScenario(name: string): Promise<ScenarioRecord | undefined> {
    return this.#guard(() => getScenario(this.db, name));
  }
  listScenarios(): Promise<ScenarioRecord[]> {
    return this.#guard(() => listScenarios(this.db));
  }
  getActiveScenario(): Promise<ScenarioRecord | undefined> {
    return this.#guard(() => getActiveScenario(this.db));
  }
  activateScenario(name: string, options: WithOptionalNow<ActivateScenarioOptions>): Promise<ScenarioRecord> {
    return this.#guard(() =>
      activateScenario(this.db, name, { ...options, now: options.now ?? this.#clock() }),
    );
  }

  // Lifecycle of the handle

  checkpoint(): Promise<void> {
    return this.#guard(() => this.db.checkpoint());
  }
  close(): Promise<void> {
    return this.db.close();
  }

  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw unwrapDrizzleError(error);
    }
  }
}
