// Connecting to NATS: the first connect retried with jittered backoff (logged), then the client's own reconnects.
import { natsServers } from "@fluxrig/config";
import {
  type Authenticator,
  AuthorizationError,
  connect,
  type NatsConnection,
  PermissionViolationError,
  UserAuthenticationExpiredError,
} from "@nats-io/transport-node";
import type { Logger } from "pino";
import { FirstRedialSpread } from "./bus/reconnect-spread.js";
import { Backoff, type BackoffPolicy, DEFAULT_TIMING, type RandomSource } from "./lifecycle/backoff.js";

/** Options of {@link connectWithRetry}. */
export interface ConnectWithRetryOptions {
  url: string;
  /** Client name shown by the server's monitoring, e.g. `fluxrig-rack/rack-nyc-01`. */
  clientName: string;
  logger: Logger;
  policy?: BackoffPolicy;
  /** Aborting gives up on a first connect still in progress (SIGTERM before NATS ever came up). */
  signal?: AbortSignal;
  /** How to prove who this client is (none on an open bus). */
  authenticator?: Authenticator;
  /** Where request replies arrive, e.g. `_INBOX.rack-nyc-01`; the client's default when unset. */
  inboxPrefix?: string;
  /** Throw an authorization refusal at once instead of retrying it (the caller has another credential to try). */
  failOnAuthError?: boolean;
  /**
   * `[nats] reconnect_spread` (ms): after the link drops, the first redial waits a uniformly random part of it, so a
   * fleet that lost nats-server together does not come back in one burst (bus/reconnect-spread.ts). 0: at once.
   */
  reconnectSpreadMs?: number;
  random?: RandomSource;
}

/**
 * Whether a connect failed or a connection closed because the server refused the credential (bad, expired or
 * revoked JWT, wrong nonce signature).
 */
export function isAuthError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof AuthorizationError || e instanceof UserAuthenticationExpiredError) return true;
    if (/authorization violation|authentication (expired|revoked)/i.test(e.message)) return true;
  }
  return false;
}

/**
 * Resolves once connected; until then retries forever with jittered backoff, logging the first failure and
 * every tenth. After that, reconnects are the client's: the first redial after a drop waits a random part of
 * `reconnectSpreadMs`, later ones the same backoff's step but at least the spread (bus/reconnect-spread.ts); the
 * backoff is reset on success.
 */
export async function connectWithRetry(opts: ConnectWithRetryOptions): Promise<NatsConnection> {
  const backoff = new Backoff(opts.policy ?? DEFAULT_TIMING.reconnect, opts.random);
  const reconnectBackoff = new Backoff(opts.policy ?? DEFAULT_TIMING.reconnect, opts.random);
  const spreadMs = opts.reconnectSpreadMs ?? 0;
  const spread = new FirstRedialSpread(spreadMs, opts.random, (delayMs) =>
    opts.logger.info(
      { first_redial_in_ms: delayMs, reconnect_spread_ms: spreadMs },
      "nats: link dropped; first redial spread over [nats] reconnect_spread",
    ),
  );
  const pacer = dialPacer(reconnectBackoff);
  const reconnectDelay = () => spread.waitMs(pacer());
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      const nc = await connect({
        servers: natsServers(opts.url),
        name: opts.clientName,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: reconnectDelay,
        reconnectToServer: spread.handler,
        // Ping often enough that a dead server is noticed within a few heartbeats.
        pingInterval: 20_000,
        maxPingOut: 3,
        ...(opts.authenticator !== undefined ? { authenticator: opts.authenticator } : {}),
        ...(opts.inboxPrefix !== undefined ? { inboxPrefix: opts.inboxPrefix } : {}),
      });
      spread.arm();
      void (async () => {
        for await (const status of nc.status()) {
          if (status.type === "reconnect") {
            reconnectBackoff.reset();
            spread.arm();
          } else if (status.type === "forceReconnect") {
            // The Rack reconnects on purpose (a new credential to present): no reason to wait.
            spread.disarm();
          } else if (
            status.type === "error" &&
            spread.armed &&
            !(status.error instanceof PermissionViolationError)
          ) {
            // The server told this connection, while it was up, why it ends it (its credential revoked or expired):
            // a verdict on this Rack, not an outage the whole fleet redials after, so its redial is not spread. A
            // refused publish or subscribe keeps the connection and changes nothing here.
            spread.disarm();
          }
        }
      })();
      if (attempt > 1)
        opts.logger.info({ url: opts.url, attempts: attempt }, "nats: connected after retrying");
      return nc;
    } catch (error) {
      if (opts.failOnAuthError && isAuthError(error)) throw error;
      const delayMs = backoff.next();
      if (attempt === 1 || attempt % 10 === 0) {
        opts.logger.warn(
          { url: opts.url, attempt, retry_in_ms: delayMs, err: error },
          "nats: cannot connect, retrying",
        );
      }
      await abortableDelay(delayMs, opts.signal);
    }
  }
}

/**
 * The client asks for the reconnect delay on every pass of its dial loop, also the passes that only wait for the
 * previous delay to run out. Calling `backoff.next()` each time grew the delay on every wait, so after a failed
 * dial the next one came only at the backoff's maximum (30 s) however soon the server was back. This advances
 * the backoff once the current delay has run out, so it paces the dials themselves: 0.5 s, 1 s, 2 s, ...
 */
export function dialPacer(backoff: Backoff, now: () => number = Date.now): () => number {
  let current: number | undefined;
  let since = 0;
  return () => {
    const t = now();
    if (current === undefined || t - since >= current) {
      current = backoff.next();
      since = t;
    }
    return current;
  };
}

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
