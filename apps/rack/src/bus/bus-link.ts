// The Rack's connection to the bus, which it owns: open bus, the shared bootstrap credential, or its own user JWT
// (SPEC §11). It dials, swaps and closes connections; the agent re-attaches its subscriptions to each new one.
import type { KeyObject } from "node:crypto";
import { nonceAuthenticator } from "@fluxrig/passport";
import { INBOX_PREFIXES, rackInboxPrefix } from "@fluxrig/wire";
import { type Authenticator, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { Backoff, type BackoffPolicy, DEFAULT_TIMING } from "../lifecycle/backoff.js";
import { isAuthError } from "../nats-link.js";
import {
  decodeUserJwt,
  type JwtGrant,
  readBusJwt,
  removeBusJwt,
  sameGrant,
  usableJwt,
  writeBusJwt,
} from "./bus-credential.js";

/** How the Rack is on the bus: unauthenticated, as the shared bootstrap user, or as itself. */
export type BusMode = "open" | "bootstrap" | "self";

/** What a dial needs: how to authenticate and where replies come back. */
export interface DialRequest {
  mode: BusMode;
  authenticator?: Authenticator;
  inboxPrefix?: string;
  /** As itself: an authorization refusal must be thrown, not retried (the Rack falls back to bootstrap). */
  failOnAuthError: boolean;
  signal: AbortSignal;
}

/** Opens one connection, retrying with backoff until it is up (production: `connectWithRetry`). */
export type Dial = (req: DialRequest) => Promise<NatsConnection>;

/** Options of {@link BusLink}. */
export interface BusLinkOptions {
  name: string;
  privateKey: KeyObject;
  /** The bootstrap `.creds` file's bytes, when `[nats] creds` is set. */
  creds: Uint8Array | undefined;
  jwtPath: string;
  dial: Dial;
  logger: Logger;
  now: () => Date;
  /** A connection closed for good without the Rack asking (refused credential): the agent decides what next. */
  onLost: (mode: BusMode, error: Error | undefined) => void;
  /** Paces fallbacks after refused credentials, so a refusal never becomes a hot loop. */
  fallbackPolicy?: BackoffPolicy;
  random?: () => number;
}

/** What {@link BusLink.offer} did with a credential. */
export type CredentialOutcome =
  /** The same JWT as held: nothing to do. */
  | "same"
  /** Stored; the connection already allows the same (or the Rack is not on the bus as itself yet). */
  | "stored"
  /** Stored, and the grant differs from the live connection's: reconnect to use it. */
  | "regrant";

/**
 * The Rack's bus connection. `open(mode)` replaces the current connection with a new one; `offer` takes a credential
 * from a verified hello reply or push.
 */
export class BusLink {
  readonly #o: BusLinkOptions;
  readonly #fallback: Backoff;
  readonly #abort = new AbortController();
  #nc: NatsConnection | undefined;
  #mode: BusMode = "open";
  #jwt: string | undefined;
  /** The JWT the live connection presented at its last (re)connect. */
  #presented: string | undefined;
  #closing = false;

  constructor(opts: BusLinkOptions) {
    this.#o = opts;
    this.#fallback = new Backoff(opts.fallbackPolicy ?? DEFAULT_TIMING.reconnect, opts.random);
  }

  get nc(): NatsConnection | undefined {
    return this.#nc;
  }

  get mode(): BusMode {
    return this.#mode;
  }

  /** The Rack's own JWT as held now (stored in bus.jwt), if any. */
  get jwt(): string | undefined {
    return this.#jwt;
  }

  get hasCreds(): boolean {
    return this.#o.creds !== undefined;
  }

  /**
   * Reads bus.jwt and says how to connect first: as itself with a JWT that is still valid, else with the bootstrap
   * credential, else on an open bus.
   */
  async initialMode(): Promise<BusMode> {
    const stored = await readBusJwt(this.#o.jwtPath);
    const log = this.#o.logger;
    if (stored.jwt !== undefined && usableJwt(stored.jwt, this.#o.now())) {
      this.#jwt = stored.jwt;
      log.info({ path: this.#o.jwtPath }, "bus: connecting as this Rack with its stored credential");
      return "self";
    }
    const why = stored.jwt === undefined ? stored.why : "bus.jwt expired";
    if (this.hasCreds) {
      log.info({ why }, "bus: connecting with the bootstrap credential to ask for this Rack's own");
      return "bootstrap";
    }
    if (stored.jwt !== undefined) {
      // Nothing else to try: the server decides (a new one may still be pushed once connected).
      this.#jwt = stored.jwt;
      log.warn(
        { why },
        "bus: stored credential expired and no [nats] creds to fall back to; trying it anyway",
      );
      return "self";
    }
    log.info(
      "bus: no [nats] creds and no stored credential: connecting to an open bus (no bus authentication)",
    );
    return "open";
  }

  /** Where to go after a refused or lost connection: bootstrap when possible, else the same way again. */
  fallbackMode(lost: BusMode): BusMode {
    if (this.hasCreds) return "bootstrap";
    return this.#jwt !== undefined ? "self" : lost === "self" ? "self" : "open";
  }

  /** The delay before the next fallback dial (grows while credentials keep being refused). */
  fallbackDelayMs(): number {
    return this.#fallback.next();
  }

  /**
   * Closes the current connection (if any) and opens one in `mode`. As itself, an authorization refusal is thrown
   * (the caller falls back). Resolves with the new connection.
   */
  async open(mode: BusMode): Promise<NatsConnection> {
    this.#abort.signal.throwIfAborted();
    await this.#closeCurrent();
    if (mode === "self" && this.#jwt === undefined)
      throw new Error("no bus credential to connect as this Rack");
    if (mode === "bootstrap" && this.#o.creds === undefined)
      throw new Error("no [nats] creds to bootstrap with");
    const req: DialRequest = { mode, failOnAuthError: mode === "self", signal: this.#abort.signal };
    if (mode === "self") {
      const own = nonceAuthenticator({ privateKey: this.#o.privateKey, jwt: () => this.#jwt ?? "" });
      req.authenticator = (nonce?: string) => {
        this.#presented = this.#jwt;
        return own(nonce);
      };
      req.inboxPrefix = rackInboxPrefix(this.#o.name);
    } else if (mode === "bootstrap") {
      req.authenticator = credsAuthenticator(this.#o.creds as Uint8Array);
      req.inboxPrefix = INBOX_PREFIXES.bootstrap;
    }
    const nc = await this.#o.dial(req);
    this.#nc = nc;
    this.#mode = mode;
    const since = Date.now();
    void nc.closed().then((error) => {
      if (this.#nc !== nc || this.#closing) return;
      this.#nc = undefined;
      // A connection that lived a while was not a refusal loop: the next fallback starts from the shortest delay.
      if (Date.now() - since > 60_000) this.#fallback.reset();
      const auth = isAuthError(error);
      this.#o.logger.warn(
        { mode, err: error, refused: auth },
        auth ? "bus: the server refused this Rack's credential" : "bus: connection closed",
      );
      this.#o.onLost(mode, error ?? undefined);
    });
    this.#o.logger.info({ mode, server: nc.getServer() }, `bus: connected (${describe(mode)})`);
    return nc;
  }

  /**
   * Takes a credential the Mixer sent (already verified as the Mixer's): stores it when it is new, and says whether
   * the live connection should reconnect to use it.
   */
  async offer(jwt: string): Promise<CredentialOutcome> {
    if (jwt === this.#jwt) return "same";
    const facts = decodeUserJwt(jwt);
    await writeBusJwt(this.#o.jwtPath, jwt);
    this.#jwt = jwt;
    this.#o.logger.info(
      {
        expires_at: facts.expiresAt === undefined ? null : new Date(facts.expiresAt * 1000).toISOString(),
        pub: facts.grant.pub.length,
        sub: facts.grant.sub.length,
      },
      "bus: stored a new credential (bus.jwt)",
    );
    if (this.#mode !== "self") return "stored";
    return sameGrant(this.#grantOf(this.#presented), facts.grant) ? "stored" : "regrant";
  }

  /**
   * Reconnects the live connection so the server sees the held JWT (subscriptions come back by themselves); resolves
   * once reconnected, false when that did not happen within `timeoutMs` (the client keeps trying).
   */
  async reconnect(timeoutMs = 15_000): Promise<boolean> {
    const nc = this.#nc;
    if (nc === undefined || nc.isClosed()) return false;
    const iterator = nc.status()[Symbol.asyncIterator]();
    let timer: NodeJS.Timeout | undefined;
    const reconnected = (async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return false;
        if (next.value.type === "reconnect") return true;
      }
    })();
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      await nc.reconnect();
      return await Promise.race([reconnected, timeout]);
    } finally {
      clearTimeout(timer);
      void iterator.return?.();
    }
  }

  /** Whether the live connection may subscribe to `subject` (exact subject as granted; always on an open bus). */
  maySubscribe(subject: string): boolean {
    if (this.#mode === "open") return true;
    if (this.#mode === "bootstrap") return false;
    return this.#grantOf(this.#presented).sub.includes(subject);
  }

  /** Forgets the Rack's own credential and removes bus.jwt (refused, revoked or rejected Racks hold none). */
  async dropCredential(reason: string): Promise<void> {
    const had = this.#jwt !== undefined;
    this.#jwt = undefined;
    try {
      await removeBusJwt(this.#o.jwtPath);
    } catch (error) {
      this.#o.logger.error({ err: error, path: this.#o.jwtPath }, "bus: cannot remove bus.jwt");
    }
    if (had) this.#o.logger.warn({ reason }, "bus: dropped this Rack's credential (bus.jwt)");
  }

  /** Gives up any dial in progress (shutdown): it rejects at once, and no new one starts. */
  abortDials(): void {
    this.#closing = true;
    this.#abort.abort(new Error("the Rack is stopping"));
  }

  /** Stops any dial in progress and drains the connection (bounded by `timeoutMs`). */
  async close(timeoutMs = 10_000): Promise<void> {
    this.abortDials();
    const nc = this.#nc;
    if (nc === undefined || nc.isClosed()) return;
    await Promise.race([nc.drain(), new Promise((r) => setTimeout(r, timeoutMs).unref())]).catch(
      (error: unknown) => this.#o.logger.warn({ err: error }, "nats: drain failed"),
    );
  }

  #grantOf(jwt: string | undefined): JwtGrant {
    if (jwt === undefined) return { pub: [], sub: [] };
    try {
      return decodeUserJwt(jwt).grant;
    } catch {
      return { pub: [], sub: [] };
    }
  }

  async #closeCurrent(): Promise<void> {
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc === undefined || nc.isClosed()) return;
    await nc.close().catch(() => undefined);
  }
}

function describe(mode: BusMode): string {
  if (mode === "self") return "as this Rack, with its own credential";
  if (mode === "bootstrap") return "with the bootstrap credential: hellos only";
  return "open bus";
}
