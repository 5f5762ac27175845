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
import type { RackStateWriter } from "./rack-state-writer.js";

/**
 * Pushes are hints: a Rack that misses one learns the same thing from its next hello reply, so a publish that fails
 * while the bus is down is logged and counted, never retried forever. In cluster mode every passport, credential and
 * scenario pushed is also written to the Rack's own state key (`RackStateWriter`), which the Rack reads when its link
 * comes back: the push stays the fast path, the key is what a Rack that missed it reads.
 */
export class RackNotifier {
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #counters: Counters;
  readonly #sign: ControlSigner;
  readonly #state: RackStateWriter | undefined;

  constructor(opts: {
    nc: NatsConnection;
    logger: Logger;
    counters: Counters;
    /** Signs every push: a Rack drops a push its pinned Cluster Key did not sign. */
    clusterKey: Pick<ClusterKey, "privateKey" | "kid">;
    /** Cluster mode: where each Rack's state is kept for it to read; absent in single mode. */
    state?: RackStateWriter | undefined;
  }) {
    this.#nc = opts.nc;
    this.#logger = opts.logger;
    this.#counters = opts.counters;
    this.#sign = controlSigner(opts.clusterKey);
    this.#state = opts.state;
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
    if (this.#state === undefined) return;
    if (opts.status !== "active") this.#state.record(opts.name, { clear: true });
    else if (opts.passport !== undefined || opts.busCredential)
      this.#state.record(opts.name, {
        ...(opts.passport ? { passport: opts.passport } : {}),
        ...(opts.busCredential ? { busCredential: opts.busCredential } : {}),
      });
  }

  scenario(name: string, push: ScenarioPush): void {
    this.#publish(rackScenarioSubject(name), push, "scenario");
    this.#state?.record(name, { scenario: push });
  }

  /**
   * Resolves once every Rack state queued so far is written (or failed), or after `timeoutMs`; at once in single mode.
   */
  async settled(timeoutMs?: number): Promise<void> {
    await this.#state?.settled(timeoutMs);
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
