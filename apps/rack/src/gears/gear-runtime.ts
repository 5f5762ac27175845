// The gear runtime (loaded lazily on activation): runs a scenario's gears and carries their wires over NATS.

import { encodeMessage, parseBoundedJson, type ScenarioPush } from "@fluxrig/wire";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { WorkloadStats } from "../heartbeat/rack-stats.js";
import type { BackoffPolicy } from "../lifecycle/backoff.js";
import { UnknownGearTypeError } from "../rack-error.js";
import { BUILTIN_GEAR_TYPES } from "./builtin-gears.js";
import { type GearInfo, GearSupervisor } from "./gear-supervisor.js";
import type { GearMessage, GearTypeRegistry } from "./gear-types.js";

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

/** `gear.port` split in two. */
function splitEndpoint(endpoint: string): { gear: string; port: string } {
  const dot = endpoint.indexOf(".");
  return { gear: endpoint.slice(0, dot), port: endpoint.slice(dot + 1) };
}

/**
 * Runs the gears of the scenario deployed to this Rack. A gear publishes each message from an output port
 * to the subjects of the wires leaving that port and receives on the subjects of wires entering its ports,
 * so gears on different Racks connect through NATS. `apply` replaces the running scenario cleanly.
 *
 * @example
 * const runtime = new GearRuntime({ nc, logger }); await runtime.apply(push); ...; await runtime.stop();
 */
export class GearRuntime {
  readonly #opts: GearRuntimeOptions;
  #gears = new Map<string, GearSupervisor>();
  #subscriptions: Subscription[] = [];
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

  /** Stops the running gears, then starts the pushed ones. */
  async apply(push: ScenarioPush): Promise<void> {
    await this.stop();
    const types: GearTypeRegistry = this.#opts.types ?? BUILTIN_GEAR_TYPES;
    const { logger, nc } = this.#opts;
    const routes = new Map<string, string[]>();
    for (const wire of push.wires) routes.set(wire.from, [...(routes.get(wire.from) ?? []), wire.subject]);

    for (const spec of push.gears) {
      const type = Object.hasOwn(types, spec.type) ? types[spec.type] : undefined;
      if (type === undefined) {
        logger.error(
          { err: new UnknownGearTypeError({ gear: spec.name, type: spec.type, known: Object.keys(types) }) },
          "gear: not started",
        );
        continue;
      }
      const supervisor = new GearSupervisor({
        spec,
        type,
        logger: logger.child({ gear: spec.name }),
        restart: this.#opts.restart ?? DEFAULT_RESTART,
        emit: (port, message) =>
          this.#publish({ gear: spec.name, subjects: routes.get(`${spec.name}.${port}`) ?? [], message }),
      });
      this.#gears.set(spec.name, supervisor);
    }
    for (const wire of push.wires) {
      const to = splitEndpoint(wire.to);
      const target = this.#gears.get(to.gear);
      if (target === undefined) continue;
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
          if (target.deliver(to.port, decoded.value as GearMessage)) this.#opts.hooks?.messageIn(to.gear);
        },
      });
      this.#subscriptions.push(sub);
    }
    // Subscriptions first, then gears: a source's first message must find its local consumers listening.
    // Bounded: while NATS is reconnecting a flush would wait for the server, and the gears must start anyway.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      nc.flush().catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, FLUSH_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    for (const supervisor of this.#gears.values()) supervisor.start();
    this.#scenario = push.scenario;
    logger.info(
      {
        scenario: push.scenario.name,
        version: push.scenario.version,
        gears: [...this.#gears.keys()],
        wires: push.wires.length,
      },
      "gears: scenario applied",
    );
  }

  /** Stops every gear and subscription; the runtime can `apply` again afterwards. */
  async stop(): Promise<void> {
    for (const sub of this.#subscriptions) sub.unsubscribe();
    this.#subscriptions = [];
    for (const supervisor of this.#gears.values()) {
      await supervisor.stop();
      const info = supervisor.info();
      this.#retired.restarts += info.restarts;
      this.#retired.in += info.in;
      this.#retired.out += info.out;
    }
    if (this.#gears.size > 0) this.#opts.logger.info({ scenario: this.#scenario?.name }, "gears: stopped");
    this.#gears.clear();
    this.#scenario = undefined;
  }

  /** Per-gear state, for logs and tests. */
  describe(): GearInfo[] {
    return [...this.#gears.values()].map((g) => g.info());
  }

  /** Totals for heartbeats: gears running and failed now, restarts and messages since the runtime started. */
  stats(): WorkloadStats {
    const infos = this.describe();
    return {
      gears: {
        running: infos.filter((g) => g.state === "running").length,
        failed: infos.filter((g) => g.state === "failed").length,
        restarts: this.#retired.restarts + infos.reduce((n, g) => n + g.restarts, 0),
      },
      messages: {
        in: this.#retired.in + infos.reduce((n, g) => n + g.in, 0),
        out: this.#retired.out + infos.reduce((n, g) => n + g.out, 0),
      },
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
