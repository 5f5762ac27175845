// What the agent's parts share: its deps, its mutable identity, and the few operations they call on the agent.

import type { Ed25519KeyPair, PassportEnvelope, PassportPayload } from "@fluxrig/passport";
import type { BusCredential, RackAttributes, ScenarioPush } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { BusMode, Dial } from "../bus/bus-link.js";
import type { ControlGate } from "../bus/control-gate.js";
import type { RackConfig } from "../config.js";
import type { GearTypeRegistry } from "../gears/gear-types.js";
import type { ClusterPin } from "../identity/cluster-pin.js";
import type { StatePaths } from "../identity/state-paths.js";
import type { LifecycleEvent, LifecycleState } from "../lifecycle/agent-state-machine.js";
import type { Backoff, RackTiming, RandomSource } from "../lifecycle/backoff.js";
import type { NamedTimers } from "../lifecycle/named-timers.js";
import type { HelloPace } from "../lifecycle/reply-policy.js";
import type { Workloads } from "../workloads.js";

/** A wall clock, injectable for tests. */
export interface Clock {
  now(): Date;
}

/** What createRack needs: how to reach the bus, clock, logger, config and state paths. */
export interface RackDeps {
  config: RackConfig;
  paths: StatePaths;
  logger: Logger;
  /**
   * Opens bus connections (production: `connectWithRetry`). With it the Rack owns its connections: it connects as
   * itself with bus.jwt, with the bootstrap `creds`, or to an open bus, and swaps them as its credential changes.
   */
  dial?: Dial;
  /** The bootstrap `.creds` file's bytes (`[nats] creds`, checked by `loadCredsFile`); only with `dial`. */
  creds?: Uint8Array;
  /**
   * Without `dial`: one connection given by the caller (or its promise while the first connect is retried), used
   * as an open bus and never swapped.
   */
  nc?: NatsConnection | Promise<NatsConnection>;
  clock?: Clock;
  timing?: Partial<RackTiming>;
  attributes?: RackAttributes;
  gearTypes?: GearTypeRegistry;
  version?: string;
  random?: RandomSource;
}

/** A verified passport the Rack holds (and has stored as state.flux). */
export interface HeldPassport {
  envelope: PassportEnvelope;
  payload: PassportPayload;
}

/** Who the Rack is, as far as it knows now. */
export interface AgentIdentity {
  keys: Ed25519KeyPair | undefined;
  keyId: string | null;
  pin: ClusterPin | null;
  passport: HeldPassport | null;
  entityId: string | null;
  machineId: number | null;
}

/** The agent's timers. */
export type AgentTimer = "hello" | "renew" | "expiry" | "bus" | "bus-jwt";

/** What taking a credential did: nothing to do, a switch to a new connection (which said hello), or a regrant. */
export type CredentialTaken = "none" | "switched" | "regranted";

/** The agent as its parts (hello exchange, passport keeper, push handlers) see it. */
export interface AgentCore {
  readonly deps: RackDeps;
  readonly log: Logger;
  readonly timing: RackTiming;
  readonly name: string;
  readonly version: string;
  readonly timers: NamedTimers<AgentTimer>;
  readonly backoffs: Record<HelloPace | "renew", Backoff>;
  readonly workloads: Workloads;
  readonly id: AgentIdentity;
  readonly state: LifecycleState;
  /** True from the moment stop() is called. */
  readonly stopping: boolean;
  readonly nc: NatsConnection | undefined;
  /** How the Rack is on the bus now. */
  readonly busMode: BusMode;
  /** This Rack's own bus credential (the JWT in bus.jwt), if it holds one. */
  readonly busJwt: string | undefined;
  /** Checks the Cluster Key signature of hello replies and pushes; counts what it drops. */
  readonly gate: ControlGate;
  scenario: ScenarioPush | undefined;
  /** The version of the newest state read from this Rack's own state key (cluster mode); 0 before any. */
  rackStateVersion: number;
  /** Consecutive hello transport failures: the first of a run is a warning, the rest are quiet. */
  helloFailures: number;
  now(): Date;
  /** Runs a task after every task queued before it: state changes never interleave. */
  enqueue(what: string, task: () => Promise<void>): Promise<void>;
  /** Offers an event to the lifecycle; logs and runs the effects of a move. */
  move(event: LifecycleEvent): Promise<boolean>;
  startGears(): Promise<void>;
  /** Adopts the heartbeat interval the Mixer asked for. */
  setHeartbeatInterval(ms: number): void;
  scheduleHello(delayMs: number, why: string): void;
  /**
   * Takes a bus credential from a verified hello reply or push: stores it, moves from the bootstrap connection to
   * one as itself (then says hello there, unless `helloAfterSwitch` is false: the caller holds the full reply), or
   * reconnects when its grant changed (then says hello again).
   */
  takeCredential(
    credential: BusCredential,
    source: string,
    opts?: { helloAfterSwitch?: boolean },
  ): Promise<CredentialTaken>;
  /** Schedules the next hello after the delay of one backoff. */
  schedulePaced(pace: HelloPace, why: string): void;
}
