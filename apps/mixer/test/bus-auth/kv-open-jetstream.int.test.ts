// Opening the registry's buckets while the fleet account's JetStream is not (yet) enabled on the node: a node says
// "JetStream not enabled for account" for a moment after an account JWT reaches it (a Mixer starting against a fresh
// cluster met it in CI), so the open waits within its window; still off after the window is a refusal that says so.
import { attachLogsOnFailure, waitFor } from "@fluxrig/testkit";
import { beforeEach, describe, expect, test } from "vitest";
import { pushAccountJwt } from "../../src/bus-auth/claims-push.js";
import { fleetAccountJwt } from "../../src/bus-auth/trust-chain.js";
import { KvBucket } from "../../src/kv/kv-bucket.js";
import { KvRefusedError } from "../../src/kv/kv-errors.js";
import { REGISTRY_BUCKETS } from "../../src/kv/registry-buckets.js";
import { nowSeconds, startJwtBus } from "./jwt-bus.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

describe("KvBucket.open while the account's JetStream is off", () => {
  test("waits while it is off, and opens once the account JWT with JetStream reaches the node", async () => {
    await using bus = await startJwtBus({ fleetJetStream: false });
    const nc = await bus.connectMixer();
    try {
      let settled = false;
      const opening = KvBucket.open(nc, REGISTRY_BUCKETS.claims.name, {
        replicas: 1,
        writerId: "mixer-a",
        retryWindowMs: 30_000,
      }).finally(() => {
        settled = true;
      });
      // The open has been refused at least twice (the Mixer's connection carries nothing else: each reply in is a
      // refusal) and is still waiting: it did not take the refusal as final.
      const repliesBefore = nc.stats().inMsgs;
      await waitFor(() => nc.stats().inMsgs >= repliesBefore + 2 || settled, {
        timeoutMs: 10_000,
        message: "two refused attempts to open the bucket",
      });
      expect(settled).toBe(false);

      const sys = await bus.connectSystem();
      try {
        await pushAccountJwt(sys, {
          jwt: fleetAccountJwt(bus.keys, { revocations: {}, nowSeconds: nowSeconds() }),
          account: bus.keys.fleet.nkey,
          operator: bus.keys.operator.nkey,
        });
      } finally {
        await sys.close();
      }
      const bucket = await opening;
      const written = await bucket.create("machine.16", { entity_id: "0x1" });
      expect((await bucket.get("machine.16"))?.nonce).toBe(written.nonce);
    } finally {
      await nc.close();
    }
  });

  test("still off after the open window: refused, naming JetStream not enabled for the account", async () => {
    await using bus = await startJwtBus({ fleetJetStream: false });
    const nc = await bus.connectMixer();
    try {
      const started = Date.now();
      const error = await KvBucket.open(nc, REGISTRY_BUCKETS.claims.name, {
        replicas: 1,
        writerId: "mixer-a",
        retryWindowMs: 1_000,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KvRefusedError);
      expect((error as Error).message).toMatch(/not enabled for account/i);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    } finally {
      await nc.close();
    }
  });
});
