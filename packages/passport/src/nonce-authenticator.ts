// Proving a NATS user key at connect: sign the server's nonce with node:crypto (no seed held as text, no pure-JS
// Ed25519) and present a JWT that may change between reconnects. Shared by the Mixer's users and every Rack.
import { type KeyObject, sign } from "node:crypto";
import { nkeyOf } from "./nkey.js";

/** What nats.js `connect({ authenticator })` expects back (its `JwtAuth`), without depending on nats.js here. */
export interface NonceAuth {
  jwt: string;
  nkey: string;
  sig?: string;
}

/**
 * An `authenticator` for nats.js `connect()`: each (re)connect reads the current JWT, so a renewed credential is used
 * at the next connect without rebuilding the connection. The signature is base64url over the nonce's bytes, which
 * nats-server accepts (it tries raw URL base64, then standard).
 *
 * @example
 * await connect({ servers, authenticator: nonceAuthenticator({ privateKey: rack.privateKey, jwt: () => current }) });
 */
export function nonceAuthenticator(opts: {
  privateKey: KeyObject;
  jwt: () => string;
}): (nonce?: string) => NonceAuth {
  const nkey = nkeyOf(opts.privateKey, "user");
  return (nonce?: string): NonceAuth => {
    const sig =
      nonce === undefined ? undefined : sign(null, Buffer.from(nonce), opts.privateKey).toString("base64url");
    return { jwt: opts.jwt(), nkey, ...(sig === undefined ? {} : { sig }) };
  };
}
