// Watches the Mixer's own NATS link: tells its caller when the link is lost and when it is back.
import type { NatsConnection } from "@nats-io/transport-node";

/** Follows `nc.status()` until the connection closes; a reconnect after a disconnect calls `regained`. */
export function watchBus(nc: NatsConnection, on: { lost(): void; regained(): void }): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") on.lost();
      else if (status.type === "reconnect") on.regained();
    }
  })().catch(() => undefined);
}
