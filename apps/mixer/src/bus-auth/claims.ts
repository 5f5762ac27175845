// The claims of the operator, account and user JWTs the Mixer issues, as nats-server (JWT v2) reads them.
import { BusAuthError } from "./errors.js";

/** No limit, in every numeric limit of a NATS JWT. */
export const NO_LIMIT = -1;

/**
 * One direction of a permission: nats-server allows a subject that matches `allow` (or any subject when `allow` is
 * empty) and no `deny`.
 */
export interface SubjectPermission {
  allow: string[];
  deny: string[];
}

/** A user's bus permissions. `resp` lets a user answer requests it received without a publish grant. */
export interface UserPermissions {
  pub: SubjectPermission;
  sub: SubjectPermission;
  resp?: { max: number; ttl: number };
}

/** The `nats` section of a user JWT. */
export interface UserNats extends UserPermissions {
  subs: number;
  data: number;
  payload: number;
  bearer_token: false;
  allowed_connection_types: string[];
  /** The account a signing key issued the user for; present exactly when `iss` is a signing key. */
  issuer_account?: string;
  type: "user";
  version: 2;
}

/** Account limits: connection and subscription caps, and JetStream (enabled when storage is not 0). */
export interface AccountLimits {
  subs: number;
  data: number;
  payload: number;
  imports: number;
  exports: number;
  wildcards: boolean;
  conn: number;
  leaf: number;
  mem_storage: number;
  disk_storage: number;
  streams: number;
  consumer: number;
  max_ack_pending: number;
}

/**
 * The `nats` section of an account JWT. `revocations` maps a user nkey to unix seconds: that user's JWTs issued at or
 * before then are void.
 */
export interface AccountNats {
  limits: AccountLimits;
  signing_keys: string[];
  revocations: Record<string, number>;
  default_permissions: { pub: SubjectPermission; sub: SubjectPermission };
  type: "account";
  version: 2;
}

/** The `nats` section of an operator JWT. */
export interface OperatorNats {
  system_account: string;
  signing_keys: string[];
  type: "operator";
  version: 2;
}

/**
 * The operator's claims: it trusts the accounts it signs, and names the system account.
 *
 * @example
 * encodeJwt({ claims: operatorClaims({ operator, name: "fluxrig", systemAccount }), signer: operatorKey, nowSeconds });
 */
export function operatorClaims(opts: {
  operator: string;
  name: string;
  systemAccount: string;
  signingKeys?: readonly string[];
}) {
  const nats: OperatorNats = {
    system_account: opts.systemAccount,
    signing_keys: [...(opts.signingKeys ?? [])],
    type: "operator",
    version: 2,
  };
  return { sub: opts.operator, name: opts.name, nats };
}

/**
 * An account's claims. Every limit is written out: a JWT that omits one reads as 0 in nats-server (no connections,
 * no subscriptions). `jetstream` turns on unlimited JetStream storage for it (the fleet account; never the system
 * account). Users with no permissions of their own get `default_permissions`, here nothing at all.
 *
 * @example
 * accountClaims({ account: fleet, name: "fleet", signingKeys: [signing], revocations: {}, jetstream: true });
 */
export function accountClaims(opts: {
  account: string;
  name: string;
  signingKeys?: readonly string[];
  revocations?: Readonly<Record<string, number>>;
  jetstream: boolean;
  maxConnections?: number;
}) {
  const js = opts.jetstream ? NO_LIMIT : 0;
  const nats: AccountNats = {
    limits: {
      subs: NO_LIMIT,
      data: NO_LIMIT,
      payload: NO_LIMIT,
      imports: NO_LIMIT,
      exports: NO_LIMIT,
      wildcards: true,
      conn: opts.maxConnections ?? NO_LIMIT,
      leaf: NO_LIMIT,
      mem_storage: js,
      disk_storage: js,
      streams: js,
      consumer: js,
      max_ack_pending: js,
    },
    signing_keys: [...(opts.signingKeys ?? [])],
    revocations: { ...(opts.revocations ?? {}) },
    default_permissions: { pub: { allow: [], deny: [">"] }, sub: { allow: [], deny: [">"] } },
    type: "account",
    version: 2,
  };
  return { sub: opts.account, name: opts.name, nats };
}

/**
 * A user's claims: its permissions, no bearer use (it must sign the server's nonce), plain NATS connections only
 * (no websocket, MQTT or leaf node), and an expiry. Refuses an empty allow list: nats-server reads it as "anything".
 *
 * @example
 * userClaims({ user: rackNkey, name: "rack-1", account: fleet, permissions, expiresAt: now + 86_400 });
 */
export function userClaims(opts: {
  user: string;
  name: string;
  /** The account nkey, when a signing key (not the account key itself) signs. */
  account?: string;
  permissions: UserPermissions;
  expiresAt: number;
}) {
  for (const dir of ["pub", "sub"] as const) {
    if (opts.permissions[dir].allow.length === 0) {
      throw new BusAuthError(
        "bad-claims",
        `user ${opts.name}: an empty ${dir} allow list would allow every subject`,
      );
    }
  }
  const nats: UserNats = {
    pub: opts.permissions.pub,
    sub: opts.permissions.sub,
    ...(opts.permissions.resp === undefined ? {} : { resp: opts.permissions.resp }),
    subs: NO_LIMIT,
    data: NO_LIMIT,
    payload: NO_LIMIT,
    bearer_token: false,
    allowed_connection_types: ["STANDARD"],
    ...(opts.account === undefined ? {} : { issuer_account: opts.account }),
    type: "user",
    version: 2,
  };
  return { sub: opts.user, name: opts.name, exp: opts.expiresAt, nats };
}
