// The gear runtime (loaded lazily on activation): runs a scenario's gears and carries their wires over NATS.

import {
  encodeMessage,
  type GearHealth,
  parseBoundedJson,
  type ScenarioPush,
  scenarioGearKey,
} from "@fluxrig/wire";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { WorkloadStats } from "../heartbeat/rack-stats.js";
import type { BackoffPolicy } from "../lifecycle/backoff.js";
import { UnknownGearTypeError } from "../rack-error.js";
import { BUILTIN_GEAR_TYPES } from "./builtin-gears.js";
import { type GearInfo, type GearSpec, GearSupervisor, gearErrorText } from "./gear-supervisor.js";
import type { GearMessage, GearType, GearTypeRegistry } from "./gear-types.js";

/** Hooks for telemetry: one call per message into or out of a gear. */
export interface GearMessageHooks {
  messageIn(gear: string): void;
  messageOut(gear: string): void;
}

/** Options of {@link GearRuntime}. */
export interface GearRuntimeOptions {
  nc: NatsConnection;
  logger: Logger;
  /** Gear types; the built-ins by default (tests add their own). */
  types?: GearTypeRegistry;
  restart?: BackoffPolicy;
  hooks?: GearMessageHooks;
}

const FLUSH_WAIT_MS = 2_000;
const DEFAULT_RESTART: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** A gear that is not running and never ran: no restarts, no messages. */
function idle(spec: GearSpec, state: GearInfo["state"]): GearInfo {
  return { name: spec.name, type: spec.type, state, restarts: 0, in: 0, out: 0 };
}

/** A gear's info as the heartbeat's per-gear list carries it. */
function toGearHealth(info: GearInfo): GearHealth {
  const health: GearHealth = {
    name: info.name,
    type: info.type,
    state: info.state,
    restarts: info.restarts,
    in: info.in,
    out: info.out,
  };
  if (info.lastError !== undefined && info.lastErrorAt !== undefined) {
    health.last_error = { message: info.lastError, at: info.lastErrorAt.toISOString() };
  }
  return health;
}

/** `gear.port` split in two. */
function splitEndpoint(endpoint: string): { gear: string; port: string } {
  const dot = endpoint.indexOf(".");
  return { gear: endpoint.slice(0, dot), port: endpoint.slice(dot + 1) };
}

/** A gear the runtime runs: its supervisor, the subscriptions feeding it, and what it was started from. */
interface RunningGear {
  supervisor: GearSupervisor;
  subscriptions: Subscription[];
  /** Its spec and every wire touching it, canonical: equal keys mean the gear would run exactly the same. */
  key: string;
}

type WireSpec = ScenarioPush["wires"][number];

/**
 * Runs the gears of the scenario deployed to this Rack. A gear publishes each message from an output port
 * to the subjects of the wires leaving that port and receives on the subjects of wires entering its ports,
 * so gears on different Racks connect through NATS. `apply` changes only what the new push changes: a gear
 * whose spec and wires are the same keeps running (state and counters), the others are stopped or started.
 *
 * @example
 * const runtime = new GearRuntime({ nc, logger }); await runtime.apply(push); ...; await runtime.stop();
 */
export class GearRuntime {
  readonly #opts: GearRuntimeOptions;
  #gears = new Map<string, RunningGear>();
  /** Gears of the scenario whose type this Rack does not know: never started, reported as failed. */
  #unknown = new Map<string, GearInfo>();
  /** The gears' names in the scenario's order: the order they are described and reported in. */
  #order: string[] = [];
  #scenario: ScenarioPush["scenario"] | undefined;
  // Restarts and message counts of replaced scenarios still count: heartbeats report the Rack's totals.
  #retired = { restarts: 0, in: 0, out: 0 };

  constructor(opts: GearRuntimeOptions) {
    this.#opts = opts;
  }

  /** The scenario running now, if any. */
  get scenario(): ScenarioPush["scenario"] | undefined {
    return this.#scenario;
  }

  /**
   * Makes the running gears those of `push`: gears it no longer holds, or holds with another spec or other wires,
   * are stopped; new and changed ones are started; unchanged ones keep running untouched (re-activating the same
   * scenario, or a new version that changes other gears, does not reset their counters).
   */
  async apply(push: ScenarioPush): Promise<void> {
    const types: GearTypeRegistry = this.#opts.types ?? BUILTIN_GEAR_TYPES;
    const { logger } = this.#opts;
    const wanted = new Map<string, { spec: GearSpec; key: string }>();
    for (const spec of push.gears) wanted.set(spec.name, { spec, key: scenarioGearKey(spec, push.wires) });

    const stopped: string[] = [];
    for (const [name, running] of this.#gears) {
      if (wanted.get(name)?.key === running.key) continue;
      await this.#stopGear(running);
      this.#gears.delete(name);
      stopped.push(name);
    }

    const started: GearSupervisor[] = [];
    const unknown = new Map<string, GearInfo>();
    for (const { spec, key } of wanted.values()) {
      if (this.#gears.has(spec.name)) continue;
      const type = Object.hasOwn(types, spec.type) ? types[spec.type] : undefined;
      if (type === undefined) {
        const err = new UnknownGearTypeError({ gear: spec.name, type: spec.type, known: Object.keys(types) });
        logger.error({ err }, "gear: not started");
        const held = this.#unknown.get(spec.name);
        unknown.set(
          spec.name,
          held?.type === spec.type
            ? held
            : { ...idle(spec, "failed"), lastError: gearErrorText(err), lastErrorAt: new Date() },
        );
        continue;
      }
      const gear = this.#createGear(spec, type, push.wires, key);
      this.#gears.set(spec.name, gear);
      started.push(gear.supervisor);
    }
    if (started.length > 0) {
      // Subscriptions first, then gears: a source's first message must find its local consumers listening.
      // Bounded: while NATS is reconnecting a flush would wait for the server, and the gears must start anyway.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#opts.nc.flush().catch(() => undefined),
        new Promise((resolve) => {
          timer = setTimeout(resolve, FLUSH_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
      for (const supervisor of started) supervisor.start();
    }
    this.#unknown = unknown;
    this.#order = push.gears.map((g) => g.name);
    this.#scenario = push.scenario;
    const startedNames = new Set(started.map((g) => g.info().name));
    logger.info(
      {
        scenario: push.scenario.name,
        version: push.scenario.version,
        gears: [...this.#gears.keys()],
        started: [...startedNames],
        stopped,
        kept: [...this.#gears.keys()].filter((name) => !startedNames.has(name)),
        wires: push.wires.length,
      },
      "gears: scenario applied",
    );
  }

  /** Stops every gear and subscription; the runtime can `apply` again afterwards. */
  async stop(): Promise<void> {
    for (const running of this.#gears.values()) await this.#stopGear(running);
    if (this.#gears.size > 0) this.#opts.logger.info({ scenario: this.#scenario?.name }, "gears: stopped");
    this.#gears.clear();
    this.#unknown.clear();
    this.#order = [];
    this.#scenario = undefined;
  }

  /** A supervisor for `spec`, not started yet, and the subscriptions of the wires entering its ports. */
  #createGear(spec: GearSpec, type: GearType<unknown>, wires: readonly WireSpec[], key: string): RunningGear {
    const { logger, nc } = this.#opts;
    const routes = new Map<string, string[]>();
    for (const wire of wires) {
      if (splitEndpoint(wire.from).gear !== spec.name) continue;
      routes.set(wire.from, [...(routes.get(wire.from) ?? []), wire.subject]);
    }
    const supervisor = new GearSupervisor({
      spec,
      type,
      logger: logger.child({ gear: spec.name }),
      restart: this.#opts.restart ?? DEFAULT_RESTART,
      emit: (port, message) =>
        this.#publish({ gear: spec.name, subjects: routes.get(`${spec.name}.${port}`) ?? [], message }),
    });
    const subscriptions: Subscription[] = [];
    for (const wire of wires) {
      const to = splitEndpoint(wire.to);
      if (to.gear !== spec.name) continue;
      const sub = nc.subscribe(wire.subject, {
        callback: (err, msg) => {
          if (err) return;
          const decoded = parseBoundedJson(msg.data, "message");
          if (
            !decoded.ok ||
            typeof decoded.value !== "object" ||
            decoded.value === null ||
            Array.isArray(decoded.value)
          ) {
            logger.warn(
              { wire: wire.name, subject: wire.subject },
              "gear: dropped a message that is not a JSON object",
            );
            return;
          }
          if (supervisor.deliver(to.port, decoded.value as GearMessage)) this.#opts.hooks?.messageIn(to.gear);
        },
      });
      subscriptions.push(sub);
    }
    return { supervisor, subscriptions, key };
  }

  /** Unsubscribes its wires and stops it; its counters go to the Rack's totals. */
  async #stopGear(running: RunningGear): Promise<void> {
    for (const sub of running.subscriptions) sub.unsubscribe();
    running.subscriptions = [];
    await running.supervisor.stop();
    const info = running.supervisor.info();
    this.#retired.restarts += info.restarts;
    this.#retired.in += info.in;
    this.#retired.out += info.out;
  }

  /** Per-gear state of every gear of the scenario, in its order (one of an unknown type as failed). */
  describe(): GearInfo[] {
    const infos: GearInfo[] = [];
    for (const name of this.#order) {
      const info = this.#gears.get(name)?.supervisor.info() ?? this.#unknown.get(name);
      if (info !== undefined) infos.push(info);
    }
    return infos;
  }

  /**
   * For heartbeats: gears running and failed now (for good or waiting for a restart), restarts and messages since the
   * runtime started, and each gear's own (`gearList`).
   */
  stats(): WorkloadStats {
    const infos = this.describe();
    return {
      gears: {
        running: infos.filter((g) => g.state === "running").length,
        failed: infos.filter((g) => g.state === "failed" || g.state === "restarting").length,
        restarts: this.#retired.restarts + infos.reduce((n, g) => n + g.restarts, 0),
      },
      messages: {
        in: this.#retired.in + infos.reduce((n, g) => n + g.in, 0),
        out: this.#retired.out + infos.reduce((n, g) => n + g.out, 0),
      },
      gearList: infos.map(toGearHealth),
    };
  }

  #publish(opts: { gear: string; subjects: readonly string[]; message: GearMessage }): number {
    if (opts.subjects.length === 0) return 0;
    const data = encodeMessage(opts.message);
    for (const subject of opts.subjects) {
      this.#opts.nc.publish(subject, data);
      this.#opts.hooks?.messageOut(opts.gear);
    }
    return opts.subjects.length;
  }
}
