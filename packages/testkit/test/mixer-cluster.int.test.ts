// startMixerCluster: two real fluxrig-mixer processes in cluster mode on a real 3-node nats-server cluster, each with
// its own data dir, member name and machine_id, sharing the cluster's name and Cluster Key (and, on the JWT bus, the
// bus keys); each answers GET /api/v1/cluster; kill and restart keep the data dir; everything stops.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ClusterInfo } from "@fluxrig/wire";
import { beforeEach, describe, expect, test } from "vitest";
import { attachLogsOnFailure, startMixerCluster, startNatsCluster } from "../src/index.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed, { tail: 60 }));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("startMixerCluster", () => {
  test("JWT bus: two Mixers on three nodes share one Cluster Key and the bus keys, each its own identity", async () => {
    const mc = await startMixerCluster({ mixers: 2, nats: { nodes: 3 }, auth: "jwt" });
    const pids: number[] = [];
    try {
      expect(mc.nats.nodes).toHaveLength(3);
      expect(mc.natsUrl.split(",")).toEqual(mc.nats.urls);
      const infos = await Promise.all(
        [0, 1].map(async (i) => {
          const res = await mc.api<ClusterInfo>(i, "/api/v1/cluster");
          expect(res.status).toBe(200);
          return res.body;
        }),
      );
      // One cluster (name and key), two Mixers (machine ids).
      expect(infos.map((x) => x.cluster)).toEqual(["fluxrig-test", "fluxrig-test"]);
      expect(infos[1]?.key_id).toBe(infos[0]?.key_id);
      expect(infos[1]?.public_key).toBe(infos[0]?.public_key);
      expect(infos.map((x) => x.mixer.machine_id)).toEqual([1, 2]);
      expect(mc.dataDirs[0]).not.toBe(mc.dataDirs[1]);
      // The copies are byte for byte the first Mixer's, and stay private.
      for (const file of ["cluster.key", "bus/operator.key", "bus/fleet-signing.key"]) {
        const first = join(mc.dataDirs[0]!, file);
        const second = join(mc.dataDirs[1]!, file);
        expect(readFileSync(second)).toEqual(readFileSync(first));
        expect(statSync(second).mode & 0o077).toBe(0);
      }
      expect(readFileSync(join(mc.dataDirs[1]!, "cluster.pub"))).toEqual(
        readFileSync(join(mc.dataDirs[0]!, "cluster.pub")),
      );
      // Each Mixer reached the bus with the fleet keys both hold: the nodes run the first Mixer's block.
      for (const i of [0, 1]) {
        const log = mc.process(i)?.output() ?? "";
        expect(log).not.toMatch(/refused the Mixer's bus credential/);
      }
      const nc = await mc.connect({ name: "bootstrap-probe" });
      expect(nc.isClosed()).toBe(false);
      pids.push(...[0, 1].map((i) => mc.process(i)?.pid ?? 0));
    } finally {
      await mc.stop();
    }
    for (const pid of pids) expect(alive(pid)).toBe(false);
    for (const dir of mc.dataDirs) expect(existsSync(dir)).toBe(false);
    for (const node of mc.nats.nodes) expect(node.running).toBe(false);
  });

  test("open bus on a caller's cluster: kill -9 and restart a Mixer on its data dir; the caller's cluster keeps running", async () => {
    await using nats = await startNatsCluster({ nodes: 3 });
    {
      await using mc = await startMixerCluster({ mixers: 2, nats });
      const before = (await mc.api<ClusterInfo>(0, "/api/v1/cluster")).body;
      const oldPid = mc.process(0)?.pid ?? 0;
      await mc.kill(0, "SIGKILL");
      expect(mc.running).toEqual([1]);
      expect(alive(oldPid)).toBe(false);
      await expect(mc.api(0, "/api/v1/cluster")).rejects.toThrow();
      // The other answers meanwhile.
      expect((await mc.api(1, "/api/v1/cluster")).status).toBe(200);
      await mc.restart(0);
      const after = (await mc.api<ClusterInfo>(0, "/api/v1/cluster")).body;
      expect(after.mixer.entity_id).toBe(before.mixer.entity_id);
      expect(after.key_id).toBe(before.key_id);
      expect(mc.process(0)?.pid).not.toBe(oldPid);
      await expect(mc.kill(5)).rejects.toThrow(/no Mixer 5/);
    }
    expect(nats.running).toEqual([0, 1, 2]);
    // On the JWT bus the nodes must run the first Mixer's block: a running cluster is refused, before anything starts.
    await expect(startMixerCluster({ nats, auth: "jwt" })).rejects.toThrow(/pass NATS cluster options/);
  });
});
