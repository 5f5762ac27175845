// The registry's cut-offs on a real nats-server in JWT mode: reject, revoke, replace and rm each close the live
// connection of the old key within 1 s of the operation (which resolves only once the server took the revocation
// list), refuse a reconnect with it, and leave another Rack connected and heartbeating.
import { performance } from "node:perf_hooks";
import { encodePublicNkey, generateKeyPair, publicKeyToBase64url } from "@fluxrig/passport";
import { attachLogsOnFailure, waitFor } from "@fluxrig/testkit";
import { type BusCredential, heartbeatSubject, SUBJECTS } from "@fluxrig/wire";
import { AuthorizationError, type NatsConnection } from "@nats-io/transport-node";
import { beforeEach, describe, expect, test } from "vitest";
import type { BusCredentials, CredentialSubject } from "../../src/bus-auth/bus-credentials.js";
import { pushAccountJwt } from "../../src/bus-auth/claims-push.js";
import { issueUserJwt } from "../../src/bus-auth/issue-jwt.js";
import { rackPermissions } from "../../src/bus-auth/permissions.js";
import { fleetAccountJwt } from "../../src/bus-auth/trust-chain.js";
import type { RackStatusChanges } from "../../src/fleet/rack-status-changes.js";
import type { RackRecord } from "../../src/registry/registry-records.js";
import { type RevocationList, unixSeconds } from "../../src/registry/revocation-list.js";
import { type LifecycleHarness, openLifecycleHarness } from "../support/lifecycle-test-harness.js";
import { type JwtBus, nowSeconds, startJwtBus, type TestRack } from "./jwt-bus.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

// SPEC §11 / issue 14: a revoked key is off the bus within a second.
const CUT_OFF_MS = 1_000;
const TTL_SECONDS = 3_600;

/**
 * A small real BusCredentials over the bus-auth functions: user JWTs from the Rack's state, issued after the key's
 * revocation second (so a key enrolled again after `rm` is not void), and the fleet account JWT with the registry's
 * revocation list pushed through the system account. The production one (jwt mode) is built in createMixer.
 */
function testCredentials(bus: JwtBus, sys: () => NatsConnection, list: () => RevocationList): BusCredentials {
  return {
    mode: "jwt",
    issue(rack: CredentialSubject, now: Date): BusCredential | null {
      const permissions = rackPermissions(rack);
      if (permissions === null) return null;
      const revoked = list().revokedSecond(rack.publicKey);
      const issued = issueUserJwt({
        signer: bus.keys.fleetSigning,
        account: bus.keys.fleet.nkey,
        publicKey: rack.publicKey,
        name: rack.name,
        permissions,
        ttlSeconds: TTL_SECONDS,
        nowSeconds: Math.max(unixSeconds(now), revoked === undefined ? 0 : revoked + 1),
      });
      return { jwt: issued.jwt, expires_at: new Date(issued.expiresAt * 1000).toISOString() };
    },
    async pushRevocations(): Promise<void> {
      const revocations = Object.fromEntries(
        [...list().entries()].map(([key, second]) => [
          encodePublicNkey("user", Buffer.from(key, "base64url")),
          second,
        ]),
      );
      // Pushes within one second carry the same iat: nats-server 2.10.27 takes each (it refuses only older ones).
      const jwt = fleetAccountJwt(bus.keys, { revocations, nowSeconds: nowSeconds() });
      await pushAccountJwt(sys(), { jwt, account: bus.keys.fleet.nkey, operator: bus.keys.operator.nkey });
    },
    close: async () => {},
  };
}

interface LiveRack {
  rack: RackRecord;
  key: TestRack;
  nc: NatsConnection;
  /** performance.now() when its connection closed, 0 while open. */
  closedAt: number;
}

describe("cut-off on a real bus", () => {
  test("reject, revoke, replace and rm each cut the old key's live connection within 1 s; another Rack stays", async () => {
    await using bus = await startJwtBus();
    const sys = await bus.connectSystem();
    const mixer = await bus.connectMixer();
    const beats: string[] = [];
    mixer.subscribe(SUBJECTS.heartbeatAll, { callback: (_err, msg) => void beats.push(msg.subject) });
    await mixer.flush();
    let h: LifecycleHarness | undefined;
    const live: LiveRack[] = [];
    try {
      h = await openLifecycleHarness({
        credentials: testCredentials(
          bus,
          () => sys,
          () => h!.revocations,
        ),
        nc: mixer,
        clock: () => new Date(),
      });
      const { lifecycle } = h;

      /** Enrolls (adopted unless `pending`), takes the credential the registry state earns, connects with it. */
      const connect = async (name: string, privateKey = generateKeyPair().privateKey, adopt = true) => {
        const publicKey = publicKeyToBase64url(privateKey);
        const { rack } = await lifecycle.enroll({
          name,
          publicKey,
          version: "1.0.0",
          attributes: {},
          source: null,
          machineIdRange: { min: 1, max: 65_535 },
          ...(adopt ? { adopt: { cause: "operator", actor: "test" } } : {}),
        });
        const credential = issueFor(rack);
        if (credential === null) throw new Error(`${name} (${rack.status}) earned no credential`);
        const key = {
          name,
          privateKey,
          publicKey,
          nkey: encodePublicNkey("user", Buffer.from(publicKey, "base64url")),
          jwt: credential.jwt,
        };
        const entry: LiveRack = {
          rack,
          key,
          nc: await bus.connectRack(key, { reconnect: false }),
          closedAt: 0,
        };
        void entry.nc.closed().then(() => {
          entry.closedAt = performance.now();
        });
        live.push(entry);
        return entry;
      };
      const credentials = testCredentials(
        bus,
        () => sys,
        () => h!.revocations,
      );
      const issueFor = (rack: RackRecord) =>
        credentials.issue(
          { name: rack.name, status: rack.status, publicKey: rack.lifecycle.publicKey },
          new Date(),
        );

      const keeper = await connect("rack-keep");
      const rejected = await connect("rack-reject", undefined, false);
      const revoked = await connect("rack-revoke");
      const replaced = await connect("rack-replace");
      const removed = await connect("rack-rm");
      const claimant = generateKeyPair().privateKey;

      const cutOffs: Array<[string, LiveRack, (l: RackStatusChanges) => Promise<unknown>]> = [
        [
          "reject",
          rejected,
          (l) => l.setStatus(rejected.rack, "rejected", { cause: "operator", actor: "test" }),
        ],
        [
          "revoke",
          revoked,
          (l) => l.setStatus(revoked.rack, "revoked", { cause: "operator", actor: "test" }),
        ],
        [
          "replace",
          replaced,
          (l) =>
            l.replace(replaced.rack, {
              publicKey: publicKeyToBase64url(claimant),
              source: null,
              keepMachineId: true,
              why: { cause: "operator", actor: "test" },
            }),
        ],
        ["rm", removed, (l) => l.remove(removed.rack, { cause: "operator", actor: "test" })],
      ];
      const figures: string[] = [];
      for (const [what, target, run] of cutOffs) {
        const started = performance.now();
        await run(lifecycle);
        const resolved = performance.now();
        await waitFor(() => target.closedAt > 0, {
          message: `${what}: the old key's connection closed`,
          timeoutMs: CUT_OFF_MS,
        });
        const closedMs = target.closedAt - started;
        figures.push(
          `${what}: operation resolved in ${(resolved - started).toFixed(1)} ms, connection closed ` +
            `${closedMs.toFixed(1)} ms after it started`,
        );
        expect(closedMs, what).toBeLessThan(CUT_OFF_MS);
        // The old key is refused from now on.
        const again = await bus.connectRack(target.key, { reconnect: false }).then(
          (nc) => nc.close().then(() => null),
          (error: unknown) => error,
        );
        expect(again, `${what}: reconnect with the old key`).toBeInstanceOf(AuthorizationError);
        // The bystander is untouched and still heard.
        expect(keeper.nc.isClosed(), `${what}: the other Rack`).toBe(false);
        const beat = heartbeatSubject("rack-keep");
        beats.length = 0;
        keeper.nc.publish(beat, "still here");
        await waitFor(() => beats.includes(beat), {
          message: `${what}: the other Rack still heartbeats`,
          timeoutMs: 5_000,
        });
      }
      console.info(`cut-off: ${figures.join("; ")}`);
      expect(h.revocations.size).toBe(4);
      expect(h.counters.get("bus.revocation_pushed")).toBe(4);
      expect(h.counters.get("bus.revocation_push_failed")).toBe(0);

      // The replacing key is not revoked: adopted, it connects with its own credential.
      const { rack: adopted } = await lifecycle.activate(h.directory.rackByName("rack-replace")!, {
        cause: "replaced",
        actor: "test",
        kind: "issued",
      });
      const replacement = await bus.connectRack(
        {
          name: "rack-replace",
          privateKey: claimant,
          publicKey: adopted.lifecycle.publicKey,
          nkey: encodePublicNkey("user", Buffer.from(adopted.lifecycle.publicKey, "base64url")),
          jwt: issueFor(adopted)!.jwt,
        },
        { reconnect: false },
      );
      await replacement.flush();
      await replacement.close();

      // The removed key enrolling again is a new Rack: its old revocation keeps its row but voids only what came
      // before it, so the new credential (issued after the revocation second) connects.
      const back = await connect("rack-rm-again", removed.key.privateKey);
      await back.nc.flush();
      expect(back.nc.isClosed()).toBe(false);
      expect(h.revocations.revokedSecond(removed.key.publicKey)).toBeDefined();
    } finally {
      for (const entry of live) if (!entry.nc.isClosed()) await entry.nc.close();
      await h?.close();
    }
  });

  test("a revocation push that fails is retried until the bus has it; the operation succeeds meanwhile", async () => {
    await using bus = await startJwtBus();
    const mixer = await bus.connectMixer();
    // The system-account link is down at first: every push fails until it is back.
    let sys = await bus.connectSystem();
    await sys.close();
    let h: LifecycleHarness | undefined;
    let nc: NatsConnection | undefined;
    try {
      const credentials = testCredentials(
        bus,
        () => sys,
        () => h!.revocations,
      );
      h = await openLifecycleHarness({
        credentials,
        nc: mixer,
        clock: () => new Date(),
        revocations: { retryMs: 50, retryMaxMs: 200 },
      });
      const privateKey = generateKeyPair().privateKey;
      const publicKey = publicKeyToBase64url(privateKey);
      const { rack } = await h.lifecycle.enroll({
        name: "rack-1",
        publicKey,
        version: "1.0.0",
        attributes: {},
        source: null,
        machineIdRange: { min: 1, max: 65_535 },
        adopt: { cause: "operator", actor: "test" },
      });
      const jwt = credentials.issue({ name: rack.name, status: rack.status, publicKey }, new Date())!.jwt;
      nc = await bus.connectRack(
        {
          name: "rack-1",
          privateKey,
          publicKey,
          nkey: encodePublicNkey("user", Buffer.from(publicKey, "base64url")),
          jwt,
        },
        { reconnect: false },
      );
      let closedAt = 0;
      void nc.closed().then(() => {
        closedAt = performance.now();
      });

      const revoked = await h.lifecycle.setStatus(rack, "revoked", { cause: "operator", actor: "test" });
      expect(revoked.status).toBe("revoked");
      expect(h.counters.get("bus.revocation_push_failed")).toBeGreaterThanOrEqual(1);
      expect(h.revocations.revokedSecond(publicKey)).toBeDefined();
      // Not cut off yet: the bus does not have the list.
      await nc.flush();
      expect(closedAt).toBe(0);

      const back = performance.now();
      sys = await bus.connectSystem();
      await waitFor(() => closedAt > 0, {
        message: "the retried push cut the revoked key off",
        timeoutMs: 5_000,
      });
      console.info(
        `cut-off: retried push closed the connection ${(closedAt - back).toFixed(1)} ms after the link was back`,
      );
      expect(h.counters.get("bus.revocation_pushed")).toBe(1);
    } finally {
      if (nc && !nc.isClosed()) await nc.close();
      await h?.close();
      if (!sys.isClosed()) await sys.close();
    }
  });
});
