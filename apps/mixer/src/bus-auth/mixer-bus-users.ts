// The Mixer's own bus users in jwt mode: its fleet user (the main connection) and its system user (account pushes).
// Their keys live in memory only; their JWTs are re-issued in-process before they expire, so a reconnect at any time
// presents a valid one (nats-server disconnects a user whose JWT expires).
import { nonceAuthenticator } from "@fluxrig/passport";
import type { Logger } from "pino";
import type { BusKeys } from "./key-store.js";

/** A nats.js `authenticator` that proves a user key and presents its current JWT. */
type UserAuthenticator = ReturnType<typeof nonceAuthenticator>;

import { type BusUser, mixerFleetUser, mixerSystemUser } from "./service-users.js";

/** How long the Mixer's own JWTs live; renewed at 2/3 of it, like a Rack's. */
export const MIXER_USER_TTL_SECONDS = 86_400;

/**
 * Both users, with a renewal timer. The authenticators read the current JWT at each (re)connect.
 *
 * @example
 * const users = new MixerBusUsers(keys, { logger });
 * await connectNats({ ..., authenticator: users.fleetAuthenticator(), inboxPrefix: INBOX_PREFIXES.mixer });
 */
export class MixerBusUsers {
  readonly #keys: BusKeys;
  readonly #ttlSeconds: number;
  readonly #nowMs: () => number;
  readonly #logger: Logger;
  #fleet: BusUser;
  #system: BusUser;
  #timer: NodeJS.Timeout | undefined;

  constructor(keys: BusKeys, opts: { logger: Logger; ttlSeconds?: number; nowMs?: () => number }) {
    this.#keys = keys;
    this.#ttlSeconds = opts.ttlSeconds ?? MIXER_USER_TTL_SECONDS;
    // JWT times are checked by nats-server against the wall clock, so they come from it.
    this.#nowMs = opts.nowMs ?? Date.now;
    this.#logger = opts.logger;
    const times = this.#times();
    this.#fleet = mixerFleetUser(keys, times);
    this.#system = mixerSystemUser(keys, times);
    this.#schedule();
  }

  /** The fleet user's nkey (what the server logs and `connz` show). */
  get fleetNkey(): string {
    return this.#fleet.nkey;
  }

  /** When the current JWTs expire (unix seconds). */
  get expiresAt(): number {
    return Math.min(this.#fleet.expiresAt, this.#system.expiresAt);
  }

  fleetAuthenticator(): UserAuthenticator {
    return nonceAuthenticator({ privateKey: this.#fleet.privateKey, jwt: () => this.#fleet.jwt });
  }

  systemAuthenticator(): UserAuthenticator {
    return nonceAuthenticator({ privateKey: this.#system.privateKey, jwt: () => this.#system.jwt });
  }

  /** Re-issues both JWTs for the same keys (the authenticators keep them); called by the timer at 2/3 of the TTL. */
  renew(): void {
    const times = this.#times();
    this.#fleet = mixerFleetUser(this.#keys, { ...times, privateKey: this.#fleet.privateKey });
    this.#system = mixerSystemUser(this.#keys, { ...times, privateKey: this.#system.privateKey });
    this.#logger.debug({ expires_at: this.expiresAt }, "mixer bus users renewed");
    this.#schedule();
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #times(): { nowSeconds: number; ttlSeconds: number } {
    return { nowSeconds: Math.floor(this.#nowMs() / 1000), ttlSeconds: this.#ttlSeconds };
  }

  #schedule(): void {
    this.close();
    this.#timer = setTimeout(() => this.renew(), Math.floor((this.#ttlSeconds * 1000 * 2) / 3));
    this.#timer.unref();
  }
}
