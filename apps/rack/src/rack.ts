// The agent: createRack(deps) boots from the state dir, attaches to NATS, and runs the one lifecycle state machine.

import { CONTROL_SIGNATURE_HEADER } from "@fluxrig/passport";
import {
  type BusCredential,
  rackPassportSubject,
  rackScenarioSubject,
  rackStateSubject,
  type ScenarioPush,
} from "@fluxrig/wire";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type {
  AgentCore,
  AgentIdentity,
  AgentTimer,
  Clock,
  CredentialTaken,
  RackDeps,
} from "./agent/agent-core.js";
import { runHello } from "./agent/hello-exchange.js";
import { armPassportTimers, holdPassport } from "./agent/passport-keeper.js";
import { onPassportPush, onScenarioPush } from "./agent/push-handlers.js";
import { buildSnapshot, type RackSnapshot } from "./agent/rack-snapshot.js";
import { onRackStateMessage, type RackStateSource, readRackState } from "./agent/rack-state.js";
import { decodeUserJwt, jwtWarnAt } from "./bus/bus-credential.js";
import { BusLink, type BusMode, type Dial } from "./bus/bus-link.js";
import { ControlGate, type ControlKind } from "./bus/control-gate.js";
import { telemetryHeaders } from "./config.js";
import { HeartbeatLoop } from "./heartbeat/heartbeat-loop.js";
import { StatsSampler } from "./heartbeat/rack-stats.js";
import { loadBootIdentity } from "./identity/boot-identity.js";
import { loadedSubsystems } from "./lazy-subsystems.js";
import {
  heartbeatStatusOf,
  isPassive,
  type LifecycleEvent,
  type LifecycleState,
  runsWorkloads,
  transition,
} from "./lifecycle/agent-state-machine.js";
import { Backoff, DEFAULT_TIMING, jitter, type RackTiming } from "./lifecycle/backoff.js";
import { NamedTimers } from "./lifecycle/named-timers.js";
import type { HelloPace } from "./lifecycle/reply-policy.js";
import { isAuthError } from "./nats-link.js";
import { readScenarioFile } from "./scenario-cache.js";
import { RACK_VERSION } from "./version.js";
import { Workloads } from "./workloads.js";

export type { Clock, RackDeps } from "./agent/agent-core.js";
export type { RackSnapshot } from "./agent/rack-snapshot.js";

/** The running agent. */
export interface Rack {
  /** Boots from the state dir, then talks to the Mixer whenever NATS is up; resolves once booted. */
  start(): Promise<void>;
  /**
   * Stops gears, flushes telemetry, sends a last `stopping` heartbeat, then drains the connection it opened (with
   * `deps.nc` the caller drains its own).
   */
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
  rackStateVersion = 0;
  helloFailures = 0;
  #state: LifecycleState = "booting";
  #nc: NatsConnection | undefined;
  #link: BusLink | undefined;
  readonly gate: ControlGate;
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
    this.gate = new ControlGate({ logger: this.log, now: () => this.now().getTime() });
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

  get busMode(): BusMode {
    return this.#link?.mode ?? "open";
  }

  get busJwt(): string | undefined {
    return this.#link?.jwt;
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
    const keys = this.id.keys;
    if (keys === undefined) throw new Error("no Rack key after boot");
    const given = this.deps.nc;
    const dial: Dial =
      this.deps.dial ?? (() => Promise.resolve(given as NatsConnection | Promise<NatsConnection>));
    if (this.deps.dial === undefined && given === undefined) throw new Error("createRack needs dial or nc");
    this.#link = new BusLink({
      name: this.name,
      privateKey: keys.privateKey,
      creds: this.deps.dial ? this.deps.creds : undefined,
      jwtPath: paths.busJwt,
      dial,
      logger: this.log,
      now: () => this.now(),
      onLost: (mode, error) => {
        // A connection handed over by the caller is the caller's to manage.
        if (this.deps.dial !== undefined)
          void this.enqueue("bus lost", () => this.#fallBack(mode, isAuthError(error)));
      },
      fallbackPolicy: this.timing.reconnect,
      ...(this.deps.random ? { random: this.deps.random } : {}),
    });
    const mode = this.deps.dial ? await this.#link.initialMode() : "open";
    if (this.#link.jwt !== undefined) this.#armJwtWarning(this.#link.jwt);
    this.#connect(mode);
  }

  /** Opens a connection in `mode` in the background and attaches to it once up. */
  #connect(mode: BusMode): void {
    const link = this.#link;
    if (link === undefined || this.stopping) return;
    link.open(mode).then(
      (nc) => this.enqueue("attach", () => this.#attach(nc)),
      (error: unknown) => {
        // Shutdown abandons a first connect still in progress: expected, not a failure.
        if (this.stopping) this.log.info("nats: never connected before shutdown");
        else if (mode === "self" && isAuthError(error)) {
          this.log.warn(
            { err: error, bootstrap: link.hasCreds },
            "bus: this Rack's credential was refused at connect (expired, revoked, or the server has other keys)",
          );
          void this.enqueue("bus refused", () => this.#fallBack("self", true));
        } else this.log.error({ err: error }, "nats: gave up connecting");
      },
    );
  }

  /** After a refused credential or a lost connection: connect again, with the bootstrap credential if there is one. */
  async #fallBack(lost: BusMode, refused: boolean): Promise<void> {
    const link = this.#link;
    if (link === undefined || this.stopping) return;
    this.#nc = undefined;
    // A JWT the server refused is of no use; with a way to get a new one, forget it so the next one is always taken.
    if (refused && lost === "self" && link.hasCreds) await link.dropCredential("refused by the server");
    const mode = link.fallbackMode(lost);
    const delayMs = link.fallbackDelayMs();
    this.log.info({ lost, next: mode, retry_in_ms: delayMs }, `bus: connecting again (${mode})`);
    this.timers.after("bus", delayMs, () => this.#connect(mode));
  }

  stop(reason = "stop requested"): Promise<void> {
    // Not queued: a task waiting on a dial (a server that is down) must not hold the stop back.
    if (this.deps.dial !== undefined) this.#link?.abortDials();
    this.#stopped ??= this.enqueue("stop", async () => {
      this.timers.clearAll();
      const heartbeating = this.#heartbeating();
      await this.move({ type: "stop", reason });
      this.#heartbeat?.stop();
      // The last word to the Mixer: "stopping", so it can tell a clean shutdown from a lost Rack (a passive Rack
      // says nothing: its heartbeats must never touch a row).
      if (heartbeating && this.#heartbeat?.beat("stopping"))
        this.log.info("heartbeat: sent the last heartbeat (stopping)");
      for (const sub of this.#subs) sub.unsubscribe();
      this.#subs = [];
      this.#sampler?.close();
      if (this.deps.dial !== undefined) await this.#link?.close();
    });
    return this.#stopped;
  }

  /** Whether heartbeats go out now: not while passive, not before enrolling, not on the bootstrap credential. */
  #heartbeating(): boolean {
    return this.busMode !== "bootstrap" && heartbeatStatusOf(this.#state) !== null;
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
    if (isPassive(t.to)) await this.#enterPassive(t.reason);
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
    // Adopted now: what it must run may already be in its state key (cluster mode).
    if (t.to === "active") this.#readState("read at activation");
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
    if (this.busMode === "bootstrap") {
      this.log.info("gears: waiting for this Rack's own bus credential before starting");
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

  async takeCredential(
    credential: BusCredential,
    source: string,
    opts: { helloAfterSwitch?: boolean } = {},
  ): Promise<CredentialTaken> {
    const link = this.#link;
    if (link === undefined || this.stopping) return "none";
    let outcome: Awaited<ReturnType<BusLink["offer"]>>;
    try {
      outcome = await link.offer(credential.jwt);
    } catch (error) {
      this.log.error(
        { err: error, source },
        "bus: credential not taken (unreadable JWT, or bus.jwt not writable)",
      );
      return "none";
    }
    if (outcome === "same") return "none";
    this.#armJwtWarning(credential.jwt);
    if (this.deps.dial === undefined) return "none";
    if (link.mode !== "self") {
      this.log.info({ source, from: link.mode }, "bus: own credential received; connecting as this Rack");
      let nc: NatsConnection;
      try {
        nc = await link.open("self");
      } catch (error) {
        if (this.stopping) return "none";
        this.log.warn({ err: error }, "bus: could not connect as this Rack; falling back");
        await this.#fallBack("self", isAuthError(error));
        return "none";
      }
      await this.#attach(nc, opts.helloAfterSwitch === false ? "none" : "hello");
      return "switched";
    }
    if (outcome !== "regrant") return "none";
    this.log.info({ source }, "bus: the credential's grant changed; reconnecting to use it");
    if (!(await link.reconnect())) this.log.warn("bus: not reconnected yet; the client keeps trying");
    const nc = link.nc;
    if (nc !== undefined) this.#subscribe(nc);
    // A push sent while the connection was down is lost: the Mixer sends the scenario again after this hello.
    this.scheduleHello(0, "new bus grant");
    return "regranted";
  }

  /** Warns at 90 % of the credential's life when no renewal has replaced it by then. */
  #armJwtWarning(jwt: string): void {
    let at: number | undefined;
    let expiresAt: number | undefined;
    try {
      at = jwtWarnAt(jwt);
      expiresAt = decodeUserJwt(jwt).expiresAt;
    } catch {
      return;
    }
    if (at === undefined || expiresAt === undefined) return;
    const expires = new Date(expiresAt * 1000).toISOString();
    this.timers.at("bus-jwt", at, () => {
      if (this.#link?.jwt !== jwt) return;
      this.log.warn(
        { expires_at: expires },
        "bus: this Rack's credential is at 90% of its life with no renewal yet (is the Mixer reachable?)",
      );
    });
  }

  /** Refused by the registry: no credential kept; on the bootstrap connection (if any) to keep asking, slowly. */
  async #enterPassive(reason: string): Promise<void> {
    const link = this.#link;
    this.timers.clear("bus-jwt");
    if (link === undefined) return;
    await link.dropCredential(reason);
    if (this.deps.dial === undefined || link.mode !== "self" || !link.hasCreds) return;
    try {
      const nc = await link.open("bootstrap");
      await this.#attach(nc, "paced");
    } catch (error) {
      if (!this.stopping) this.log.error({ err: error }, "bus: cannot reach the bootstrap connection");
    }
  }

  async #startTelemetry(): Promise<void> {
    const held = this.id.passport;
    if (held === null) return;
    const { entity_id: entityId, machine_id: machineId } = held.payload;
    await this.workloads.startTelemetry({ entityId, name: this.name, machineId, version: this.version });
  }

  /** Subscribes to this Rack's pushes on `nc`, where its grant allows (none on the bootstrap credential). */
  #subscribe(nc: NatsConnection): void {
    for (const sub of this.#subs) sub.unsubscribe();
    this.#subs = [];
    const link = this.#link;
    const on = (kind: ControlKind, handler: (core: AgentCore, data: Uint8Array) => Promise<void>) => ({
      callback: (err: Error | null, msg: Msg) => {
        if (err) return;
        void this.enqueue(kind, async () => {
          const signature = msg.headers?.get(CONTROL_SIGNATURE_HEADER);
          const pin = this.id.pin?.publicKey;
          if (!this.gate.accept(kind, pin, msg.data, signature)) {
            // With no Cluster Key pinned yet (a rebuilt machine whose name was just handed to it) a push cannot be
            // checked, but it can still be a hint: the hello it prompts is answered with a reply the Rack can check.
            if (pin === undefined && kind === "passport push")
              this.scheduleHello(jitter(250, 0.5), "unchecked push");
            return;
          }
          await handler(this, msg.data);
        });
      },
    });
    for (const [subject, kind, handler] of [
      [rackPassportSubject(this.name), "passport push", onPassportPush],
      [rackScenarioSubject(this.name), "scenario push", onScenarioPush],
    ] as const) {
      if (link === undefined || link.maySubscribe(subject))
        this.#subs.push(nc.subscribe(subject, on(kind, handler)));
    }
    // Cluster mode: the watch of its own state key. Its signature travels in the value, checked by the handler.
    if (this.#watchesState()) {
      this.#subs.push(
        nc.subscribe(rackStateSubject(this.name), {
          callback: (err, msg) => {
            if (!err) void this.enqueue("rack state", () => onRackStateMessage(this, msg));
          },
        }),
      );
    }
  }

  /**
   * Whether this Rack reads and watches its own state key: when its grant allows it (the Mixer grants it in cluster
   * mode only), or on an open bus, where a read that no stream answers (single mode) costs one request.
   */
  #watchesState(): boolean {
    const link = this.#link;
    return link === undefined || link.maySubscribe(rackStateSubject(this.name));
  }

  /** Reads its own state key (queued like every state change) while adopted and on the bus as itself. */
  #readState(source: RackStateSource): void {
    const nc = this.#nc;
    if (nc === undefined || this.#state !== "active" || !this.#watchesState()) return;
    void this.enqueue("rack state", async () => {
      if (this.#nc !== nc || this.#state !== "active") return;
      await readRackState(this, nc, source);
    });
  }

  /**
   * Takes `nc` as the Rack's connection. Then `hello`: says hello at once (a passive Rack waits its pace); `paced`:
   * waits its pace; `none`: nothing (the caller holds the full reply of a sealed bootstrap hello and applies it).
   */
  async #attach(nc: NatsConnection, then: "hello" | "paced" | "none" = "hello"): Promise<void> {
    if (this.stopping) return;
    const previous = this.#nc;
    this.#nc = nc;
    this.log.info({ server: nc.getServer(), bus: this.busMode }, "nats: connected");
    this.#subscribe(nc);
    // Gears are bound to the connection they started on: move them to the new one.
    if (previous !== undefined && previous !== nc && this.workloads.gearsRunning)
      await this.workloads.stopGears();
    void this.#watchConnection(nc);
    if (this.#state === "active" && !this.workloads.gearsRunning) await this.startGears();
    this.#readState("read at connect");
    if (this.#heartbeat === undefined) this.#startHeartbeats();
    if (then === "none") return;
    if (then === "hello" && !isPassive(this.#state)) await runHello(this, "connected");
    else this.schedulePaced("rejected", "connected while passive");
  }

  #startHeartbeats(): void {
    this.#sampler = new StatsSampler();
    this.#heartbeat = new HeartbeatLoop({
      name: this.name,
      version: this.version,
      intervalMs: this.#heartbeatIntervalMs,
      sampler: this.#sampler,
      source: {
        // None on the bootstrap credential (not allowed) or between connections (a fallback is under way).
        status: () =>
          this.busMode === "bootstrap" || this.#nc === undefined ? null : heartbeatStatusOf(this.#state),
        entityId: () => this.id.entityId,
        workload: () => this.workloads.stats(),
        scenario: () => this.workloads.scenario(),
      },
      publish: (subject, data) => {
        if (this.#nc === undefined) throw new Error("not connected");
        this.#nc.publish(subject, data);
      },
      now: () => this.now(),
      ...(this.deps.random ? { random: this.deps.random } : {}),
      onSent: () => this.workloads.heartbeatSent(),
      onError: (error) => this.log.warn({ err: error }, "heartbeat: not sent"),
    });
    this.#heartbeat.start();
  }

  async #watchConnection(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.#nc !== nc) return;
      if (status.type === "disconnect")
        this.log.warn({ server: status.server }, "nats: disconnected, reconnecting");
      if (status.type !== "reconnect") continue;
      this.log.info({ server: status.server }, "nats: reconnected");
      // A push sent while the link was down is lost; what it said is in this Rack's state key (cluster mode).
      this.#readState("read after reconnect");
      // Not yet adopted: ask at once rather than wait out a long backoff that began while NATS was down.
      if (this.#state === "enrolling" || this.#state === "pending")
        this.scheduleHello(jitter(1_000, 0.5), "reconnected");
    }
  }
}
