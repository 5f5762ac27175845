// JwtBusCredentials against a real nats-server in JWT mode: Rack JWTs that connect, the cache, revocations pushed
// (live connection cut within 1 s, fleet-account.jwt written), never a JWT the revocation would void, coalesced pushes.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { generateKeyPair, nkeyOf, publicKeyToBase64url } from "@fluxrig/passport";
import { attachLogsOnFailure, waitFor } from "@fluxrig/testkit";
import { heartbeatSubject, INBOX_PREFIXES, SUBJECTS } from "@fluxrig/wire";
import { AuthorizationError } from "@nats-io/transport-node";
import { pino } from "pino";
import { beforeEach, describe, expect, test } from "vitest";
import { FLEET_ACCOUNT_JWT_FILE, JwtBusCredentials } from "../../src/bus-auth/bus-credentials-jwt.js";
import type { AccountNats } from "../../src/bus-auth/claims.js";
import { decodeJwt } from "../../src/bus-auth/jwt-codec.js";
import { MixerBusUsers } from "../../src/bus-auth/mixer-bus-users.js";
import { Counters } from "../../src/runtime/counters.js";
import { type JwtBus, nowSeconds, startJwtBus } from "./jwt-bus.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

const CUT_OFF_MS = 1_000;

async function credentialsOn(bus: JwtBus) {
  const revoked = new Map<string, number>();
  const counters = new Counters();
  const credentials = new JwtBusCredentials({
    keys: bus.keys,
    system: await bus.connectSystem(),
    revocations: () => revoked,
    rackTtlSeconds: 86_400,
    pendingTtlSeconds: 3_600,
    logger: pino({ level: "silent" }),
    counters,
  });
  await credentials.start();
  return { credentials, revoked, counters };
}

function newRack(name: string) {
  const { privateKey } = generateKeyPair();
  return { name, privateKey, publicKey: publicKeyToBase64url(privateKey) };
}

describe("JwtBusCredentials", () => {
  test("pushRevocations cuts a revoked key's live connection within 1 s and writes fleet-account.jwt; other Racks stay", async () => {
    await using bus = await startJwtBus();
    const { credentials, revoked } = await credentialsOn(bus);
    const mixer = await bus.connectMixer();
    const beats: string[] = [];
    mixer.subscribe(SUBJECTS.heartbeatAll, { callback: (_e, msg) => void beats.push(msg.subject) });
    await mixer.flush();
    const now = new Date();
    const old = newRack("rack-1");
    const other = newRack("rack-2");
    const connect = (r: typeof old) => {
      const credential = credentials.issue({ ...r, status: "pending" }, now);
      if (credential === null) throw new Error("no credential for a pending Rack");
      return bus.connectRack({ ...r, nkey: "", jwt: credential.jwt }, { reconnect: false });
    };
    const oldNc = await connect(old);
    const otherNc = await connect(other);
    let cutAt = 0;
    void oldNc.closed().then(() => {
      cutAt = performance.now();
    });

    const revokedAt = nowSeconds();
    revoked.set(old.publicKey, revokedAt);
    const pushedAt = performance.now();
    await credentials.pushRevocations();
    await waitFor(() => cutAt > 0, {
      message: "the revoked Rack's connection closed",
      timeoutMs: CUT_OFF_MS,
    });
    console.info(
      `bus-auth: revoked connection closed ${(cutAt - pushedAt).toFixed(1)} ms after pushRevocations`,
    );
    expect(cutAt - pushedAt).toBeLessThan(CUT_OFF_MS);

    const file = join(bus.keys.dir, FLEET_ACCOUNT_JWT_FILE);
    const written = decodeJwt<AccountNats>((await readFile(file, "utf8")).trim());
    expect(written.sub).toBe(bus.keys.fleet.nkey);
    expect(written.nats.revocations).toEqual({ [nkeyOf(old.privateKey, "user")]: revokedAt });
    expect((await stat(file)).mode & 0o777).toBe(0o644);

    expect(otherNc.isClosed()).toBe(false);
    otherNc.publish(heartbeatSubject("rack-2"), "still here");
    await waitFor(() => beats.includes(heartbeatSubject("rack-2")), {
      message: "the other Rack still heartbeats",
      timeoutMs: 5_000,
    });
  });

  test("a key revoked this second (rm, then enrolled again) gets a JWT dated after it, which connects; one inside it does not", async () => {
    await using bus = await startJwtBus();
    const { credentials, revoked } = await credentialsOn(bus);
    const rack = newRack("rack-1");
    const revokedAt = nowSeconds() + 2; // a revocation second that has not passed yet: now is inside it
    revoked.set(rack.publicKey, revokedAt);
    await credentials.pushRevocations();

    const credential = credentials.issue({ ...rack, status: "pending" }, new Date());
    const iat = decodeJwt(credential!.jwt).iat;
    expect(iat).toBe(revokedAt + 1);
    const nc = await bus.connectRack({ ...rack, nkey: "", jwt: credential!.jwt }, { reconnect: false });
    await nc.flush();

    const inside = bus.rack(
      { name: "rack-1", status: "pending" },
      { privateKey: rack.privateKey, issuedAt: revokedAt },
    );
    const err = await bus.connectRack(inside, { reconnect: false }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthorizationError);
  });

  test("the cache: the same grant hands back the same JWT in its first third; a new grant, a later third or a revocation issues anew", async () => {
    await using bus = await startJwtBus();
    const { credentials, revoked, counters } = await credentialsOn(bus);
    const rack = newRack("rack-1");
    const t0 = new Date("2026-12-06T12:00:00Z");
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    const pending = credentials.issue({ ...rack, status: "pending" }, t0)!;
    expect(credentials.issue({ ...rack, status: "pending" }, at(1_199))).toBe(pending);
    const later = credentials.issue({ ...rack, status: "pending" }, at(1_200))!;
    expect(later.jwt).not.toBe(pending.jwt);
    const active = credentials.issue({ ...rack, status: "active" }, at(1_201))!;
    expect(decodeJwt<{ pub: unknown }>(active.jwt).exp! - decodeJwt(active.jwt).iat).toBe(86_400);
    expect(credentials.issue({ ...rack, status: "active" }, at(1_202))).toBe(active);
    revoked.set(rack.publicKey, t0.getTime() / 1000 + 1_202);
    const afterRevoke = credentials.issue({ ...rack, status: "active" }, at(1_203))!;
    expect(afterRevoke.jwt).not.toBe(active.jwt);
    expect(credentials.issue({ ...rack, status: "revoked" }, at(1_204))).toBeNull();
    expect(counters.snapshot()).toMatchObject({ "bus.credentials.issued": 4, "bus.credentials.cached": 2 });
  });

  test("a burst of revocations (bulk revoke of 500) costs a few pushes, and each caller's revocation is in force when its push resolves", async () => {
    await using bus = await startJwtBus();
    const { credentials, revoked, counters } = await credentialsOn(bus);
    const before = counters.snapshot()["bus.revocations.pushed"] ?? 0;
    const racks = Array.from({ length: 500 }, (_, i) => newRack(`rack-${i}`));
    const now = nowSeconds();
    await Promise.all(
      racks.map((r) => {
        revoked.set(r.publicKey, now);
        return credentials.pushRevocations();
      }),
    );
    const pushes = (counters.snapshot()["bus.revocations.pushed"] ?? 0) - before;
    console.info(`bus-auth: 500 revocations took ${pushes} pushes`);
    expect(pushes).toBeGreaterThanOrEqual(1);
    expect(pushes).toBeLessThanOrEqual(2);
    const written = decodeJwt<AccountNats>(
      (await readFile(join(bus.keys.dir, FLEET_ACCOUNT_JWT_FILE), "utf8")).trim(),
    );
    expect(Object.keys(written.nats.revocations ?? {})).toHaveLength(500);
  });
});

describe("the Mixer's own users", () => {
  test("nats-server cuts a connection when its JWT expires; the renewed JWT gets it back at once", async () => {
    await using bus = await startJwtBus();
    // 3 s JWTs renewed at 2 s: the server closes the first connection at its JWT's expiry, the reconnect presents
    // the renewed one.
    const users = new MixerBusUsers(bus.keys, { logger: pino({ level: "silent" }), ttlSeconds: 3 });
    try {
      const nc = await bus.nats.connect({
        authenticator: users.fleetAuthenticator(),
        inboxPrefix: INBOX_PREFIXES.mixer,
        reconnectTimeWait: 50,
      });
      const events: string[] = [];
      void (async () => {
        for await (const s of nc.status()) events.push(s.type);
      })();
      const firstExpiry = users.expiresAt;
      await waitFor(() => users.expiresAt > firstExpiry, { message: "the JWTs renewed", timeoutMs: 5_000 });
      await waitFor(() => events.includes("reconnect"), {
        message: "disconnected at expiry and reconnected",
        timeoutMs: 6_000,
      });
      expect(events).toContain("disconnect");
      const probe = `${INBOX_PREFIXES.mixer}.probe`;
      const got: string[] = [];
      nc.subscribe(probe, { callback: (_e, msg) => void got.push(msg.string()) });
      nc.publish(probe, "after renewal");
      await waitFor(() => got.includes("after renewal"), {
        message: "the renewed connection works",
        timeoutMs: 5_000,
      });
    } finally {
      users.close();
    }
  });
});
