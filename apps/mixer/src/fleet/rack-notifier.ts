// Pushes to one Rack over NATS: passports issued, renewed or revoked, status changes, and its scenario.

import type { PassportEnvelope } from "@fluxrig/passport";
import {
  type BusCredential,
  encodeMessage,
  type PassportPush,
  type PassportPushStatus,
  rackPassportSubject,
  rackScenarioSubject,
  type ScenarioPush,
} from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Counters } from "../runtime/counters.js";

/**
 * Pushes are hints: a Rack that misses one learns the same thing from its next hello reply, so a publish that fails
 * while the bus is down is logged and counted, never retried forever.
 */
export class RackNotifier {
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #counters: Counters;

  constructor(opts: { nc: NatsConnection; logger: Logger; counters: Counters }) {
    this.#nc = opts.nc;
    this.#logger = opts.logger;
    this.#counters = opts.counters;
  }

  passport(opts: {
    name: string;
    kind: PassportPush["kind"];
    status: PassportPushStatus;
    passport?: PassportEnvelope;
    reason?: string;
    /** The Rack's new bus credential (jwt mode), when its grant changed or its passport was renewed. */
    busCredential?: BusCredential;
    now: Date;
  }): void {
    const push: PassportPush = {
      v: 1,
      kind: opts.kind,
      status: opts.status,
      ts: opts.now.toISOString(),
      ...(opts.passport ? { passport: opts.passport } : {}),
      ...(opts.reason ? { reason: opts.reason.slice(0, 500) } : {}),
      ...(opts.busCredential ? { bus_credential: opts.busCredential } : {}),
    };
    this.#publish(rackPassportSubject(opts.name), push, "passport");
  }

  scenario(name: string, push: ScenarioPush): void {
    this.#publish(rackScenarioSubject(name), push, "scenario");
  }

  #publish(subject: string, message: object, kind: string): void {
    try {
      this.#nc.publish(subject, encodeMessage(message));
      this.#counters.inc(`push.${kind}.sent`);
    } catch (err) {
      this.#counters.inc(`push.${kind}.failed`);
      this.#logger.warn(
        { subject, err: (err as Error).message },
        "push failed; the Rack will learn it from its next hello",
      );
    }
  }
}
