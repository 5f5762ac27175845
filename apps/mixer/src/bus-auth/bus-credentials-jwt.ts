// The `jwt` bus mode (SPEC §11): user JWTs for Racks, cut from their state and cached, and the fleet account JWT with
// the registry's revocations, pushed through the Mixer's system user and kept on disk for `fluxrig-mixer nats-config`.
import { join } from "node:path";
import { encodePublicNkey, writeFileAtomic } from "@fluxrig/passport";
import type { BusCredential } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Counters } from "../runtime/counters.js";
import type { BusCredentials, CredentialSubject } from "./bus-credentials.js";
import { pushAccountJwt } from "./claims-push.js";
import { BusAuthError } from "./errors.js";
import { issueUserJwt } from "./issue-jwt.js";
import type { BusKeys } from "./key-store.js";
import type { MixerBusUsers } from "./mixer-bus-users.js";
import { rackPermissions } from "./permissions.js";
import { fleetAccountJwt, pruneRevocations, type RevocationList } from "./trust-chain.js";

/** The fleet account JWT as last pushed, next to the bus keys: what `nats-config` preloads. */
export const FLEET_ACCOUNT_JWT_FILE = "fleet-account.jwt";

/** A pending Rack's credential lives at most this long, whatever `[enrollment] pending_ttl` says. */
export const PENDING_CREDENTIAL_MAX_SECONDS = 3_600;

/** A Rack's public key (base64url, as the hello carries it) to the unix second it was revoked. */
export type RackRevocations = ReadonlyMap<string, number>;

/** One Rack's last credential: handed back while its grant is unchanged and it has more than 2/3 of its life left. */
interface CachedCredential {
  grant: string;
  issuedAt: number;
  expiresAt: number;
  credential: BusCredential;
}

/** At most one entry per Rack key; the MachineID space bounds the fleet, so this bound is never reached by Racks. */
const CACHE_LIMIT = 70_000;

export interface JwtBusCredentialsOptions {
  keys: BusKeys;
  /** The Mixer's system-account connection: account JWTs are pushed there. Closed by {@link JwtBusCredentials.close}. */
  system: NatsConnection;
  /** The Mixer's own users, renewed by their timer; stopped by close. */
  users?: MixerBusUsers;
  /** The registry's revoked Rack keys (revoke, reject, replace, rm), read at each issue and push. */
  revocations: () => RackRevocations;
  /** An adopted Rack's credential lives as long as its passport (`[passport] ttl`), in seconds. */
  rackTtlSeconds: number;
  /** A pending Rack's (`[enrollment] pending_ttl`, capped at {@link PENDING_CREDENTIAL_MAX_SECONDS}), in seconds. */
  pendingTtlSeconds: number;
  /** Wall clock (ms) for the account JWT's `iat`: nats-server compares it with its own. */
  nowMs?: () => number;
  logger: Logger;
  counters?: Counters;
  /** Cluster mode: adopted Racks may read and watch their own state key (`rackPermissions`' `rackState`). */
  rackState?: boolean;
}

/**
 * Credentials in `jwt` mode. `issue` costs one Ed25519 signature (about 0.1 ms) unless the Rack's current JWT is
 * handed back from the cache; `pushRevocations` is serialized and coalesced, so a burst of revocations (a bulk revoke)
 * costs a push or two, not one per Rack.
 *
 * @example
 * const credentials = new JwtBusCredentials({ keys, system, users, revocations: () => registry.revocations(),
 *   rackTtlSeconds: 86_400, pendingTtlSeconds: 3_600, logger });
 * await credentials.start(); // pushes the current fleet JWT now and on every reconnect of `system`
 */
export class JwtBusCredentials implements BusCredentials {
  readonly mode = "jwt" as const;
  readonly #o: JwtBusCredentialsOptions;
  readonly #nowMs: () => number;
  readonly #cache = new Map<string, CachedCredential>();
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  /** The `iat` of the last fleet JWT made: never goes back, so the resolver always keeps the newest. */
  #lastIssuedAt = 0;
  #closed = false;

  constructor(opts: JwtBusCredentialsOptions) {
    this.#o = opts;
    this.#nowMs = opts.nowMs ?? Date.now;
  }

  /**
   * Pushes the current fleet JWT (the full resolver keeps whichever was issued later, stored or preloaded) and again
   * after every reconnect of the system connection. Throws a BusAuthError naming the fix when the server does not take
   * it (not started with `nats-config`'s block, or another operator's).
   */
  async start(): Promise<void> {
    try {
      await this.pushRevocations();
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new BusAuthError(
        "claims-update-refused",
        `nats-server did not take the fleet account JWT (${why}); start it with the config block fluxrig-mixer nats-config prints for this data dir, or set [nats] auth = "none" for an open bus`,
        { cause },
      );
    }
    void (async () => {
      for await (const status of this.#o.system.status()) {
        if (status.type !== "reconnect" || this.#closed) continue;
        this.pushRevocations().catch((err: unknown) =>
          this.#o.logger.error(
            { err: err instanceof Error ? err.message : String(err) },
            "fleet account JWT push after reconnect failed; retried at the next change or reconnect",
          ),
        );
      }
    })().catch(() => undefined);
  }

  issue(rack: CredentialSubject, now: Date): BusCredential | null {
    const permissions = rackPermissions(rack, { rackState: this.#o.rackState === true });
    if (permissions === null) return null;
    const grant = `${rack.name}\n${JSON.stringify(permissions)}`;
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const revokedAt = this.#o.revocations().get(rack.publicKey);
    const cached = this.#cache.get(rack.publicKey);
    if (
      cached !== undefined &&
      cached.grant === grant &&
      (revokedAt === undefined || cached.issuedAt > revokedAt) &&
      nowSeconds - cached.issuedAt < (cached.expiresAt - cached.issuedAt) / 3
    ) {
      this.#o.counters?.inc("bus.credentials.cached");
      return cached.credential;
    }
    // nats-server refuses a JWT issued at or before its key's revocation second: a key enrolled again after `rm`
    // (identity is by key) gets one dated just after it.
    const issuedAt = revokedAt !== undefined && nowSeconds <= revokedAt ? revokedAt + 1 : nowSeconds;
    const issued = issueUserJwt({
      signer: this.#o.keys.fleetSigning,
      account: this.#o.keys.fleet.nkey,
      publicKey: rack.publicKey,
      name: rack.name,
      permissions,
      ttlSeconds: rack.status === "pending" ? this.#o.pendingTtlSeconds : this.#o.rackTtlSeconds,
      nowSeconds: issuedAt,
    });
    const credential: BusCredential = {
      jwt: issued.jwt,
      expires_at: new Date(issued.expiresAt * 1000).toISOString(),
    };
    this.#cache.delete(rack.publicKey);
    if (this.#cache.size >= CACHE_LIMIT) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(rack.publicKey, {
      grant,
      issuedAt: issued.issuedAt,
      expiresAt: issued.expiresAt,
      credential,
    });
    this.#o.counters?.inc("bus.credentials.issued");
    return credential;
  }

  /**
   * One push at a time; calls made while one runs share the next push, which reads the revocations when it starts,
   * so every caller's revocation is in force when its promise resolves.
   */
  pushRevocations(): Promise<void> {
    if (this.#queued !== undefined) return this.#queued;
    if (this.#running === undefined) return this.#run();
    const queued = this.#running
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#run();
      });
    this.#queued = queued;
    return queued;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#o.users?.close();
    await Promise.allSettled([this.#running, this.#queued]);
    if (!this.#o.system.isClosed()) await this.#o.system.drain().catch(() => undefined);
  }

  #run(): Promise<void> {
    const run = this.#push().finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  async #push(): Promise<void> {
    const { keys, logger } = this.#o;
    const nowSeconds = Math.max(Math.floor(this.#nowMs() / 1000), this.#lastIssuedAt);
    this.#lastIssuedAt = nowSeconds;
    const revocations = pruneRevocations(this.#userRevocations(), {
      nowSeconds,
      maxUserTtlSeconds: Math.max(this.#o.rackTtlSeconds, this.#o.pendingTtlSeconds),
    });
    const jwt = fleetAccountJwt(keys, { revocations, nowSeconds });
    // On disk first: if the server is away, `nats-config` still renders the current list, and the reconnect pushes it.
    await writeFileAtomic({ path: join(keys.dir, FLEET_ACCOUNT_JWT_FILE), data: jwt, mode: 0o644 });
    try {
      await pushAccountJwt(this.#o.system, { jwt, account: keys.fleet.nkey, operator: keys.operator.nkey });
    } catch (cause) {
      this.#o.counters?.inc("bus.revocations.push_failed");
      if (cause instanceof BusAuthError) throw cause;
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new BusAuthError("claims-update-refused", `no answer to the fleet account JWT push: ${why}`, {
        cause,
      });
    }
    this.#o.counters?.inc("bus.revocations.pushed");
    logger.debug({ revocations: Object.keys(revocations).length }, "fleet account JWT pushed");
  }

  /** The registry's list, keyed by user nkey as the account JWT names them. */
  #userRevocations(): RevocationList {
    const list: Record<string, number> = {};
    for (const [publicKey, at] of this.#o.revocations()) {
      list[encodePublicNkey("user", Buffer.from(publicKey, "base64url"))] = at;
    }
    return list;
  }
}
