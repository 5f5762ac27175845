// The agent: createRack(deps) boots from the state dir, attaches to NATS, and runs the one lifecycle state machine.

import { rackPassportSubject, rackScenarioSubject, type ScenarioPush } from "@fluxrig/wire";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { AgentCore, AgentIdentity, AgentTimer, Clock, RackDeps } from "./agent/agent-core.js";
import { runHello } from "./agent/hello-exchange.js";
import { armPassportTimers, holdPassport } from "./agent/passport-keeper.js";
import { onPassportPush, onScenarioPush } from "./agent/push-handlers.js";
import { buildSnapshot, type RackSnapshot } from "./agent/rack-snapshot.js";
import { telemetryHeaders } from "./config.js";
import { HeartbeatLoop } from "./heartbeat/heartbeat-loop.js";
import { StatsSampler } from "./heartbeat/rack-stats.js";
import { loadBootIdentity } from "./identity/boot-identity.js";
import { loadedSubsystems } from "./lazy-subsystems.js";
import {
  heartbeatStatusOf,
  type LifecycleEvent,
  type LifecycleState,
  runsWorkloads,
  transition,
} from "./lifecycle/agent-state-machine.js";
import { Backoff, DEFAULT_TIMING, jitter, type RackTiming } from "./lifecycle/backoff.js";
import { NamedTimers } from "./lifecycle/named-timers.js";
import type { HelloPace } from "./lifecycle/reply-policy.js";
import { readScenarioFile } from "./scenario-cache.js";
import { RACK_VERSION } from "./version.js";
import { Workloads } from "./workloads.js";

export type { Clock, RackDeps } from "./agent/agent-core.js";
export type { RackSnapshot } from "./agent/rack-snapshot.js";

/** The running agent. */
export interface Rack {
  /** Boots from the state dir, then talks to the Mixer whenever NATS is up; resolves once booted. */
  start(): Promise<void>;
  /** Stops gears, flushes telemetry, sends a last `stopping` heartbeat; the caller then drains NATS. */
  stop(reason?: string): Promise<void>;
  readonly state: LifecycleState;
  snapshot(): RackSnapshot;
}

/**
 * Creates the agent; nothing happens until `start()`.
 * @example const rack = createRack({ config, paths: statePaths(dir), logger, nc }); await rack.start();
 */
export function createRack(deps: RackDeps): Rack {
  return new RackAgent(deps);
}

class RackAgent implements Rack, AgentCore {
  readonly deps: RackDeps;
  readonly log: Logger;
  readonly timing: RackTiming;
  readonly name: string;
  readonly version: string;
  readonly timers: NamedTimers<AgentTimer>;
  readonly backoffs: Record<HelloPace | "renew", Backoff>;
  readonly workloads: Workloads;
  readonly id: AgentIdentity = {
    keys: undefined,
    keyId: null,
    pin: null,
    passport: null,
    entityId: null,
    machineId: null,
  };
  scenario: ScenarioPush | undefined;
  helloFailures = 0;
  #state: LifecycleState = "booting";
  #nc: NatsConnection | undefined;
  readonly #clock: Clock;
  #subs: Subscription[] = [];
  #sampler: StatsSampler | undefined;
  #heartbeat: HeartbeatLoop | undefined;
  #heartbeatIntervalMs: number;
  #queue: Promise<void> = Promise.resolve();
  #stopped: Promise<void> | undefined;

  constructor(deps: RackDeps) {
    this.deps = deps;
    this.log = deps.logger;
    this.timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.#clock = deps.clock ?? { now: () => new Date() };
    this.name = deps.config.rack.name;
    this.version = deps.version ?? RACK_VERSION;
    this.timers = new NamedTimers(() => this.now().getTime());
    const random = deps.random ?? Math.random;
    const t = this.timing;
    this.backoffs = {
      enroll: new Backoff(t.enroll, random),
      pending: new Backoff(t.pending, random),
      rejected: new Backoff(t.rejected, random),
      refused: new Backoff(t.refused, random),
      renew: new Backoff(t.renew, random),
    };
    this.#heartbeatIntervalMs = deps.config.heartbeat.interval;
    const telemetry = deps.config.telemetry;
    this.workloads = new Workloads({
      logger: this.log,
      telemetry: {
        endpoint: telemetry.otlp_endpoint,
        headers: telemetryHeaders(telemetry),
        exportIntervalMs: telemetry.export_interval,
      },
      ...(deps.gearTypes ? { gearTypes: deps.gearTypes } : {}),
    });
  }

  get state(): LifecycleState {
    return this.#state;
  }

  get stopping(): boolean {
    return this.#stopped !== undefined;
  }

  get nc(): NatsConnection | undefined {
    return this.#nc;
  }

  now(): Date {
    return this.#clock.now();
  }

  async start(): Promise<void> {
    const { paths, config } = this.deps;
    this.log.info({ name: this.name, version: this.version, state_dir: paths.dir }, "rack: booting");
    const boot = await loadBootIdentity({
      paths,
      name: this.name,
      configClusterKey: config.cluster.public_key,
      logger: this.log,
      now: this.now(),
      skewMs: this.timing.skewMs,
    });
    Object.assign(this.id, { keys: boot.keys, keyId: boot.keyId, pin: boot.pin });
    await this.enqueue("boot", async () => {
      const stored = boot.stored;
      if (stored.kind !== "valid") {
        const why =
          stored.kind === "none"
            ? "no state.flux (first start)"
            : `state.flux refused (${stored.refusal.verdict})`;
        await this.move({ type: "no_passport", reason: `${why}: enrolling` });
        return;
      }
      holdPassport(this, { envelope: stored.envelope, payload: stored.payload });
      // The last scenario applied lets gears run again before the Mixer answers (or if it never does).
      this.scenario = await readScenarioFile(paths.scenario);
      const p = stored.payload;
      const reason = `state.flux verified (entity ${p.entity_id}, serial ${p.serial}, valid until ${p.expires_at}): recovering the session`;
      await this.move({ type: "passport_restored", reason });
      armPassportTimers(this);
    });
    Promise.resolve(this.deps.nc).then(
      (nc) => this.enqueue("attach", () => this.#attach(nc)),
      (error: unknown) => {
        // Shutdown abandons a first connect still in progress: expected, not a failure.
        if (this.stopping) this.log.info("nats: never connected before shutdown");
        else this.log.error({ err: error }, "nats: gave up connecting");
      },
    );
  }

  stop(reason = "stop requested"): Promise<void> {
    this.#stopped ??= this.enqueue("stop", async () => {
      this.timers.clearAll();
      await this.move({ type: "stop", reason });
      this.#heartbeat?.stop();
      // The last word to the Mixer: "stopping", so it can tell a clean shutdown from a lost Rack.
      if (this.#heartbeat?.beat("stopping")) this.log.info("heartbeat: sent the last heartbeat (stopping)");
      for (const sub of this.#subs) sub.unsubscribe();
      this.#subs = [];
      this.#sampler?.close();
    });
    return this.#stopped;
  }

  snapshot(): RackSnapshot {
    return buildSnapshot(this, this.#heartbeat);
  }

  enqueue(what: string, task: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(task).catch((error: unknown) => {
      this.log.error({ err: error, task: what }, "rack: internal error (the agent keeps running)");
    });
    this.#queue = run;
    return run;
  }

  async move(event: LifecycleEvent): Promise<boolean> {
    const t = transition(this.#state, event);
    if (!t.ok) {
      this.log.debug({ event: event.type, state: this.#state, why: t.why }, "lifecycle: event ignored");
      return false;
    }
    if (!t.changed) return true;
    this.#state = t.to;
    const level = t.to === "rejected" || t.to === "revoked" ? "warn" : "info";
    this.log[level](
      { event: event.type, from: t.from, to: t.to, reason: t.reason },
      `lifecycle: ${t.from} -> ${t.to}`,
    );
    for (const backoff of Object.values(this.backoffs)) backoff.reset();
    for (const effect of t.effects) {
      try {
        if (effect === "start_telemetry") await this.#startTelemetry();
        else if (effect === "start_gears") await this.startGears();
        else if (effect === "stop_gears") await this.workloads.stopGears();
        else await this.workloads.stopTelemetry();
      } catch (error) {
        this.log.error({ err: error, effect }, "lifecycle: effect failed");
      }
    }
    // The Mixer learns of the new status at once rather than at the next tick (stop() sends its own last beat).
    if (t.to !== "stopping") this.#heartbeat?.beat();
    if (!runsWorkloads(t.to) && t.to !== "stopping") {
      // loaded_subsystems shows, in the log itself, that neither OpenTelemetry nor the gear runtime was imported.
      this.log.info(
        { state: t.to, loaded_subsystems: loadedSubsystems() },
        "telemetry: not started (heartbeat-only until adopted)",
      );
    }
    return true;
  }

  async startGears(): Promise<void> {
    if (this.#nc === undefined) {
      this.log.info("gears: waiting for NATS before starting");
      return;
    }
    await this.workloads.startGears(this.#nc, this.scenario);
  }

  setHeartbeatInterval(ms: number): void {
    if (ms !== this.#heartbeatIntervalMs)
      this.log.info(
        { interval_ms: ms, was_ms: this.#heartbeatIntervalMs },
        "heartbeat: interval set by the Mixer",
      );
    this.#heartbeatIntervalMs = ms;
    this.#heartbeat?.setInterval(ms);
  }

  scheduleHello(delayMs: number, why: string): void {
    if (this.stopping) return;
    this.timers.after("hello", delayMs, () => void this.enqueue("hello", () => runHello(this, why)));
  }

  schedulePaced(pace: HelloPace, why: string): void {
    this.scheduleHello(this.backoffs[pace].next(), why);
  }

  async #startTelemetry(): Promise<void> {
    const held = this.id.passport;
    if (held === null) return;
    const { entity_id: entityId, machine_id: machineId } = held.payload;
    await this.workloads.startTelemetry({ entityId, name: this.name, machineId, version: this.version });
  }

  async #attach(nc: NatsConnection): Promise<void> {
    if (this.stopping) return;
    this.#nc = nc;
    this.log.info({ server: nc.getServer() }, "nats: connected");
    const on = (what: string, handler: (core: AgentCore, data: Uint8Array) => Promise<void>) => ({
      callback: (err: Error | null, msg: { data: Uint8Array }) => {
        if (!err) void this.enqueue(what, () => handler(this, msg.data));
      },
    });
    this.#subs.push(
      nc.subscribe(rackPassportSubject(this.name), on("passport push", onPassportPush)),
      nc.subscribe(rackScenarioSubject(this.name), on("scenario push", onScenarioPush)),
    );
    this.#sampler = new StatsSampler();
    this.#heartbeat = new HeartbeatLoop({
      name: this.name,
      version: this.version,
      intervalMs: this.#heartbeatIntervalMs,
      sampler: this.#sampler,
      source: {
        status: () => heartbeatStatusOf(this.#state),
        entityId: () => this.id.entityId,
        workload: () => this.workloads.stats(),
        scenario: () => this.workloads.scenario(),
      },
      publish: (subject, data) => nc.publish(subject, data),
      now: () => this.now(),
      ...(this.deps.random ? { random: this.deps.random } : {}),
      onSent: () => this.workloads.heartbeatSent(),
      onError: (error) => this.log.warn({ err: error }, "heartbeat: not sent"),
    });
    this.#heartbeat.start();
    void this.#watchConnection(nc);
    if (this.#state === "active" && !this.workloads.gearsRunning) await this.startGears();
    await runHello(this, "connected");
  }

  async #watchConnection(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === "disconnect")
        this.log.warn({ server: status.server }, "nats: disconnected, reconnecting");
      if (status.type !== "reconnect") continue;
      this.log.info({ server: status.server }, "nats: reconnected");
      // Not yet adopted: ask at once rather than wait out a long backoff that began while NATS was down.
      if (this.#state === "enrolling" || this.#state === "pending")
        this.scheduleHello(jitter(1_000, 0.5), "reconnected");
    }
  }
}
