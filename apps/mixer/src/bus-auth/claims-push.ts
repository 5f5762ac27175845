// Pushing an account JWT to nats-server through the system account, after checking who signed it: the resolver stores
// a pushed JWT without checking its issuer, and a wrong one would lock the account out after the next restart.
import type { NatsConnection } from "@nats-io/transport-node";
import type { AccountNats } from "./claims.js";
import { BusAuthError } from "./errors.js";
import { decodeJwt } from "./jwt-codec.js";

/** The system-account subject nats-server's full resolver takes account JWT updates on. */
export const CLAIMS_UPDATE_SUBJECT = "$SYS.REQ.CLAIMS.UPDATE";

/** What the server answered: `code` 200 and "jwt updated" on success. */
interface ClaimUpdateReply {
  data?: { account?: string; code?: number; message?: string };
  error?: { account?: string; code?: number; description?: string };
}

/**
 * Checks that `jwt` is an account JWT signed by `operator` (or one of `operatorSigningKeys`) and names `account`,
 * then pushes it and waits for the server's answer. One server answers; in a cluster it passes the JWT on.
 * Throws BusAuthError "wrong-issuer" before sending anything, or "claims-update-refused" with the server's reason.
 *
 * @example
 * await pushAccountJwt(sysNc, { jwt: fleetAccountJwt(keys, { revocations, nowSeconds }), account: keys.fleet.nkey,
 *   operator: keys.operator.nkey });
 */
export async function pushAccountJwt(
  nc: NatsConnection,
  opts: {
    jwt: string;
    account: string;
    operator: string;
    operatorSigningKeys?: readonly string[];
    timeoutMs?: number;
  },
): Promise<void> {
  const claims = decodeJwt<AccountNats>(opts.jwt);
  const trusted = new Set([opts.operator, ...(opts.operatorSigningKeys ?? [])]);
  if (!trusted.has(claims.iss)) {
    throw new BusAuthError(
      "wrong-issuer",
      `account JWT for ${claims.sub} is signed by ${claims.iss}, not the operator`,
    );
  }
  if (claims.sub !== opts.account || claims.nats?.type !== "account") {
    throw new BusAuthError(
      "wrong-issuer",
      `JWT names ${claims.sub} (${claims.nats?.type}), not account ${opts.account}`,
    );
  }
  const reply = await nc.request(CLAIMS_UPDATE_SUBJECT, opts.jwt, { timeout: opts.timeoutMs ?? 2_000 });
  let body: ClaimUpdateReply;
  try {
    body = reply.json<ClaimUpdateReply>();
  } catch (cause) {
    throw new BusAuthError("claims-update-refused", "nats-server's claims update reply is not JSON", {
      cause,
    });
  }
  if (body.error !== undefined || body.data?.code !== 200) {
    const why = body.error?.description ?? body.data?.message ?? "no reason given";
    throw new BusAuthError(
      "claims-update-refused",
      `nats-server refused the JWT for ${opts.account}: ${why}`,
    );
  }
}
