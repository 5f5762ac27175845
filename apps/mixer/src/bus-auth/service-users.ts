// The users that are not Racks: the Mixer in the fleet account, the Mixer in the system account, and the shared
// bootstrap user a brand-new Rack connects with before it has a JWT of its own.
import type { KeyObject } from "node:crypto";
import { generateKeyPair, publicKeyToBase64url, seedNkeyOf } from "@fluxrig/passport";
import { INBOX_PREFIXES, inboxWildcard } from "@fluxrig/wire";
import { CLAIMS_UPDATE_SUBJECT } from "./claims-push.js";
import { issueUserJwt } from "./issue-jwt.js";
import type { BusKeys } from "./key-store.js";
import { bootstrapPermissions, mixerPermissions } from "./permissions.js";

/** A user ready to connect: its key, its nkey and a JWT for it. */
export interface BusUser {
  privateKey: KeyObject;
  nkey: string;
  jwt: string;
  expiresAt: number;
}

interface IssueTimes {
  nowSeconds: number;
  ttlSeconds: number;
  /** Renewing: the key of the user being renewed (its connection's authenticator holds it). A fresh one otherwise. */
  privateKey?: KeyObject;
}

/**
 * The Mixer's fleet-account user. Its key is made fresh in memory for each process: nothing to store or leak,
 * and the JWT is re-issued from the signing key whenever it nears expiry.
 *
 * @example
 * const me = mixerFleetUser(keys, { nowSeconds, ttlSeconds: 86_400 });
 * connect({ authenticator: nonceAuthenticator({ privateKey: me.privateKey, jwt: () => me.jwt }),
 *   inboxPrefix: INBOX_PREFIXES.mixer });
 */
export function mixerFleetUser(keys: BusKeys, { privateKey: renewing, ...times }: IssueTimes): BusUser {
  const privateKey = renewing ?? generateKeyPair().privateKey;
  return user(privateKey, {
    signer: keys.fleetSigning,
    account: keys.fleet.nkey,
    name: "mixer",
    permissions: mixerPermissions(),
    ...times,
  });
}

/**
 * The Mixer's system-account user: it may only push account JWTs and read the answers. Only the Mixer holds the
 * system account key, so no one else can be issued a user there.
 */
export function mixerSystemUser(keys: BusKeys, { privateKey: renewing, ...times }: IssueTimes): BusUser {
  const privateKey = renewing ?? generateKeyPair().privateKey;
  return user(privateKey, {
    signer: keys.system,
    account: keys.system.nkey,
    name: "mixer-system",
    permissions: {
      pub: { allow: [CLAIMS_UPDATE_SUBJECT], deny: [] },
      sub: { allow: [inboxWildcard(INBOX_PREFIXES.mixer)], deny: [] },
    },
    ...times,
  });
}

/** The bootstrap user (key from the key store, so its credential survives restarts and can be handed out). */
export function bootstrapUser(keys: BusKeys, times: IssueTimes): BusUser {
  return user(keys.bootstrap.privateKey, {
    signer: keys.fleetSigning,
    account: keys.fleet.nkey,
    name: "bootstrap",
    permissions: bootstrapPermissions(),
    ...times,
  });
}

/**
 * A `.creds` file (JWT and seed) as nats tools and nats.js `credsAuthenticator` read it. It holds a secret: write
 * it 0600 and never log it.
 *
 * @example
 * await writeFileAtomic({ path: "bootstrap.creds", data: credsFileText(bootstrapUser(keys, t)), mode: 0o600 });
 */
export function credsFileText(u: BusUser): string {
  return [
    "-----BEGIN NATS USER JWT-----",
    u.jwt,
    "------END NATS USER JWT------",
    "",
    "************************* IMPORTANT *************************",
    "NKEY Seed printed below can be used to sign and prove identity.",
    "NKEYs are sensitive and should be treated as secrets.",
    "",
    "-----BEGIN USER NKEY SEED-----",
    seedNkeyOf(u.privateKey, "user"),
    "------END USER NKEY SEED------",
    "",
  ].join("\n");
}

function user(privateKey: KeyObject, opts: Omit<Parameters<typeof issueUserJwt>[0], "publicKey">): BusUser {
  const issued = issueUserJwt({ ...opts, publicKey: publicKeyToBase64url(privateKey) });
  return { privateKey, nkey: issued.user, jwt: issued.jwt, expiresAt: issued.expiresAt };
}
