// Cluster mode in the product's bus auth: a 3-node nats-server 2.10 cluster in JWT mode with the Mixer's generated
// resolver config (one resolver dir per node), the registry's R3 buckets opened and written by the Mixer's own fleet
// user, and a Rack that can reach neither the JetStream API nor any KV subject.
import { join } from "node:path";
import { generateKeyPair, nonceAuthenticator, publicKeyToBase64url } from "@fluxrig/passport";
import { attachLogsOnFailure, startNatsCluster, tempDir, waitFor } from "@fluxrig/testkit";
import { INBOX_PREFIXES, rackInboxPrefix } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import { beforeEach, describe, expect, test } from "vitest";
import { issueUserJwt } from "../../src/bus-auth/issue-jwt.js";
import { loadBusKeys } from "../../src/bus-auth/key-store.js";
import { rackPermissions } from "../../src/bus-auth/permissions.js";
import { natsResolverConfig } from "../../src/bus-auth/resolver-config.js";
import { mixerFleetUser } from "../../src/bus-auth/service-users.js";
import {
  fleetAccountJwt,
  operatorJwt,
  systemAccountJwt,
  TRUST_NAMES,
} from "../../src/bus-auth/trust-chain.js";
import { KvRefusedError } from "../../src/kv/kv-errors.js";
import { openRegistryBuckets, REGISTRY_BUCKETS } from "../../src/kv/registry-buckets.js";
import { violations } from "./jwt-bus.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe("registry KV on a JWT-mode 3-node cluster", () => {
  test("the Mixer's fleet user opens R3 buckets and writes; a Rack has no JetStream or KV access", async () => {
    await using dir = tempDir("kv-jwt");
    const keys = await loadBusKeys(dir.path);
    const now = nowSeconds();
    const preload = {
      [keys.system.nkey]: systemAccountJwt(keys, now),
      [keys.fleet.nkey]: fleetAccountJwt(keys, { revocations: {}, nowSeconds: now }),
    };
    await using cluster = await startNatsCluster({
      nodes: 3,
      // Each member keeps its own resolver store, as each host would.
      extraConfig: (node) =>
        natsResolverConfig({
          operatorJwt: operatorJwt(keys, now),
          systemAccount: keys.system.nkey,
          preload,
          resolverDir: join(dir.path, `jwt-${node}`),
        }),
    });

    const mixer = mixerFleetUser(keys, { nowSeconds: now, ttlSeconds: 3600 });
    const nc = await cluster.connect({
      name: "mixer",
      authenticator: nonceAuthenticator({ privateKey: mixer.privateKey, jwt: () => mixer.jwt }),
      inboxPrefix: INBOX_PREFIXES.mixer,
    });
    const kv = await openRegistryBuckets(nc, { replicas: 3, writerId: "mixer-jwt" });
    const won = await kv.claims.create("machine.42", { entity_id: "0x1" });
    expect((await kv.claims.get("machine.42"))?.nonce).toBe(won.nonce);
    await kv.racks.create("0x1", { name: "press-1", status: "pending" });

    // The bucket lives on all three members, in the fleet account, with the write on each.
    const states = await waitFor(
      async () => {
        const s = await cluster.streamStates(kv.claims.streamName);
        return s.length === 3 && s.every((x) => x.messages === 1 && x.lastSeq === 1) && s;
      },
      { timeoutMs: 15_000, message: "the claims bucket on three members" },
    );
    expect(states.map((s) => s.node)).toEqual([0, 1, 2]);
    // /jsz names the account by its JWT's name.
    const jsz = await cluster.monitor<{ account_details?: Array<{ name: string }> }>(0, "jsz?accounts=true");
    expect(jsz.account_details?.map((a) => a.name)).toEqual([TRUST_NAMES.fleet]);

    // An active Rack with its scenario permissions: none of them names $JS or $KV, and the bus refuses both.
    const state = { name: "rack-1", status: "active" as const };
    const perms = rackPermissions(state);
    expect(JSON.stringify(perms)).not.toMatch(/\$JS|\$KV/);
    const rackKey = generateKeyPair().privateKey;
    const issued = issueUserJwt({
      signer: keys.fleetSigning,
      account: keys.fleet.nkey,
      publicKey: publicKeyToBase64url(rackKey),
      name: state.name,
      permissions: perms,
      ttlSeconds: 3600,
      nowSeconds: now,
    });
    const rack: NatsConnection = await cluster.connect({
      name: "rack-1",
      authenticator: nonceAuthenticator({ privateKey: rackKey, jwt: () => issued.jwt }),
      inboxPrefix: rackInboxPrefix(state.name),
    });
    const refused = violations(rack);
    // Reading, writing or watching a bucket: each is a permission violation, and nothing changes.
    await expect(
      rack.request(
        `$JS.API.STREAM.MSG.GET.${kv.claims.streamName}`,
        JSON.stringify({ last_by_subj: "$KV.fluxrig_claims.machine.42" }),
        {
          timeout: 2_000,
        },
      ),
    ).rejects.toThrow();
    rack.publish(
      `$KV.${REGISTRY_BUCKETS.claims.name}.machine.42`,
      JSON.stringify({ w: "rack", n: "x", v: {} }),
    );
    rack.subscribe(`$KV.${REGISTRY_BUCKETS.racks.name}.>`);
    await waitFor(() => refused.length >= 3, { timeoutMs: 5_000, message: "three permission violations" });
    expect(refused.map((e) => e.message).join("\n")).toMatch(/\$JS\.API\.STREAM\.MSG\.GET/);
    expect(refused.map((e) => e.message).join("\n")).toMatch(/\$KV\.fluxrig_claims\.machine\.42/);
    expect(refused.map((e) => e.message).join("\n")).toMatch(/\$KV\.fluxrig_racks\.>/);
    expect((await kv.claims.get("machine.42"))?.nonce).toBe(won.nonce);
    expect((await cluster.streamStates(kv.claims.streamName)).map((s) => s.lastSeq)).toEqual([1, 1, 1]);

    // A Rack's credential cannot open a bucket either: the KV layer reports the refusal as such.
    const { KvBucket } = await import("../../src/kv/kv-bucket.js");
    await expect(
      KvBucket.open(rack, REGISTRY_BUCKETS.claims.name, {
        replicas: 3,
        writerId: "rack",
        retryWindowMs: 3_000,
      }),
    ).rejects.toBeInstanceOf(KvRefusedError);
  });
});
