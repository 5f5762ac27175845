// The KV layer's primitives against real nats-server: one node with R1 buckets, and a 3-node JetStream cluster with
// R3 buckets (sync_interval always). Uniqueness by compare-and-set, updates by revision, leader reads, the clear
// refusal without quorum, and leases.
import {
  attachLogsOnFailure,
  type NatsCluster,
  type NatsServer,
  startNatsCluster,
  startNatsServer,
  waitFor,
} from "@fluxrig/testkit";
import type { NatsConnection } from "@nats-io/transport-node";
import { beforeEach, describe, expect, test } from "vitest";
import { KvBucket } from "../../src/kv/kv-bucket.js";
import {
  KvBucketMismatchError,
  KvKeyExistsError,
  KvRevisionConflictError,
  KvUnavailableError,
  KvValueError,
} from "../../src/kv/kv-errors.js";
import { Lease } from "../../src/kv/lease.js";
import { openRegistryBuckets, REGISTRY_BUCKETS } from "../../src/kv/registry-buckets.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

interface Bus extends AsyncDisposable {
  replicas: 1 | 3;
  connect(): Promise<NatsConnection>;
}

const BUSES: Array<{ name: string; start: () => Promise<Bus> }> = [
  {
    name: "one node, R1",
    start: async () => {
      const nats: NatsServer = await startNatsServer();
      return { replicas: 1, connect: () => nats.connect(), [Symbol.asyncDispose]: () => nats.stop() };
    },
  },
  {
    name: "3-node cluster, R3",
    start: async () => {
      const cluster: NatsCluster = await startNatsCluster({ nodes: 3 });
      return { replicas: 3, connect: () => cluster.connect(), [Symbol.asyncDispose]: () => cluster.stop() };
    },
  },
];

describe.each(BUSES)("KV primitives on $name", ({ start }) => {
  test("create is unique, update goes by revision, reads come from the leader", async () => {
    await using bus = await start();
    const [ncA, ncB] = [await bus.connect(), await bus.connect()];
    const a = await KvBucket.open(ncA, "t_claims", { replicas: bus.replicas, writerId: "mixer-a" });
    const b = await KvBucket.open(ncB, "t_claims", { replicas: bus.replicas, writerId: "mixer-b" });

    const won = await a.create("machine.42", { rack: "r1" });
    expect(won).toMatchObject({ key: "machine.42", value: { rack: "r1" }, writer: "mixer-a" });
    const lost = await b.create("machine.42", { rack: "r2" }).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(KvKeyExistsError);
    expect(lost).toMatchObject({ holder: "mixer-a", revision: won.revision, code: "kv_key_exists" });

    // The same logical write again (same nonce, e.g. after an unknown outcome): it is ours, not a conflict.
    const again = await a.create("machine.42", { rack: "r1" }, { nonce: won.nonce });
    expect(again.revision).toBe(won.revision);

    expect(await b.get("machine.42")).toMatchObject({ value: { rack: "r1" }, revision: won.revision });
    expect(await b.get("machine.43")).toBeNull();

    const moved = await b.update("machine.42", { rack: "r1", name: "press-1" }, won.revision);
    expect(moved.revision).toBeGreaterThan(won.revision);
    const stale = await a.update("machine.42", { rack: "stale" }, won.revision).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(KvRevisionConflictError);
    expect(stale).toMatchObject({ expected: won.revision, actual: moved.revision });
    const absent = await a.update("machine.99", { rack: "x" }, 1).catch((e: unknown) => e);
    expect(absent).toBeInstanceOf(KvRevisionConflictError);

    await a.create("machine.7", { rack: "r7" });
    expect(await a.keys("machine.>")).toEqual(["machine.42", "machine.7"]);
    expect((await b.get("machine.42"))?.value).toEqual({ rack: "r1", name: "press-1" });
  });

  test("concurrent creates of the same keys from two clients: exactly one owner each", async () => {
    await using bus = await start();
    const a = await KvBucket.open(await bus.connect(), "t_race", { replicas: bus.replicas, writerId: "a" });
    const b = await KvBucket.open(await bus.connect(), "t_race", { replicas: bus.replicas, writerId: "b" });
    const owners = new Map<string, string[]>();
    const attempt = async (bucket: KvBucket, key: string) => {
      try {
        await bucket.create(key, { by: bucket.writerId });
        owners.set(key, [...(owners.get(key) ?? []), bucket.writerId]);
      } catch (error) {
        if (!(error instanceof KvKeyExistsError)) throw error;
      }
    };
    const keys = Array.from({ length: 100 }, (_, i) => `machine.${i}`);
    await Promise.all(keys.flatMap((k) => [attempt(a, k), attempt(b, k)]));
    for (const k of keys) {
      expect(owners.get(k), k).toHaveLength(1);
      expect((await a.get<{ by: string }>(k))?.value.by).toBe(owners.get(k)![0]);
    }
  });

  test("opens the registry's buckets with its replicas, and refuses a bucket with other replicas", async () => {
    await using bus = await start();
    const nc = await bus.connect();
    const kv = await openRegistryBuckets(nc, { replicas: bus.replicas, writerId: "mixer-a" });
    expect(Object.keys(kv).sort()).toEqual(Object.keys(REGISTRY_BUCKETS).sort());
    for (const bucket of Object.values(kv)) expect(bucket.streamName).toMatch(/^KV_fluxrig_/);
    if (bus.replicas === 3) {
      const wrong = await KvBucket.open(nc, REGISTRY_BUCKETS.claims.name, {
        replicas: 1,
        writerId: "x",
      }).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(KvBucketMismatchError);
      expect((wrong as Error).message).toMatch(/exists with 3 replica\(s\)/);
    }
  });

  test("a value this layer did not write is refused as such", async () => {
    await using bus = await start();
    const nc = await bus.connect();
    const bucket = await KvBucket.open(nc, "t_foreign", { replicas: bus.replicas, writerId: "a" });
    const ack = await nc.request("$KV.t_foreign.hand.edited", "not json", { timeout: 5_000 });
    expect(ack.json<{ seq: number }>().seq).toBeGreaterThan(0);
    await expect(bucket.get("hand.edited")).rejects.toBeInstanceOf(KvValueError);
  });

  test("a lease has one holder; a released lease is taken over at once", async () => {
    await using bus = await start();
    const open = async (id: string) =>
      KvBucket.open(await bus.connect(), "t_leases", { replicas: bus.replicas, writerId: id });
    const events: string[] = [];
    const lease = (id: string, bucket: KvBucket) =>
      new Lease({
        bucket,
        name: "sweep",
        holder: id,
        ttlMs: 2_000,
        onAcquired: () => events.push(`${id} acquired`),
        onLost: (e) => events.push(`${id} lost: ${e.message}`),
      });
    const first = lease("m1", await open("m1"));
    first.start();
    await waitFor(() => first.isHeld(), { timeoutMs: 10_000, message: "m1 holds the lease" });
    const second = lease("m2", await open("m2"));
    second.start();
    // m2 keeps contending while m1 renews: several ttls pass with m1 still the only holder.
    const renewedAt = (await (await open("probe")).get<{ holder: string }>("sweep"))!.revision;
    await waitFor(async () => ((await (await open("probe")).get("sweep"))?.revision ?? 0) >= renewedAt + 4, {
      timeoutMs: 15_000,
      message: "m1 renewed four times",
    });
    expect(first.isHeld()).toBe(true);
    expect(second.isHeld()).toBe(false);

    // A clean stop releases: m2 takes over well inside one ttl.
    const stoppedAt = Date.now();
    await first.stop();
    await waitFor(() => second.isHeld(), { timeoutMs: second.takeoverBoundMs, message: "m2 took over" });
    expect(Date.now() - stoppedAt).toBeLessThan(second.takeoverBoundMs);
    expect(events).toEqual(["m1 acquired", "m2 acquired"]);
    await second.stop();
  });
});

// Restarts members: each may wait the cluster's rejoin bound (60 s) on a loaded machine.
describe("KV without quorum (3-node cluster, two nodes down)", { timeout: 180_000 }, () => {
  test("writes and leader reads are refused clearly within the bound, and work again once a majority is back", async () => {
    await using cluster = await startNatsCluster({ nodes: 3 });
    const nc = await cluster.connect();
    const bucket = await KvBucket.open(nc, "t_quorum", {
      replicas: 3,
      writerId: "a",
      retryWindowMs: 3_000,
      requestTimeoutMs: 1_000,
    });
    const before = await bucket.create("machine.1", { n: 1 });
    const leader = await cluster.waitForLeader(bucket.streamName, { timeoutMs: 10_000 });
    const down = [0, 1, 2]
      .filter((i) => i !== leader)
      .slice(0, 1)
      .concat([leader]);
    for (const i of down) await cluster.kill(i, "SIGKILL");

    const started = Date.now();
    const refused = await bucket.create("machine.2", { n: 2 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KvUnavailableError);
    expect(refused).toMatchObject({ code: "kv_unavailable", operation: "create" });
    expect(["not_written", "unknown"]).toContain((refused as KvUnavailableError).outcome);
    expect((refused as Error).message).toMatch(/majority of nats-server nodes/);
    expect(Date.now() - started).toBeLessThan(3_000 + 2_500);
    await expect(bucket.get("machine.1")).rejects.toBeInstanceOf(KvUnavailableError);

    for (const i of down) await cluster.start(i);
    const after = await waitFor(
      () => bucket.create("machine.3", { n: 3 }, { retryWindowMs: 30_000 }).catch(() => undefined),
      { timeoutMs: 60_000, message: "a create once quorum is back" },
    );
    expect(after.revision).toBeGreaterThan(before.revision);
    expect((await bucket.get("machine.1"))?.value).toEqual({ n: 1 });
  });
});
