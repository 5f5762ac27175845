// Pushes to one Rack over NATS: passports issued, renewed or revoked, status changes, bus credentials, and its scenario.
// Each is signed by the Cluster Key over its exact bytes (SPEC §11), in both bus modes.

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
import { type ControlSigner, controlSigner } from "../bus-auth/control-signing.js";
import type { ClusterKey } from "../runtime/cluster-key.js";
import type { Counters } from "../runtime/counters.js";

/**
 * Pushes are hints: a Rack that misses one learns the same thing from its next hello reply, so a publish that fails
 * while the bus is down is logged and counted, never retried forever.
 */
export class RackNotifier {
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #counters: Counters;
  readonly #sign: ControlSigner;

  constructor(opts: {
    nc: NatsConnection;
    logger: Logger;
    counters: Counters;
    /** Signs every push: a Rack drops a push its pinned Cluster Key did not sign. */
    clusterKey: Pick<ClusterKey, "privateKey" | "kid">;
  }) {
    this.#nc = opts.nc;
    this.#logger = opts.logger;
    this.#counters = opts.counters;
    this.#sign = controlSigner(opts.clusterKey);
  }

  passport(opts: {
    name: string;
    kind: PassportPush["kind"];
    status: PassportPushStatus;
    passport?: PassportEnvelope;
    reason?: string;
    /** The Rack's new bus credential (jwt mode), when its grant changed or its passport was renewed. */
    busCredential?: BusCredential | null;
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
      const bytes = encodeMessage(message);
      this.#nc.publish(subject, bytes, { headers: this.#sign(bytes) });
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
