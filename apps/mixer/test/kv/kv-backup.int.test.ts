// Backup and restore of a registry bucket through nats-server's stream snapshot and restore API, on a 3-node
// cluster: a snapshot taken while the bucket runs, the bucket destroyed, restored at R3, every key read back.
import { attachLogsOnFailure, startNatsCluster, waitFor } from "@fluxrig/testkit";
import { beforeEach, describe, expect, test } from "vitest";
import { restoreStream, snapshotStream } from "../../src/kv/kv-backup.js";
import { KvBucket } from "../../src/kv/kv-bucket.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

describe("KV backup and restore (stream snapshot API)", () => {
  test("a snapshot of an R3 bucket restores every key on every node", async () => {
    await using cluster = await startNatsCluster({ nodes: 3 });
    const nc = await cluster.connect();
    const bucket = await KvBucket.open(nc, "t_backup", { replicas: 3, writerId: "mixer-a" });
    const written = new Map<string, string>();
    for (let i = 0; i < 300; i++) {
      const record = await bucket.create(`machine.${i}`, { rack: `r${i}`, pad: "x".repeat(200) });
      written.set(record.key, record.nonce);
    }
    const snapshot = await snapshotStream(nc, bucket.streamName);
    expect(snapshot.data.length).toBeGreaterThan(0);
    expect(snapshot.config.num_replicas).toBe(3);

    const gone = await nc.request(`$JS.API.STREAM.DELETE.${bucket.streamName}`, "", { timeout: 10_000 });
    expect(gone.json<{ success?: boolean }>().success).toBe(true);
    await waitFor(async () => (await cluster.streamStates(bucket.streamName)).every((s) => s.lastSeq === 0), {
      timeoutMs: 10_000,
      message: "the stream gone from every node",
    });

    await restoreStream(nc, snapshot);
    const states = await waitFor(
      async () => {
        const s = await cluster.streamStates(bucket.streamName);
        return s.length === 3 && s.every((x) => x.messages === 300 && x.lastSeq === 300) && s;
      },
      { timeoutMs: 30_000, message: "the restored stream on three nodes" },
    );
    expect(states).toHaveLength(3);
    const reopened = await KvBucket.open(nc, "t_backup", { replicas: 3, writerId: "mixer-b" });
    for (const [key, nonce] of written) expect((await reopened.get(key))?.nonce, key).toBe(nonce);
  });
});
