// Connects the Mixer to NATS: a bounded retry at start, then unlimited reconnects while running.
import { natsServers } from "@fluxrig/config";
import {
  type Authenticator,
  AuthorizationError,
  connect,
  type NatsConnection,
  UserAuthenticationExpiredError,
} from "@nats-io/transport-node";
import type { Logger } from "pino";
import { MixerError, NatsUnreachableError } from "./errors.js";

export interface ConnectNatsOptions {
  url: string;
  name: string;
  /** Give up at start after this long (ms). */
  connectTimeoutMs: number;
  logger: Logger;
  signal?: AbortSignal;
  /** jwt bus mode: proves the Mixer's bus user at each (re)connect (a nonce authenticator reading its current JWT). */
  authenticator?: Authenticator;
  /** jwt bus mode: the inbox prefix this user may subscribe to (`INBOX_PREFIXES.mixer`). */
  inboxPrefix?: string;
}

/**
 * nats-server refused the Mixer's bus credential: it trusts another operator (configured from another data dir's
 * keys, or an old config) or its store holds an account JWT the Mixer did not sign. Retrying cannot help.
 */
export class NatsAuthRefusedError extends MixerError {
  override readonly name = "NatsAuthRefusedError";
  constructor(
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      "nats_auth_refused",
      `nats-server at ${url} refused the Mixer's bus credential (${reason}): its operator config does not match the keys in this Mixer's data dir; run fluxrig-mixer nats-config with this Mixer's config, load its output into nats-server's config and restart nats-server (or set [nats] auth = "none" for an open bus)`,
      options,
    );
  }
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
        servers: natsServers(opts.url),
        name: opts.name,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        reconnectJitter: 250,
        timeout: Math.max(500, Math.min(5000, opts.connectTimeoutMs)),
        // Large fleets reconnect at once after a bus restart; the Mixer must not be dropped as a slow consumer.
        pingInterval: 20_000,
        // No stack trace captured at every request: in cluster mode each KV operation is a request, and building an
        // Error per request took about 3 % of a Mixer's CPU while it enrolled (a CPU profile of bench/cluster.bench.ts).
        // The KV layer's own errors name the bucket, the key and the operation.
        noAsyncTraces: true,
        ...(opts.authenticator ? { authenticator: opts.authenticator } : {}),
        ...(opts.inboxPrefix ? { inboxPrefix: opts.inboxPrefix } : {}),
      });
      watchStatus(nc, opts.logger);
      return nc;
    } catch (err) {
      if (err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError) {
        throw new NatsAuthRefusedError(opts.url, err.message, { cause: err });
      }
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
