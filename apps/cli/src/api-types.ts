// The REST API's bodies as the CLI reads them (docs/api.md). The shapes are declared once in @fluxrig/wire, as the zod
// schemas the Mixer answers with; the CLI's names and its allowances for other Mixer versions are here.
import type { ClusterInfo as ClusterInfoBody, ApiErrorBody as ErrorBody, MemoryView } from "@fluxrig/wire";

export type {
  ActiveScenario,
  AuditEventPage,
  AuditEventView as AuditEvent,
  AuditVerifyResult,
  BulkAdoptResult,
  GearHealthView as GearHealth,
  NameConflictView as NameConflict,
  RackPage,
  RackRemoved,
  RackReplaced,
  RackStatus,
  RackView as Rack,
  ScenarioActivation,
  ScenarioHistory,
  ScenarioImportResult,
  ScenarioIssueView as ScenarioIssue,
  ScenarioPlan,
  ScenarioSummary,
} from "@fluxrig/wire";

/** `memory` is absent from Mixers older than this CLI. */
export type ClusterInfo = Omit<ClusterInfoBody, "memory"> & { memory?: MemoryView };
/** A newer Mixer may answer with a code this CLI does not know yet. */
export type ApiErrorBody = { error: Omit<ErrorBody["error"], "code"> & { code: string } };
