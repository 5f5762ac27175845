// Issuing the three kinds of JWT: claims from claims.ts, framed and signed by jwt-codec.ts with node:crypto keys.

import { encodePublicNkey } from "@fluxrig/passport";
import {
  type AccountLimits,
  accountClaims,
  operatorClaims,
  type UserPermissions,
  userClaims,
} from "./claims.js";
import { encodeJwt, type JwtSigner } from "./jwt-codec.js";

/**
 * The operator JWT, self-signed: `operator:` in the server config and the root every account JWT chains to.
 *
 * @example
 * issueOperatorJwt({ operator: keys.operator, name: "fluxrig", systemAccount: keys.system.nkey, nowSeconds });
 */
export function issueOperatorJwt(opts: {
  operator: JwtSigner;
  name: string;
  systemAccount: string;
  nowSeconds: number;
}): string {
  const claims = operatorClaims({
    operator: opts.operator.nkey,
    name: opts.name,
    systemAccount: opts.systemAccount,
  });
  return encodeJwt({ claims, signer: opts.operator, nowSeconds: opts.nowSeconds });
}

/**
 * An account JWT signed by the operator. Re-issued (and pushed) whenever its revocations change.
 *
 * @example
 * issueAccountJwt({ operator, account: keys.fleet.nkey, name: "fleet", jetstream: true, nowSeconds,
 *   signingKeys: [keys.fleetSigning.nkey], revocations: { [oldRackNkey]: nowSeconds } });
 */
export function issueAccountJwt(opts: {
  operator: JwtSigner;
  account: string;
  name: string;
  jetstream: boolean;
  signingKeys?: readonly string[];
  revocations?: Readonly<Record<string, number>>;
  maxConnections?: AccountLimits["conn"];
  nowSeconds: number;
}): string {
  const { operator, nowSeconds, ...rest } = opts;
  return encodeJwt({ claims: accountClaims(rest), signer: operator, nowSeconds });
}

/** What {@link issueUserJwt} hands back: the JWT and the facts a caller keeps about it. */
export interface IssuedUserJwt {
  jwt: string;
  /** The user's nkey (`sub`): what a revocation names. */
  user: string;
  issuedAt: number;
  expiresAt: number;
}

/**
 * A user JWT for a raw Ed25519 public key (a Rack's own key, base64url as the hello carries it), signed by the
 * account's signing key. Costs one SHA-512/256 and one Ed25519 signature (see issue-jwt.bench.ts).
 *
 * @example
 * issueUserJwt({ signer: keys.fleetSigning, account: keys.fleet.nkey, publicKey: hello.publicKey, name: "rack-1",
 *   permissions: rackPermissions(state), ttlSeconds: 86_400, nowSeconds });
 */
export function issueUserJwt(opts: {
  signer: JwtSigner;
  account: string;
  publicKey: string;
  name: string;
  permissions: UserPermissions;
  ttlSeconds: number;
  nowSeconds: number;
}): IssuedUserJwt {
  const user = encodePublicNkey("user", Buffer.from(opts.publicKey, "base64url"));
  const expiresAt = opts.nowSeconds + opts.ttlSeconds;
  const claims = userClaims({
    user,
    name: opts.name,
    // The account key itself needs no issuer_account; a signing key must name the account it signs for.
    ...(opts.signer.nkey === opts.account ? {} : { account: opts.account }),
    permissions: opts.permissions,
    expiresAt,
  });
  const jwt = encodeJwt({ claims, signer: opts.signer, nowSeconds: opts.nowSeconds });
  return { jwt, user, issuedAt: opts.nowSeconds, expiresAt };
}
