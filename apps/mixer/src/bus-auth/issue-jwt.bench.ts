// Cost of one Rack user JWT: ours (node:crypto Ed25519) against @nats-io/jwt with @nats-io/nkeys' pure-JS signing,
// and of the nonce signature a Rack adds to each connect.
// Run: pnpm exec vitest bench --run --project unit apps/mixer/src/bus-auth/issue-jwt.bench.ts
import { generateKeyPair, nonceAuthenticator, publicKeyToBase64url } from "@fluxrig/passport";
import * as natsJwt from "@nats-io/jwt";
import * as nkeys from "@nats-io/nkeys";
import { bench, describe } from "vitest";
import { issueUserJwt } from "./issue-jwt.js";
import { jwtSigner } from "./jwt-codec.js";
import { rackPermissions } from "./permissions.js";

const fleet = jwtSigner(generateKeyPair().privateKey, "account");
const signing = jwtSigner(generateKeyPair().privateKey, "account");
const rackKeys = Array.from({ length: 256 }, () => publicKeyToBase64url(generateKeyPair().publicKey));
const permissions = rackPermissions({ name: "rack-nyc-01", status: "pending" });
const nowSeconds = Math.floor(Date.now() / 1000);
let i = 0;

const oracleAccount = nkeys.createAccount();
const oracleSigning = nkeys.createAccount();
const oracleUsers = Array.from({ length: 16 }, () => nkeys.createUser());

describe("user JWT issue", () => {
  bench("node:crypto signing (ours)", () => {
    const publicKey = rackKeys[i++ % rackKeys.length] ?? "";
    issueUserJwt({
      signer: signing,
      account: fleet.nkey,
      publicKey,
      name: "rack-nyc-01",
      permissions,
      ttlSeconds: 86_400,
      nowSeconds,
    });
  });

  bench(
    "@nats-io/jwt encodeUser (pure-JS nkeys signing)",
    async () => {
      const user = oracleUsers[i++ % oracleUsers.length] ?? nkeys.createUser();
      await natsJwt.encodeUser(
        "rack-nyc-01",
        user,
        oracleAccount,
        { pub: permissions.pub, sub: permissions.sub },
        {
          signer: oracleSigning,
          exp: nowSeconds + 86_400,
        },
      );
    },
    { iterations: 20, time: 0 },
  );
});

describe("connect", () => {
  const rack = generateKeyPair();
  const authenticator = nonceAuthenticator({ privateKey: rack.privateKey, jwt: () => "jwt" });
  bench("nonce signature for CONNECT (node:crypto)", () => {
    authenticator("dH7gq0yq2Oq7hZkXw1sQyg");
  });
});
