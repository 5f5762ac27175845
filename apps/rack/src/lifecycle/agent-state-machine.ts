// The Rack's one lifecycle state machine, pure: states, events, the transition table and the effects of a move.
import type { HeartbeatStatus } from "@fluxrig/wire";

/** Where the Rack is in its life. Only `active` runs gears and telemetry. */
export type LifecycleState =
  | "booting"
  | "enrolling"
  | "pending"
  | "active"
  | "rejected"
  | "revoked"
  /** Another key holds this Rack's name (e.g. the machine was replaced): passive, like rejected. */
  | "refused"
  | "stopping";

/** What can happen to it; each event carries the reason that is logged with the transition. */
export type LifecycleEventType =
  /** A verified state.flux was found at boot (session recovery). */
  | "passport_restored"
  /** Boot found no usable passport. */
  | "no_passport"
  /** The Mixer says: enrolled, awaiting adoption. */
  | "enrollment_pending"
  /** A verified active passport was received (issued, renewed, or confirmed). */
  | "passport_accepted"
  /** An operator refused this Rack. */
  | "rejected"
  /** The passport was withdrawn. */
  | "revoked"
  /** The Mixer refused the hello because another key holds this name. */
  | "name_taken"
  /** The passport stopped being usable without a revocation (expired, refused by the Mixer, row removed). */
  | "passport_lost"
  /** SIGTERM / SIGINT. */
  | "stop";

export interface LifecycleEvent {
  type: LifecycleEventType;
  reason: string;
}

/** The outcome of offering an event to a state. */
export type Transition =
  | {
      ok: true;
      from: LifecycleState;
      to: LifecycleState;
      changed: boolean;
      reason: string;
      effects: Effect[];
    }
  | { ok: false; from: LifecycleState; event: LifecycleEventType; why: string };

/** What the agent must do because of a move; run in this order. */
export type Effect = "stop_gears" | "stop_telemetry" | "start_telemetry" | "start_gears";

const ANY_LIVE: readonly LifecycleState[] = [
  "enrolling",
  "pending",
  "active",
  "rejected",
  "revoked",
  "refused",
];

/** For each event, the states it may arrive in and the state it leads to. */
const TABLE: Record<LifecycleEventType, { from: readonly LifecycleState[]; to: LifecycleState }> = {
  passport_restored: { from: ["booting"], to: "active" },
  no_passport: { from: ["booting"], to: "enrolling" },
  // The Mixer is the authority on adoption: whatever it last said, the Rack follows.
  enrollment_pending: { from: ANY_LIVE, to: "pending" },
  passport_accepted: { from: ANY_LIVE, to: "active" },
  rejected: { from: ANY_LIVE, to: "rejected" },
  revoked: { from: ANY_LIVE, to: "revoked" },
  name_taken: { from: ANY_LIVE, to: "refused" },
  passport_lost: { from: ["active"], to: "enrolling" },
  stop: { from: ["booting", ...ANY_LIVE], to: "stopping" },
};

/**
 * Offers `event` to `state`: the next state and the effects to run, or a refusal saying why it does not apply.
 * A self-transition (e.g. a renewal while active) is `ok` with `changed: false` and no effects.
 *
 * @example
 * transition("pending", { type: "passport_accepted", reason: "passport pushed" })
 * // { ok: true, from: "pending", to: "active", changed: true, effects: ["start_telemetry", "start_gears"], ... }
 */
export function transition(state: LifecycleState, event: LifecycleEvent): Transition {
  const rule = TABLE[event.type];
  if (!rule.from.includes(state)) {
    return {
      ok: false,
      from: state,
      event: event.type,
      why: `"${event.type}" does not apply in state ${state}`,
    };
  }
  const to = rule.to;
  return {
    ok: true,
    from: state,
    to,
    changed: to !== state,
    reason: event.reason,
    effects: effectsOf(state, to),
  };
}

/** Starting and stopping the workloads is all that entering or leaving `active` means. */
export function effectsOf(from: LifecycleState, to: LifecycleState): Effect[] {
  if (from === to) return [];
  if (to === "active") return ["start_telemetry", "start_gears"];
  // Gears first: they produce the messages telemetry counts, so telemetry's last flush sees them all.
  if (from === "active") return ["stop_gears", "stop_telemetry"];
  return [];
}

/** Whether gears and telemetry run in this state. */
export function runsWorkloads(state: LifecycleState): boolean {
  return state === "active";
}

/**
 * Whether the Rack is passive here: refused by the registry (rejected, revoked, or its name held by another key). A
 * passive Rack runs no gears, no telemetry and no heartbeats, holds no bus credential, and only asks again with a
 * hello at the slow pace; it resumes fully if adopted later.
 */
export function isPassive(state: LifecycleState): boolean {
  return state === "rejected" || state === "revoked" || state === "refused";
}

/**
 * The status a heartbeat reports in this state, or null when the Rack does not heartbeat: before the Mixer has
 * answered (it cannot name itself by entity id) and while passive (its heartbeats must never keep a row alive).
 */
export function heartbeatStatusOf(state: LifecycleState): HeartbeatStatus | null {
  switch (state) {
    case "pending":
    case "active":
    case "stopping":
      return state;
    default:
      return null;
  }
}

/** Every state, for docs and exhaustive tests. */
export const LIFECYCLE_STATES: readonly LifecycleState[] = [
  "booting",
  "enrolling",
  "pending",
  "active",
  "rejected",
  "revoked",
  "refused",
  "stopping",
];

/** Every event type, for exhaustive tests. */
export const LIFECYCLE_EVENTS = Object.keys(TABLE) as LifecycleEventType[];
