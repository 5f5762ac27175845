// The heartbeat subscription: every Rack's heartbeat off the bus, checked and applied to presence in arrival order.
import { decodeHeartbeatValue, parseHeartbeatSubject, SUBJECTS, WireDecodeError } from "@fluxrig/wire";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Clock, Counters } from "../runtime/counters.js";
import type { PresenceTracker } from "./presence-tracker.js";

export interface HeartbeatSubscription {
  readonly sub: Subscription;
  /**
   * Resolves once every heartbeat the server held for this connection has been applied: a PING/PONG round trip puts
   * them all in the subscription's queue, and the queue is then drained by the loop below.
   */
  caughtUp(): Promise<void>;
}

/** Subscribes to every heartbeat; the loop ends when the subscription is unsubscribed or the connection closes. */
export function subscribeHeartbeats(deps: {
  nc: NatsConnection;
  presence: PresenceTracker;
  counters: Counters;
  clock: Clock;
}): HeartbeatSubscription {
  const { nc, presence, counters, clock } = deps;
  const sub = nc.subscribe(SUBJECTS.heartbeatAll);
  void (async () => {
    for await (const msg of sub) {
      const name = parseHeartbeatSubject(msg.subject);
      // The heartbeat itself, not a result object around it: see decodeHeartbeatValue.
      const hb = decodeHeartbeatValue(msg.data);
      if (hb instanceof WireDecodeError) {
        counters.inc(`heartbeat.dropped.${hb.code}`);
        continue;
      }
      if (name === null || hb.name !== name) {
        counters.inc("heartbeat.dropped.subject_mismatch");
        continue;
      }
      let entityId: bigint;
      try {
        entityId = BigInt(hb.entity_id);
      } catch {
        counters.inc("heartbeat.dropped.schema");
        continue;
      }
      const verdict = presence.heartbeat(hb, entityId, clock().getTime());
      counters.inc(verdict.accepted ? "heartbeat.accepted" : `heartbeat.dropped.${verdict.reason}`);
    }
  })();
  return {
    sub,
    caughtUp: async () => {
      await nc.flush();
      while (sub.getPending() > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}
