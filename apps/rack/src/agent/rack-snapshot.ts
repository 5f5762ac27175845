// A read-only view of the agent for logs, tests and debugging.
import { renewalDueAt } from "@fluxrig/passport";
import type { ScenarioPush } from "@fluxrig/wire";
import type { BusMode } from "../bus/bus-link.js";
import type { ControlKind } from "../bus/control-gate.js";
import type { GearInfo } from "../gears/gear-supervisor.js";
import type { HeartbeatLoop } from "../heartbeat/heartbeat-loop.js";
import { type LazySubsystem, loadedSubsystems } from "../lazy-subsystems.js";
import type { LifecycleState } from "../lifecycle/agent-state-machine.js";
import type { TelemetryState } from "../workloads.js";
import type { AgentCore } from "./agent-core.js";

/** What `rack.snapshot()` returns. */
export interface RackSnapshot {
  state: LifecycleState;
  entityId: string | null;
  machineId: number | null;
  keyId: string | null;
  clusterKeyId: string | null;
  passport: { serial: number; expiresAt: string; renewAt: string } | null;
  heartbeat: { intervalMs: number; session: string; sent: number } | null;
  telemetry: TelemetryState;
  gears: GearInfo[] | null;
  scenario: ScenarioPush["scenario"] | null;
  /** Which lazy subsystems this process has loaded: empty until the first activation. */
  loaded: LazySubsystem[];
  /** How the Rack is on the bus, and the control messages it dropped for a missing or wrong signature. */
  bus: { mode: BusMode; refusedControl: Record<ControlKind, number> };
}

/** Builds the snapshot of an agent and its heartbeat loop (absent until NATS is up). */
export function buildSnapshot(core: AgentCore, heartbeat: HeartbeatLoop | undefined): RackSnapshot {
  const { id } = core;
  const held = id.passport;
  return {
    state: core.state,
    entityId: id.entityId,
    machineId: id.machineId,
    keyId: id.keyId,
    clusterKeyId: id.pin?.keyId ?? null,
    passport: held
      ? {
          serial: held.payload.serial,
          expiresAt: held.payload.expires_at,
          renewAt: new Date(renewalDueAt(held.payload)).toISOString(),
        }
      : null,
    heartbeat: heartbeat
      ? { intervalMs: heartbeat.intervalMs, session: heartbeat.session, sent: heartbeat.sequence }
      : null,
    telemetry: core.workloads.telemetryState,
    gears: core.workloads.gears(),
    scenario: core.scenario?.scenario ?? null,
    loaded: loadedSubsystems(),
    bus: { mode: core.busMode, refusedControl: { ...core.gate.refused } },
  };
}
