// Connects the Mixer to NATS: a bounded retry at start, then unlimited reconnects while running.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { NatsUnreachableError } from "./errors.js";

export interface ConnectNatsOptions {
  url: string;
  name: string;
  /** Give up at start after this long (ms). */
  connectTimeoutMs: number;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * Connects, retrying with capped exponential backoff until `connectTimeoutMs` has passed. Once connected the client
 * reconnects forever: a bus outage must never stop the Mixer.
 */
export async function connectNats(opts: ConnectNatsOptions): Promise<NatsConnection> {
  const started = Date.now();
  let delay = 100;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    try {
      const nc = await connect({
        servers: opts.url,
        name: opts.name,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        reconnectJitter: 250,
        timeout: Math.max(500, Math.min(5000, opts.connectTimeoutMs)),
        // Large fleets reconnect at once after a bus restart; the Mixer must not be dropped as a slow consumer.
        pingInterval: 20_000,
      });
      watchStatus(nc, opts.logger);
      return nc;
    } catch (err) {
      lastError = err;
      const waited = Date.now() - started;
      const wait = nextConnectWait({ waitedMs: waited, backoffMs: delay, timeoutMs: opts.connectTimeoutMs });
      if (wait === undefined || opts.signal?.aborted) {
        throw new NatsUnreachableError(opts.url, waited, { cause: lastError });
      }
      opts.logger.warn(
        { url: opts.url, attempt, err: (err as Error).message },
        "NATS not reachable yet, retrying",
      );
      await new Promise((r) => setTimeout(r, wait));
      delay = Math.min(delay * 2, 2000);
    }
  }
}

/**
 * How long to wait before the next connect attempt, or undefined once the deadline has passed. The last wait is cut
 * short so that one attempt is made at the deadline itself: `connect_timeout = "3s"` used to give up after 1.6 s,
 * when the next full backoff step would have overshot it.
 *
 * @example
 * nextConnectWait({ waitedMs: 1_500, backoffMs: 1_600, timeoutMs: 3_000 }); // 1_500
 */
export function nextConnectWait(opts: {
  waitedMs: number;
  backoffMs: number;
  timeoutMs: number;
}): number | undefined {
  const remaining = opts.timeoutMs - opts.waitedMs;
  if (remaining <= 0) return undefined;
  return Math.min(opts.backoffMs, remaining);
}

function watchStatus(nc: NatsConnection, logger: Logger): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") logger.warn({ server: status.server }, "NATS disconnected");
      else if (status.type === "reconnect") logger.info({ server: status.server }, "NATS reconnected");
      else if (status.type === "error" || status.type === "slowConsumer")
        logger.warn({ status }, "NATS status");
    }
  })().catch(() => undefined);
}
