import { generateKeyPair, nkeyOf, publicKeyToBase64url } from "@fluxrig/passport";
import * as natsJwt from "@nats-io/jwt";
import { describe, expect, it } from "vitest";
import type { AccountNats, OperatorNats, UserNats, UserPermissions } from "./claims.js";
import { BusAuthError } from "./errors.js";
import { issueAccountJwt, issueOperatorJwt, issueUserJwt } from "./issue-jwt.js";
import { decodeJwt, jwtSigner } from "./jwt-codec.js";

const now = 1_790_000_000;
const operator = jwtSigner(generateKeyPair().privateKey, "operator");
const system = jwtSigner(generateKeyPair().privateKey, "account");
const fleet = jwtSigner(generateKeyPair().privateKey, "account");
const fleetSigning = jwtSigner(generateKeyPair().privateKey, "account");
const permissions: UserPermissions = {
  pub: { allow: ["fluxrig.agent.hello", "fluxrig.event.heartbeat.rack-1"], deny: [] },
  sub: { allow: ["_INBOX.rack-1.>", "fluxrig.rack.rack-1.passport"], deny: [] },
};

describe("JWTs, validated by @nats-io/jwt", () => {
  it("issues a self-signed operator JWT naming the system account", async () => {
    const jwt = issueOperatorJwt({ operator, name: "fluxrig", systemAccount: system.nkey, nowSeconds: now });
    const claims = await natsJwt.decode<OperatorNats>(jwt);
    expect(natsJwt.isOperator(claims)).toBe(true);
    expect(claims).toMatchObject({ iss: operator.nkey, sub: operator.nkey, iat: now, name: "fluxrig" });
    expect(claims.nats).toMatchObject({ system_account: system.nkey, version: 2 });
    expect(jwt.split(".")[0]).toBe(Buffer.from('{"typ":"JWT","alg":"ed25519-nkey"}').toString("base64url"));
  });

  it("issues account JWTs with signing keys, revocations and JetStream only where asked", async () => {
    const revoked = nkeyOf(generateKeyPair().publicKey, "user");
    const jwt = issueAccountJwt({
      operator,
      account: fleet.nkey,
      name: "fleet",
      jetstream: true,
      signingKeys: [fleetSigning.nkey],
      revocations: { [revoked]: now },
      nowSeconds: now,
    });
    const claims = await natsJwt.decode<AccountNats>(jwt);
    expect(natsJwt.isAccount(claims)).toBe(true);
    expect(claims.iss).toBe(operator.nkey);
    expect(claims.nats.signing_keys).toEqual([fleetSigning.nkey]);
    expect(claims.nats.revocations).toEqual({ [revoked]: now });
    expect(claims.nats.limits).toMatchObject({ conn: -1, subs: -1, disk_storage: -1, mem_storage: -1 });
    const sys = decodeJwt<AccountNats>(
      issueAccountJwt({ operator, account: system.nkey, name: "SYS", jetstream: false, nowSeconds: now }),
    );
    expect(sys.nats.limits).toMatchObject({ disk_storage: 0, mem_storage: 0, conn: -1 });
  });

  it("issues a user JWT for a Rack's raw key, signed by the account signing key", async () => {
    const rack = generateKeyPair();
    const issued = issueUserJwt({
      signer: fleetSigning,
      account: fleet.nkey,
      publicKey: publicKeyToBase64url(rack.publicKey),
      name: "rack-1",
      permissions,
      ttlSeconds: 3600,
      nowSeconds: now,
    });
    const claims = await natsJwt.decode<UserNats>(issued.jwt);
    expect(natsJwt.isUser(claims)).toBe(true);
    expect(natsJwt.issuer(claims)).toBe(fleet.nkey);
    expect(claims).toMatchObject({
      sub: nkeyOf(rack.publicKey, "user"),
      iss: fleetSigning.nkey,
      exp: now + 3600,
    });
    expect(claims.nats).toMatchObject({ ...permissions, bearer_token: false, issuer_account: fleet.nkey });
    expect(issued).toMatchObject({ user: claims.sub, issuedAt: now, expiresAt: now + 3600 });
    expect(decodeJwt(issued.jwt)).toEqual(claims);
  });

  it("gives each distinct JWT its own jti, the hash of its claims", () => {
    const one = decodeJwt(
      issueOperatorJwt({ operator, name: "a", systemAccount: system.nkey, nowSeconds: now }),
    );
    const same = decodeJwt(
      issueOperatorJwt({ operator, name: "a", systemAccount: system.nkey, nowSeconds: now }),
    );
    const later = decodeJwt(
      issueOperatorJwt({ operator, name: "a", systemAccount: system.nkey, nowSeconds: now + 1 }),
    );
    expect(one.jti).toMatch(/^[A-Z2-7]{52}$/);
    expect(same.jti).toBe(one.jti);
    expect(later.jti).not.toBe(one.jti);
  });

  it("refuses a JWT whose claims were changed after signing, and an empty allow list", () => {
    const jwt = issueOperatorJwt({ operator, name: "fluxrig", systemAccount: system.nkey, nowSeconds: now });
    const [h, p, s] = jwt.split(".");
    const body = JSON.parse(Buffer.from(p ?? "", "base64url").toString()) as { name: string };
    body.name = "other";
    const forged = `${h}.${Buffer.from(JSON.stringify(body)).toString("base64url")}.${s}`;
    expect(() => decodeJwt(forged)).toThrow(BusAuthError);
    expect(() => decodeJwt("a.b")).toThrow(BusAuthError);
    const open: UserPermissions = { pub: { allow: [], deny: [] }, sub: permissions.sub };
    expect(() =>
      issueUserJwt({
        signer: fleetSigning,
        account: fleet.nkey,
        publicKey: publicKeyToBase64url(generateKeyPair().publicKey),
        name: "x",
        permissions: open,
        ttlSeconds: 60,
        nowSeconds: now,
      }),
    ).toThrow(BusAuthError);
  });
});
