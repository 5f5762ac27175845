// Connecting to NATS: the first connect retried with jittered backoff (logged), then the client's own reconnects.
import { natsServers } from "@fluxrig/config";
import {
  type Authenticator,
  AuthorizationError,
  connect,
  type NatsConnection,
  PermissionViolationError,
  type ReconnectToServerHandler,
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
  const pacer = new DialPacer(reconnectBackoff, (stepMs) => spread.waitMs(stepMs));
  /** Dials since the link last came up; undefined until the first connect (whose dials are not redials). */
  let redials: number | undefined;
  const reconnectToServer: ReconnectToServerHandler = (pool, info) => {
    // nats.js calls this once per dial, just before it: the moment the wait before the next dial is fixed. (`info` is
    // null on the initial connect, and also on a redial after a refused one: the client forgets it when it dials.)
    const picked = spread.handler(pool, info);
    pacer.dialed();
    if (redials !== undefined) {
      redials += 1;
      opts.logger.debug({ redial: redials, next_redial_in_ms: pacer.waitMs() }, "nats: redialling");
    }
    return picked;
  };
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      const nc = await connect({
        servers: natsServers(opts.url),
        name: opts.clientName,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: pacer.waitMs,
        reconnectToServer,
        // Ping often enough that a dead server is noticed within a few heartbeats.
        pingInterval: 20_000,
        maxPingOut: 3,
        ...(opts.authenticator !== undefined ? { authenticator: opts.authenticator } : {}),
        ...(opts.inboxPrefix !== undefined ? { inboxPrefix: opts.inboxPrefix } : {}),
      });
      pacer.reset();
      redials = 0;
      spread.arm();
      void (async () => {
        for await (const status of nc.status()) {
          if (status.type === "reconnect") {
            pacer.reset();
            redials = 0;
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
 * The waits between the client's dials. nats.js asks for its reconnect delay (`reconnectDelayHandler`) on every pass of
 * its dial loop, also the passes that only sleep out the rest of the previous delay, and dials once `delay` has passed
 * since its last dial; it calls `reconnectToServer` exactly once per dial, just before it. So the wait is fixed once
 * per dial ({@link DialPacer.dialed}) and handed back unchanged on every pass until the next dial: the backoff's next
 * step (0.5 s, 1 s, 2 s, ... with the Rack's policy), raised by `atLeast` (the spread, once an outage's first redial was
 * spread).
 *
 * Two earlier versions grew the wait on the passes instead. Once per pass: after one refused dial the next came only
 * at the backoff's maximum (30 s). Then once per step of wall time: a wait longer than the step (the spread's floor),
 * or one whose timer fired a few ms late, saw its step run out and took the next one before dialling, so a refused
 * redial was followed by one two steps later (3.9 s instead of 2 s with a 2 s spread, nats-restart.faults.test.ts).
 */
export class DialPacer {
  readonly #backoff: Backoff;
  readonly #atLeast: (stepMs: number) => number;
  #waitMs: number | undefined;

  constructor(backoff: Backoff, atLeast: (stepMs: number) => number = (stepMs) => stepMs) {
    this.#backoff = backoff;
    this.#atLeast = atLeast;
  }

  /**
   * For `ConnectionOptions.reconnectDelayHandler`: the wait from the last dial to the next. Before the first dial since
   * {@link reset}, the backoff's initial step without jitter: a link that lived less than that is not redialled at once.
   */
  readonly waitMs = (): number => this.#waitMs ?? this.#backoff.policy.initialMs;

  /** A dial is starting: fixes the wait before the next one. */
  dialed(): void {
    this.#waitMs = this.#atLeast(this.#backoff.next());
  }

  /** Connected: the next outage starts again from the first step. */
  reset(): void {
    this.#backoff.reset();
    this.#waitMs = undefined;
  }
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
