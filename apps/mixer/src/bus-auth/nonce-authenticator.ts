// A nats.js authenticator that proves a user key by signing the server's nonce with node:crypto (no seed in memory
// as text, no pure-JS Ed25519), presenting a JWT that may change between reconnects. Racks need it too: it moves to a
// shared package when the Rack side is wired (docs/bus-auth.md).
import { type KeyObject, sign } from "node:crypto";
import type { Authenticator, JwtAuth } from "@nats-io/transport-node";
import { nkeyOf } from "./nkey.js";

/**
 * An `authenticator` for `connect()`: each (re)connect reads the current JWT, so a renewed credential is used at the
 * next connect without rebuilding the connection. The signature is base64url over the nonce's bytes, which
 * nats-server accepts (it tries raw URL base64, then standard).
 *
 * @example
 * await connect({ servers, authenticator: nonceAuthenticator({ privateKey: rack.privateKey, jwt: () => current }) });
 */
export function nonceAuthenticator(opts: { privateKey: KeyObject; jwt: () => string }): Authenticator {
  const nkey = nkeyOf(opts.privateKey, "user");
  return (nonce?: string): JwtAuth => {
    const sig =
      nonce === undefined ? undefined : sign(null, Buffer.from(nonce), opts.privateKey).toString("base64url");
    return { jwt: opts.jwt(), nkey, ...(sig === undefined ? {} : { sig }) };
  };
}
