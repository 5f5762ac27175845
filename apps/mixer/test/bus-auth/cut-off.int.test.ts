// The registry's cut-offs on a real nats-server in JWT mode: reject, revoke, replace and rm each close the live
// connection of the old key within 1 s of the operation (which resolves only once the server took the revocation
// list), refuse a reconnect with it, and leave another Rack connected and heartbeating.
import type { KeyObject } from "node:crypto";
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

/** A JWT bus, the Mixer's two links, and the lifecycle over a real registry with the credentials above. */
interface Bed extends AsyncDisposable {
  bus: JwtBus;
  h: LifecycleHarness;
  credentials: BusCredentials;
  /** Heartbeat subjects the Mixer's link heard, in order. */
  beats: string[];
  /** Replaces the system-account link the pushes use. */
  setSystemLink(nc: NatsConnection): void;
  /** Enrolls (adopted unless told), issues the credential its state earns, and connects with it. */
  connect(name: string, opts?: { privateKey?: KeyObject; adopt?: boolean }): Promise<LiveRack>;
  issueFor(rack: RackRecord): BusCredential | null;
}

async function openBed(opts: { systemLinkDown?: boolean; retryMs?: number } = {}): Promise<Bed> {
  const bus = await startJwtBus();
  const live: LiveRack[] = [];
  let h: LifecycleHarness | undefined;
  try {
    const mixer = await bus.connectMixer();
    const beats: string[] = [];
    mixer.subscribe(SUBJECTS.heartbeatAll, { callback: (_err, msg) => void beats.push(msg.subject) });
    await mixer.flush();
    let sys = await bus.connectSystem();
    if (opts.systemLinkDown) await sys.close();
    const credentials = testCredentials(
      bus,
      () => sys,
      () => h!.revocations,
    );
    h = await openLifecycleHarness({
      credentials,
      nc: mixer,
      clock: () => new Date(),
      ...(opts.retryMs ? { revocations: { retryMs: opts.retryMs, retryMaxMs: opts.retryMs * 4 } } : {}),
    });
    const harness = h;
    const issueFor = (rack: RackRecord) =>
      credentials.issue(
        { name: rack.name, status: rack.status, publicKey: rack.lifecycle.publicKey },
        new Date(),
      );
    return {
      bus,
      h: harness,
      credentials,
      beats,
      setSystemLink: (nc) => {
        sys = nc;
      },
      issueFor,
      async connect(name, { privateKey = generateKeyPair().privateKey, adopt = true } = {}) {
        const publicKey = publicKeyToBase64url(privateKey);
        const { rack } = await harness.lifecycle.enroll({
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
        const key = { name, privateKey, publicKey, nkey: userNkey(publicKey), jwt: credential.jwt };
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
      },
      async [Symbol.asyncDispose]() {
        for (const entry of live) if (!entry.nc.isClosed()) await entry.nc.close();
        await harness.close();
        if (!sys.isClosed()) await sys.close();
        await bus[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    await h?.close();
    await bus[Symbol.asyncDispose]();
    throw error;
  }
}

const userNkey = (publicKey: string) => encodePublicNkey("user", Buffer.from(publicKey, "base64url"));

/** Whether a connection with this key and credential is refused by the server now. */
async function refused(bus: JwtBus, key: TestRack): Promise<boolean> {
  const outcome = await bus.connectRack(key, { reconnect: false }).then(
    (nc) => nc.close().then(() => null),
    (error: unknown) => error,
  );
  return outcome instanceof AuthorizationError;
}

/** Publishes one heartbeat for `rack` and waits until the Mixer's link heard it. */
async function heard(bed: Bed, rack: LiveRack, what: string): Promise<void> {
  const beat = heartbeatSubject(rack.key.name);
  const from = bed.beats.length;
  rack.nc.publish(beat, "still here");
  await waitFor(() => bed.beats.indexOf(beat, from) >= 0, {
    message: `${what}: ${rack.key.name} still heartbeats`,
    timeoutMs: 5_000,
  });
}

const by = { cause: "operator", actor: "test" };

describe("cut-off on a real bus", () => {
  test("reject, revoke, replace and rm each cut the old key's live connection within 1 s; another Rack stays", async () => {
    await using bed = await openBed();
    const { bus, h } = bed;
    const keeper = await bed.connect("rack-keep");
    const rejected = await bed.connect("rack-reject", { adopt: false });
    const revoked = await bed.connect("rack-revoke");
    const replaced = await bed.connect("rack-replace");
    const removed = await bed.connect("rack-rm");
    const claimant = generateKeyPair().privateKey;

    const cutOffs: Array<[string, LiveRack, (l: RackStatusChanges) => Promise<unknown>]> = [
      ["reject", rejected, (l) => l.setStatus(rejected.rack, "rejected", by)],
      ["revoke", revoked, (l) => l.setStatus(revoked.rack, "revoked", by)],
      [
        "replace",
        replaced,
        (l) =>
          l.replace(replaced.rack, {
            publicKey: publicKeyToBase64url(claimant),
            source: null,
            keepMachineId: true,
            why: by,
          }),
      ],
      ["rm", removed, (l) => l.remove(removed.rack, by)],
    ];
    const figures: string[] = [];
    for (const [what, target, run] of cutOffs) {
      const started = performance.now();
      await run(h.lifecycle);
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
      expect(await refused(bus, target.key), `${what}: reconnect with the old key`).toBe(true);
      expect(keeper.nc.isClosed(), `${what}: the other Rack`).toBe(false);
      await heard(bed, keeper, what);
    }
    console.info(`cut-off: ${figures.join("; ")}`);
    expect(h.revocations.size).toBe(4);
    expect(h.counters.get("bus.revocation_pushed")).toBe(4);
    expect(h.counters.get("bus.revocation_push_failed")).toBe(0);

    // The replacing key is not revoked: adopted, it connects with its own credential.
    const { rack: adopted } = await h.lifecycle.activate(h.directory.rackByName("rack-replace")!, {
      ...by,
      cause: "replaced",
      kind: "issued",
    });
    const publicKey = adopted.lifecycle.publicKey;
    const jwt = bed.issueFor(adopted)!.jwt;
    const replacement = {
      name: "rack-replace",
      privateKey: claimant,
      publicKey,
      nkey: userNkey(publicKey),
      jwt,
    };
    expect(await refused(bus, replacement)).toBe(false);

    // The removed key enrolling again is a new Rack: its old revocation keeps its row but voids only what came
    // before it, so the new credential (issued after the revocation second) connects.
    const back = await bed.connect("rack-rm-again", { privateKey: removed.key.privateKey });
    await heard(bed, back, "enrolled again");
    expect(h.revocations.revokedSecond(removed.key.publicKey)).toBeDefined();
  });

  test("revoke under load: concurrent cut-offs all close within 1 s while every other Rack keeps heartbeating", async () => {
    await using bed = await openBed();
    const { h } = bed;
    const fleet: LiveRack[] = [];
    for (let i = 0; i < 40; i++) fleet.push(await bed.connect(`rack-${String(i).padStart(2, "0")}`));
    // Every Rack heartbeats ten times a second throughout.
    const timers = fleet.map((r) =>
      setInterval(() => {
        if (!r.nc.isClosed()) r.nc.publish(heartbeatSubject(r.key.name), "beat");
      }, 100),
    );
    try {
      const [doomed, kept] = [fleet.slice(0, 8), fleet.slice(8)];
      const started = performance.now();
      await Promise.all(doomed.map((r) => h.lifecycle.setStatus(r.rack, "revoked", by)));
      const resolved = performance.now();
      await waitFor(() => doomed.every((r) => r.closedAt > 0), {
        message: "every revoked Rack's connection closed",
        timeoutMs: CUT_OFF_MS,
      });
      const slowest = Math.max(...doomed.map((r) => r.closedAt - started));
      console.info(
        `cut-off under load: 8 revokes of 40 heartbeating Racks resolved in ${(resolved - started).toFixed(1)} ms, ` +
          `all closed within ${slowest.toFixed(1)} ms, ${h.counters.get("bus.revocation_pushed")} pushes`,
      );
      expect(slowest).toBeLessThan(CUT_OFF_MS);
      // Concurrent cut-offs share pushes: fewer pushes than revocations.
      expect(h.counters.get("bus.revocation_pushed")).toBeLessThan(doomed.length);
      expect(kept.filter((r) => r.nc.isClosed()).map((r) => r.key.name)).toEqual([]);
      for (const r of kept) await heard(bed, r, "after the revocations");
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  });

  test("a revocation push that fails is retried until the bus has it; the operation succeeds meanwhile", async () => {
    // The system-account link is down at first: every push fails until it is back.
    await using bed = await openBed({ systemLinkDown: true, retryMs: 50 });
    const { h } = bed;
    const target = await bed.connect("rack-1");

    const revoked = await h.lifecycle.setStatus(target.rack, "revoked", by);
    expect(revoked.status).toBe("revoked");
    expect(h.counters.get("bus.revocation_push_failed")).toBeGreaterThanOrEqual(1);
    expect(h.revocations.revokedSecond(target.key.publicKey)).toBeDefined();
    // Not cut off yet: the bus does not have the list.
    await target.nc.flush();
    expect(target.closedAt).toBe(0);

    const back = performance.now();
    bed.setSystemLink(await bed.bus.connectSystem());
    await waitFor(() => target.closedAt > 0, {
      message: "the retried push cut the revoked key off",
      timeoutMs: 5_000,
    });
    console.info(
      `cut-off: retried push closed the connection ${(target.closedAt - back).toFixed(1)} ms after the link was back`,
    );
    // The server may close the connection before its answer to the push arrives: the push counts once it has.
    await waitFor(() => h.counters.get("bus.revocation_pushed") === 1, {
      message: "the retried push was accepted",
      timeoutMs: 5_000,
    });
  });
});
