// Cluster mode's registry with two Mixers in one process on one real nats-server with JetStream (R1): every write goes
// to KV first, each Mixer's DuckDB index is fed from KV by its mirror, and both indexes end up identical. The same
// over real processes on a 3-node cluster, with kills, is in test/faults/.
import {
  attachLogsOnFailure,
  type NatsServer,
  ScriptedRack,
  startNatsCluster,
  startNatsServer,
  tempDuckDbPath,
  waitFor,
} from "@fluxrig/testkit";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { loadMixerConfig } from "../../src/config.js";
import { type Db, openDatabase } from "../../src/db/duckdb-database.js";
import { migrate } from "../../src/db/migrate.js";
import { AuditStream } from "../../src/kv/audit-stream.js";
import { openRegistryBuckets, type RegistryBuckets } from "../../src/kv/registry-buckets.js";
import { createMixer, type Mixer } from "../../src/mixer.js";
import { TEST_CLUSTER_KEY } from "../support/lifecycle-test-harness.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

interface Member {
  name: string;
  mixer: Mixer;
  db: Db;
  kv: RegistryBuckets;
  stop(): Promise<void>;
}

let nats: NatsServer;
beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
});
afterAll(async () => {
  await nats?.stop();
});

async function member(
  name: string,
  machineId: number,
  env: Record<string, string> = {},
  on: { nc: NatsConnection; replicas: 1 | 3 } | undefined = undefined,
): Promise<Member> {
  const file = tempDuckDbPath();
  const db = await openDatabase({ path: file.path });
  await migrate(db);
  const nc = on?.nc ?? (await nats.connect());
  const replicas = on?.replicas ?? 1;
  const { config } = await loadMixerConfig({
    env: {
      FLUXRIG_NATS_AUTH: "none",
      FLUXRIG_CLUSTER_ENABLED: "true",
      FLUXRIG_CLUSTER_MEMBER: name,
      FLUXRIG_CLUSTER_REPLICAS: String(replicas),
      FLUXRIG_MIXER_MACHINE_ID: String(machineId),
      FLUXRIG_ENROLLMENT_VERIFY_THREADS: "0",
      FLUXRIG_ENROLLMENT_MACHINE_ID_MIN: "16",
      ...env,
    },
  });
  const kv = await openRegistryBuckets(nc, { replicas, writerId: name });
  const audit = await AuditStream.open(nc, { replicas });
  const mixer = await createMixer({
    config,
    db,
    nc,
    clusterKey: TEST_CLUSTER_KEY,
    logger: pino({ level: process.env.FLUXRIG_TEST_LOG ?? "silent" }),
    version: "0.0.0-test",
    cluster: { kv, audit, member: name },
  });
  return {
    name,
    mixer,
    db,
    kv,
    async stop() {
      await mixer.stop();
      await db.close();
      if (!nc.isClosed()) await nc.drain();
      await file.remove();
    },
  };
}

/** The index as rows: what must be the same on every Mixer. */
async function indexRows(db: Db): Promise<string[]> {
  const rows = await db.query(
    `SELECT r.entity_id, r.machine_id, r.name, r.status, l.public_key, l.passport_serial
       FROM registry r LEFT JOIN rack_lifecycle l USING (entity_id) ORDER BY r.entity_id`,
  );
  return rows.rows.map((row) => row.map(String).join("|"));
}

async function auditKinds(db: Db): Promise<string[]> {
  const rows = await db.query("SELECT seq, kind, name, hash FROM audit_events ORDER BY seq");
  return rows.rows.map((row) => row.map(String).join("|"));
}

describe("cluster mode: two Mixers on one registry in KV", () => {
  test("hellos through both Mixers enroll every Rack once, with unique MachineIDs and names, and both indexes agree", async () => {
    const a = await member("mixer-a", 1, { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" });
    const b = await member("mixer-b", 2, { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" });
    try {
      const client = await nats.connect();
      const racks = Array.from({ length: 40 }, (_, i) => new ScriptedRack(client, `rack-${i}`));
      // The hello subject is one queue group across the Mixers: each hello is answered by one of them.
      const replies = await Promise.all(racks.map((r) => r.hello()));
      for (const reply of replies) expect(reply.error, JSON.stringify(reply.error)).toBeUndefined();
      expect(replies.every((r) => r.status === "active")).toBe(true);
      const ids = replies.map((r) => r.machine_id);
      expect(new Set(ids).size).toBe(40);
      // Each Mixer answered some: the writes really came from both.
      const answeredBy = await Promise.all([a, b].map((m) => m.mixer.clusterInfo()));
      expect(answeredBy.length).toBe(2);

      // Both indexes hold the 40 Racks and both Mixers' rows, the same, once the mirrors have applied everything.
      await waitFor(
        async () => (await indexRows(a.db)).length === 44 && (await indexRows(b.db)).length === 44,
        {
          timeoutMs: 20_000,
          message: "both indexes hold 40 Racks and 4 node rows",
        },
      );
      expect(await indexRows(b.db)).toEqual(await indexRows(a.db));
      const keys = await a.kv.racks.keys("rack.>");
      expect(keys).toHaveLength(40);
      expect(await a.kv.claims.keys("name.>")).toHaveLength(44);
      await waitFor(async () => (await auditKinds(a.db)).length === (await auditKinds(b.db)).length, {
        timeoutMs: 10_000,
        message: "both audit logs hold the same number of events",
      });
      expect(await auditKinds(b.db)).toEqual(await auditKinds(a.db));
      await client.drain();
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  test("an operator's write through one Mixer is read back at once there (read-your-writes) and soon on the other", async () => {
    const a = await member("mixer-c", 3);
    const b = await member("mixer-d", 4);
    try {
      const client = await nats.connect();
      const rack = new ScriptedRack(client, "press-ryw");
      expect((await rack.hello()).status).toBe("pending");
      await waitFor(
        async () =>
          a.mixer.racks.show("press-ryw").then(
            () => true,
            () => false,
          ),
        {
          timeoutMs: 10_000,
          message: "mixer-c's index holds the pending Rack",
        },
      );
      const adopted = await a.mixer.racks.adopt("press-ryw", { actor: "test" });
      expect(adopted.status).toBe("active");
      // Read your writes: the Mixer that answered holds the write in its index already.
      expect((await a.mixer.racks.show("press-ryw")).status).toBe("active");
      await waitFor(async () => (await b.mixer.racks.show("press-ryw")).status === "active", {
        timeoutMs: 10_000,
        message: "mixer-d's index follows the adoption",
      });
      // A revocation through the other Mixer is planned over its index, which holds the adoption: A follows it.
      expect((await b.mixer.racks.revoke("press-ryw", { actor: "test" })).status).toBe("revoked");
      await waitFor(async () => (await a.mixer.racks.show("press-ryw")).status === "revoked", {
        timeoutMs: 10_000,
        message: "mixer-c's index follows the revocation",
      });
      expect(await indexRows(a.db)).toEqual(await indexRows(b.db));
      await client.drain();
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  test("one name claimed by two keys through two Mixers at once: one Rack holds it, the other is refused", async () => {
    const a = await member("mixer-e", 5, { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" });
    const b = await member("mixer-f", 6, { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" });
    try {
      const client = await nats.connect();
      const contenders = Array.from({ length: 6 }, () => new ScriptedRack(client, "contested"));
      const replies = await Promise.all(contenders.map((r) => r.hello()));
      const won = replies.filter((r) => r.status === "active");
      expect(won).toHaveLength(1);
      expect(await a.kv.claims.keys("name.contested")).toHaveLength(1);
      await client.drain();
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  test("a Mixer started on an empty registry file rebuilds its index from KV: identical to the other's", async () => {
    const a = await member("mixer-g", 7, { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" });
    try {
      const client = await nats.connect();
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => new ScriptedRack(client, `rebuilt-${i}`).hello()),
      );
      const b = await member("mixer-h", 8);
      try {
        await waitFor(async () => (await indexRows(b.db)).length === (await indexRows(a.db)).length, {
          timeoutMs: 10_000,
          message: "the new Mixer's index holds what the first one's does",
        });
        expect(await indexRows(b.db)).toEqual(await indexRows(a.db));
      } finally {
        await b.stop();
      }
      await client.drain();
    } finally {
      await a.stop();
    }
  });
});

describe("cluster mode on a 3-node cluster", () => {
  test("the node a Mixer is on is killed: it follows KV again from the node it moves to, and misses nothing", async () => {
    await using cluster = await startNatsCluster({ nodes: 3 });
    // Each Mixer starts on one node only; the client learns the others from the cluster and moves there.
    const a = await member("mixer-k", 11, {}, { nc: await cluster.connectTo(0), replicas: 3 });
    const b = await member("mixer-l", 12, {}, { nc: await cluster.connectTo(1), replicas: 3 });
    try {
      const client = await cluster.connectTo(2);
      for (const name of ["before-0", "before-1"])
        expect((await new ScriptedRack(client, name).hello()).status).toBe("pending");
      await waitFor(async () => (await indexRows(a.db)).length === 6, {
        timeoutMs: 20_000,
        message: "mixer-k's index before the kill",
      });

      await cluster.kill(0, "SIGKILL");
      // Writes through the other Mixer, once the cluster has a quorum and leaders again.
      await waitFor(
        async () =>
          b.mixer.racks.adopt("before-0", { actor: "test" }).then(
            () => true,
            () => false,
          ),
        {
          timeoutMs: 30_000,
          message: "an adoption through mixer-l after node 0's kill",
        },
      );
      const late = new ScriptedRack(client, "after-kill");
      await waitFor(async () => (await late.hello()).status === "pending", {
        timeoutMs: 30_000,
        message: "a hello answered after node 0's kill",
      });
      // mixer-k, moved to another node, has them in its index: its followers started again where they were.
      await waitFor(
        async () =>
          (await a.mixer.racks.show("before-0")).status === "active" &&
          (await a.mixer.racks.show("after-kill").then(
            () => true,
            () => false,
          )),
        { timeoutMs: 15_000, message: "mixer-k's index follows the writes made after its node died" },
      );
      await waitFor(
        async () => JSON.stringify(await indexRows(a.db)) === JSON.stringify(await indexRows(b.db)),
        {
          timeoutMs: 15_000,
          message: "both indexes identical",
        },
      );
      await client.close();
    } finally {
      await b.stop();
      await a.stop();
    }
  });
});
