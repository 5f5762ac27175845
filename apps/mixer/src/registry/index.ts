// The registry store's public surface for the rest of the Mixer (enrollment, presence, passports, REST API).
export { type Db, type OpenDatabaseOptions, openDatabase, type QueryResult } from "../db/duckdb-database.js";
export type { JsonObject } from "../db/duckdb-values.js";
export { currentVersion, type MigrateOptions, type MigrateResult, migrate } from "../db/migrate.js";
export { LATEST_SCHEMA_VERSION, MIGRATIONS, type Migration } from "../db/migrations/migration.js";
export {
  DatabaseClosedError,
  DatabaseLockedError,
  DatabaseOpenError,
  IllegalTransitionError,
  InvalidInputError,
  MachineIdInUseError,
  MigrationError,
  MixerStoreError,
  NameTakenError,
  NotFoundError,
  PublicKeyTakenError,
  QueryFailedError,
  RegistryFullError,
  StalePassportSerialError,
  UnexpectedStatusError,
} from "../db/store-errors.js";
export { ormQuery, unwrapDrizzleError } from "../db/unwrap-drizzle-error.js";
export {
  type AuditChainVerdict,
  type AuditEvent,
  type AuditEventFields,
  auditHash,
  canonicalJson,
  GENESIS_HASH,
} from "./audit-chain.js";
export {
  type AuditEventInput,
  type AuditHead,
  AuditKind,
  appendAudit,
  auditAppendCount,
  type ListAuditQuery,
  listAudit,
  readAuditHead,
  sealAuditEvent,
  verifyAuditChain,
} from "./audit-log.js";
export { NODE_NAME_PATTERN } from "./input-checks.js";
export {
  type AllocateMachineIdOptions,
  allocateMachineId,
  assertMachineIdFree,
  type MachineIdHolder,
  machineIdHolder,
} from "./machine-id-allocator.js";
export { MachineIdPool, type MachineIdState, type MachineIdView } from "./machine-id-pool.js";
export {
  clearNameConflicts,
  listNameConflicts,
  type NameConflict,
  type RecordNameConflictInput,
  recordNameConflict,
} from "./name-conflicts.js";
export { listNodeRows, type UpsertNodeRowInput, upsertNodeRow } from "./node-rows.js";
export {
  flushPresence,
  type PresenceRowSink,
  type PresenceRowSource,
  writePresenceRows,
} from "./presence-writes.js";
export { type HelloFacts, RackDirectory, type RackView } from "./rack-directory.js";
export {
  countPendingRacks,
  countRacksByStatus,
  getRackByEntityId,
  getRackByName,
  getRackByPublicKey,
  type ListRacksQuery,
  listRacks,
  listStalePending,
  loadAllRacks,
  loadPresence,
} from "./rack-queries.js";
export {
  type InitialRackStatus,
  isLegalTransition,
  isRackStatus,
  RACK_STATUSES,
  type RackStatus,
} from "./rack-status.js";
export {
  type DeletedRack,
  type DeleteRackOptions,
  deleteRack,
  type SetStatusOptions,
  setRackStatus,
} from "./rack-status-writes.js";
export {
  type InsertRackInput,
  insertRack,
  nextPassportSerial,
  type PassportIssuedInput,
  type RecordHelloInput,
  recordHello,
  recordPassportIssued,
  requireRack,
} from "./rack-writes.js";
export {
  FULL_MACHINE_ID_RANGE,
  type MachineIdRange,
  type NodeRecord,
  type NodeTypeId,
  type PresenceSeed,
  type PresenceUpdate,
  type RackAttributes,
  type RackLifecycle,
  type RackPage,
  type RackRecord,
} from "./registry-records.js";
export {
  type OpenRegistryStoreOptions,
  RegistryStore,
  type RegistryStoreOptions,
  type WithOptionalNow,
} from "./registry-store.js";
export {
  RegistryWriter,
  type RegistryWriterOptions,
  type RegistryWriterStats,
  WriterReentryError,
} from "./registry-writer.js";
export {
  type ActivateScenarioOptions,
  activateScenario,
  getActiveScenario,
  getScenario,
  listScenarios,
  type SaveScenarioInput,
  type ScenarioRecord,
  saveScenario,
} from "./scenario-store.js";
export { rackRows, writeStage } from "./stage-writes.js";
export {
  planAttributes,
  planDeleteRack,
  planInsertRack,
  planNameConflict,
  planPassportIssued,
  planSetStatus,
  stagedRack,
} from "./write-plans.js";
export { type ConflictWrite, type StageBase, type TombstoneRow, WriteStage } from "./write-stage.js";
