// The REST API's bodies as the CLI reads them (docs/api.md). The shapes are declared once in @fluxrig/wire, where the
// Mixer's response schemas are checked against them; the CLI's names and its allowances for older Mixers are here.
import type { ClusterInfo as ClusterInfoBody, MemoryView } from "@fluxrig/wire";

export type {
  ActiveScenario,
  ApiErrorBody,
  AuditEventPage,
  AuditEventView as AuditEvent,
  AuditVerifyResult,
  BulkAdoptResult,
  NameConflictView as NameConflict,
  RackPage,
  RackRemoved,
  RackReplaced,
  RackStatus,
  RackView as Rack,
  ScenarioImportResult,
  ScenarioIssueView as ScenarioIssue,
  ScenarioSummary,
} from "@fluxrig/wire";

/** `memory` is absent from Mixers older than this CLI. */
export type ClusterInfo = Omit<ClusterInfoBody, "memory"> & { memory?: MemoryView };
