// A real 3-node JetStream cluster per test: routed, one meta leader, members killed and restarted in place, replicas
// read per member from its own monitoring endpoint, and nothing left behind.
import { existsSync, readFileSync } from "node:fs";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { killAllStarted, startedResources, startNatsCluster, waitFor } from "../src/index.js";

afterAll(killAllStarted);

const STREAM = "TESTKIT_R3";

/**
 * The JetStream API by hand (the testkit has no JetStream client): create an R3 stream on `t.>`, again while the meta
 * leader answers "no suitable peers" (a peer it has not heard from yet on a loaded machine).
 */
async function createStream(nc: NatsConnection): Promise<void> {
  let last = "";
  await waitFor(
    async () => {
      const reply = await nc.request(
        `$JS.API.STREAM.CREATE.${STREAM}`,
        JSON.stringify({ name: STREAM, subjects: ["t.>"], num_replicas: 3, storage: "file" }),
        { timeout: 10_000 },
      );
      const body = reply.json<{ error?: { description: string; err_code: number } }>();
      last = body.error?.description ?? "";
      if (body.error?.err_code === 10005) return false;
      return true;
    },
    { timeoutMs: 20_000, intervalMs: 200, message: "the R3 stream created" },
  );
  expect(last).toBe("");
}

/** Publishes to the stream and returns the acknowledged sequence, or the error text. */
async function publish(nc: NatsConnection, n: number): Promise<number | string> {
  try {
    const reply = await nc.request(`t.${n}`, `m${n}`, { timeout: 1_500 });
    const ack = reply.json<{ seq?: number; error?: { description: string } }>();
    return ack.seq ?? `error: ${ack.error?.description}`;
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

// Kills and restarts members: each restart may wait the cluster's rejoin bound (60 s) on a loaded machine.
describe("startNatsCluster", { timeout: 180_000 }, () => {
  it("routes three members with sync_interval always and one meta leader, and survives a leader kill", async () => {
    await using cluster = await startNatsCluster({ nodes: 3 });
    expect(new Set(cluster.urls).size).toBe(3);
    for (const node of cluster.nodes) {
      const config = readFileSync(node.configPath, "utf8");
      expect(config).toContain('sync_interval: "always"');
      expect(config).toMatch(/cluster \{/);
    }
    for (const i of [0, 1, 2]) {
      const jsz = await cluster.monitor<{ meta_cluster: { cluster_size: number; leader: string } }>(i, "jsz");
      expect(jsz.meta_cluster.cluster_size).toBe(3);
      expect(cluster.nodeOf(jsz.meta_cluster.leader)).toBeDefined();
    }

    const nc = await cluster.connect();
    await createStream(nc);
    for (let n = 1; n <= 20; n++) expect(await publish(nc, n)).toBe(n);
    const states = await waitFor(
      async () => {
        const s = await cluster.streamStates(STREAM);
        return s.every((x) => x.messages === 20 && x.lastSeq === 20) && s;
      },
      { timeoutMs: 10_000, message: "every replica at 20 messages" },
    );
    expect(states.map((s) => s.node)).toEqual([0, 1, 2]);

    const leader = await cluster.waitForLeader(STREAM, { timeoutMs: 10_000 });
    await cluster.kill(leader, "SIGKILL");
    expect(cluster.running).toHaveLength(2);
    const next = await cluster.waitForLeader(STREAM, { not: leader, timeoutMs: 30_000 });
    expect(next).not.toBe(leader);
    // Writes go on once the new leader is in place (the client reconnects to a live member).
    await waitFor(async () => typeof (await publish(nc, 21)) === "number", {
      timeoutMs: 30_000,
      message: "a write after the leader kill",
    });

    await cluster.start(leader);
    expect(cluster.running).toEqual([0, 1, 2]);
    // start() waited until the meta leader heard from every member since its start; a cut-off member would have been
    // started again and listed.
    for (const r of cluster.rejoinRestarts) expect(r.reason).toMatch(/has not heard from node/);
    const after = await cluster.waitForSameStreamState(STREAM, { timeoutMs: 30_000 });
    expect(after).toHaveLength(3);
    expect(after[0]!.lastSeq).toBeGreaterThanOrEqual(21);
    expect(new Set(after.map((s) => `${s.messages}/${s.bytes}/${s.firstSeq}/${s.lastSeq}`)).size).toBe(1);
    expect(after.every((s) => s.account === "$G" && s.raftGroup !== "")).toBe(true);
  });

  it("waitForSameStreamState names the member that is not there and what each showed", async () => {
    await using cluster = await startNatsCluster({ nodes: 3 });
    const nc = await cluster.connectTo(0);
    await createStream(nc);
    expect(await publish(nc, 1)).toBe(1);
    await cluster.waitForSameStreamState(STREAM, { timeoutMs: 10_000 });
    await cluster.kill(2, "SIGKILL");
    const error = await cluster.waitForSameStreamState(STREAM, { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/every replica of TESTKIT_R3 at the same state/);
    expect((error as Error).message).toMatch(/node 0: 1 msgs/);
    expect((error as Error).message).toMatch(/members not running: 2/);
  });

  it("refuses writes with two of three members down, and takes them again after", async () => {
    await using cluster = await startNatsCluster({ nodes: 3 });
    const nc = await cluster.connectTo(0);
    await createStream(nc);
    expect(await publish(nc, 1)).toBe(1);
    await cluster.kill(1, "SIGKILL");
    await cluster.kill(2, "SIGKILL");
    expect(cluster.running).toEqual([0]);
    const refused = await publish(nc, 2);
    expect(refused).toMatch(/^error:/);

    await cluster.start(1);
    await waitFor(async () => typeof (await publish(nc, 3)) === "number", {
      timeoutMs: 30_000,
      message: "writes again with a majority",
    });
    await cluster.start(2);
  });

  it("stops every member and removes their stores, also when nobody awaited it", async () => {
    const cluster = await startNatsCluster({ nodes: 3 });
    const dirs = cluster.nodes.map((n) => n.dir);
    const pids = cluster.nodes.map((n) => n.pid!);
    expect(startedResources().filter((r) => r.label.startsWith("nats-server:"))).toHaveLength(3);
    await cluster.stop();
    for (const dir of dirs) expect(existsSync(dir)).toBe(false);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(startedResources()).toHaveLength(0);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
