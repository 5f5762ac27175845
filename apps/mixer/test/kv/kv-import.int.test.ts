// `fluxrig-mixer kv import|verify` end to end: a real Mixer builds a registry (pending, active, revoked Racks and a
// name reused after a deletion), stops, and the real binary imports it into JetStream KV on one nats-server (R1) and
// on a 3-node cluster (R3), on an open bus and as the Mixer's fleet user on a JWT bus; verify checks both sides, a
// second import writes nothing, and a conflicting record is reported and left as it is.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { nonceAuthenticator } from "@fluxrig/passport";
import {
  attachLogsOnFailure,
  MixerHarness,
  type NatsCluster,
  runBinary,
  ScriptedRack,
  startNatsCluster,
  tempDir,
} from "@fluxrig/testkit";
import { INBOX_PREFIXES } from "@fluxrig/wire";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { beforeEach, describe, expect, test } from "vitest";
import { loadBusKeys } from "../../src/bus-auth/key-store.js";
import { natsResolverConfig } from "../../src/bus-auth/resolver-config.js";
import { mixerFleetUser } from "../../src/bus-auth/service-users.js";
import { fleetAccountJwt, operatorJwt, systemAccountJwt } from "../../src/bus-auth/trust-chain.js";
import { AuditStream } from "../../src/kv/audit-stream.js";
import { openRegistryBuckets, type RegistryBuckets } from "../../src/kv/registry-buckets.js";
import { type ClaimRecord, type EntityRecord, layoutKeys } from "../../src/kv/registry-layout.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

interface RackView {
  entity_id: string;
  machine_id: number;
  name: string;
  status: string;
}

type Mode = "none" | "jwt";

const SCENARIO = `meta:
  name: demo
  version: 3
racks:
  - name: rack-active
gears:
  - name: tick
    type: ticker
    deploy: rack-active
    config: { interval: 1s }
  - name: sink
    type: counter
    deploy: rack-active
wires:
  - from: tick.out
    to: sink.in
`;

/** Enrolls a Rack with its own key on either bus; closes what it opened at the end of the test. */
async function hello(h: MixerHarness, name: string, opened: Array<() => Promise<void>>): Promise<void> {
  if (h.auth === "jwt") {
    const rack = await ScriptedRack.enrollJwt({
      servers: h.nats.url,
      name,
      bootstrapCreds: await readFile(h.bootstrapCreds),
    });
    opened.push(() => rack.close());
  } else {
    await new ScriptedRack(await h.client(), name).listen().hello();
  }
}

/** A real registry: pending, active, revoked, and a name reused by another key after its first Rack was deleted. */
async function buildRegistry(h: MixerHarness): Promise<{ before: RackView[]; deleted: RackView }> {
  const opened: Array<() => Promise<void>> = [];
  try {
    for (const name of ["rack-pending", "rack-active", "rack-revoked", "rack-reused"])
      await hello(h, name, opened);
    for (const name of ["rack-active", "rack-revoked", "rack-reused"]) {
      expect((await h.api(`/api/v1/racks/${name}/adopt`, { method: "POST" })).status).toBe(200);
    }
    expect((await h.api("/api/v1/racks/rack-revoked/revoke", { method: "POST" })).status).toBe(200);
    const imported = await h.api("/api/v1/scenarios", {
      method: "POST",
      body: SCENARIO,
      headers: { "content-type": "application/yaml" },
    });
    expect(imported.status).toBeLessThan(300);
    expect((await h.api("/api/v1/scenarios/demo/activate", { method: "POST" })).status).toBe(200);
    const deleted = (await h.api<RackView>("/api/v1/racks/rack-reused")).body;
    expect((await h.api("/api/v1/racks/rack-reused", { method: "DELETE" })).status).toBeLessThan(300);
    await hello(h, "rack-reused", opened); // another key, a new Rack under the same name
    const list = await h.api<{ items: RackView[] }>("/api/v1/racks?limit=100");
    return { before: list.body.items, deleted };
  } finally {
    for (const close of opened) await close();
  }
}

async function kv(
  h: MixerHarness,
  url: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runBinary("fluxrig-mixer", ["kv", ...args], {
    env: { FLUXRIG_MIXER_DATA_DIR: h.dataDir, FLUXRIG_NATS_URL: url, FLUXRIG_NATS_AUTH: h.auth },
    timeoutMs: 60_000,
  });
}

/** A JWT-mode 3-node cluster trusting the keys in the Mixer's data dir, each node with its own resolver store. */
async function jwtCluster(dataDir: string, dir: string): Promise<NatsCluster> {
  const keys = await loadBusKeys(dataDir);
  const now = Math.floor(Date.now() / 1000);
  const preload = {
    [keys.system.nkey]: systemAccountJwt(keys, now),
    [keys.fleet.nkey]: fleetAccountJwt(keys, { revocations: {}, nowSeconds: now }),
  };
  return startNatsCluster({
    nodes: 3,
    extraConfig: (node) =>
      natsResolverConfig({
        operatorJwt: operatorJwt(keys, now),
        systemAccount: keys.system.nkey,
        preload,
        resolverDir: join(dir, `jwt-${node}`),
      }),
  });
}

async function fleetConnection(
  dataDir: string,
  connect: (opts: object) => Promise<NatsConnection>,
): Promise<NatsConnection> {
  const keys = await loadBusKeys(dataDir);
  const user = mixerFleetUser(keys, { nowSeconds: Math.floor(Date.now() / 1000), ttlSeconds: 3600 });
  return connect({
    authenticator: nonceAuthenticator({ privateKey: user.privateKey, jwt: () => user.jwt }),
    inboxPrefix: INBOX_PREFIXES.mixer,
  });
}

/** The whole story on one target: refused while the Mixer runs, dry run, import, verify, again, a conflict. */
async function importStory(opts: {
  h: MixerHarness;
  url: string;
  replicas: 1 | 3;
  open: () => Promise<NatsConnection>;
}): Promise<void> {
  const { h, url, replicas } = opts;
  const replicaArgs = ["--replicas", String(replicas)];
  const { before, deleted } = await buildRegistry(h);
  expect(before.map((r) => [r.name, r.status]).sort()).toEqual([
    ["rack-active", "active"],
    ["rack-pending", "pending"],
    ["rack-reused", "pending"],
    ["rack-revoked", "revoked"],
  ]);

  // A running Mixer holds its data dir: the import is refused and says why.
  const locked = await kv(h, url, ["import", ...replicaArgs]);
  expect(locked.code).toBe(1);
  expect(locked.stderr).toMatch(/another fluxrig-mixer \(pid \d+\) is using data dir/);
  expect((await h.stop()).code).toBe(0);

  const dry = await kv(h, url, ["import", "--dry-run", ...replicaArgs]);
  expect(dry.stderr).toBe("");
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain(
    "4 Racks, 1 retired MachineIDs, 1 scenarios, 1 activations, 2 revocations/tokens/expected keys: 21 KV records",
  );
  // The single Mixer's own rows stay behind: each Mixer of the cluster writes its own.
  expect(dry.stdout).toContain("(2 node rows of this Mixer left out");
  expect(dry.stdout).toContain("racks: would write 4, already there 0");
  expect(dry.stdout).toContain("access: would write 2, already there 0");
  expect(dry.stdout).toContain("dry run: nothing written");
  const events = Number(/; (\d+) audit events/.exec(dry.stdout)?.[1]);
  expect(events).toBeGreaterThan(5); // enrollments, adoptions, a revocation, a removal, a scenario
  expect(dry.stdout).toContain(`audit: would write ${events}, already there 0`);
  const nc = await opts.open();
  const buckets: RegistryBuckets = await openRegistryBuckets(nc, { replicas, writerId: "test" });
  expect(await buckets.racks.keys()).toEqual([]);

  const first = await kv(h, url, ["import", ...replicaArgs]);
  expect(first.stderr).toBe("");
  expect(first.code).toBe(0);
  // 4 Racks: 4 machine, 4 name and 4 key claims, and the deleted Rack's MachineID held by its tombstone; the
  // revoked and the removed Rack's keys revoked on the bus.
  expect(first.stdout).toContain("claims: written 13, already there 0");
  expect(first.stdout).toContain("racks: written 4, already there 0");
  expect(first.stdout).toContain("access: written 2, already there 0");
  expect(first.stdout).toContain("scenarios: written 2, already there 0");
  expect(first.stdout).toContain(`audit: written ${events}, already there 0`);
  const audit = await AuditStream.open(nc, { replicas });
  expect(await audit.count()).toBe(events);
  expect(await audit.get(events)).toMatchObject({ schema: 1, seq: events });
  expect(await audit.get(events + 1)).toBeNull();
  const scenario = await buckets.scenarios.get(layoutKeys.scenario("demo"));
  expect(scenario?.value).toMatchObject({
    schema: 1,
    name: "demo",
    version: "3",
    active: true,
    yaml: SCENARIO,
  });
  expect((await buckets.scenarios.keys()).filter((k) => k.startsWith("activation."))).toHaveLength(1);

  // Checked in KV, not assumed from the report: every Rack as the API showed it, and the reused name's claims.
  for (const r of before) {
    const record = await buckets.racks.get<EntityRecord>(layoutKeys.rack(BigInt(r.entity_id)));
    expect(record?.value).toMatchObject({
      name: r.name,
      status: r.status,
      machine_id: r.machine_id,
      schema: 1,
    });
    expect((await buckets.claims.get<ClaimRecord>(layoutKeys.name(r.name)))?.value.entity_id).toBe(
      r.entity_id,
    );
    const machine = await buckets.claims.get<ClaimRecord>(layoutKeys.machine(r.machine_id));
    expect(machine?.value).toMatchObject({ entity_id: r.entity_id, retired: null });
  }
  const reused = before.find((r) => r.name === "rack-reused") as RackView;
  expect(reused.entity_id).not.toBe(deleted.entity_id);
  const retired = await buckets.claims.get<ClaimRecord>(layoutKeys.machine(deleted.machine_id));
  expect(retired?.value).toMatchObject({ entity_id: deleted.entity_id, retired: { name: "rack-reused" } });
  const revoked = before.find((r) => r.name === "rack-revoked") as RackView;
  const revokedRecord = await buckets.racks.get<EntityRecord>(layoutKeys.rack(BigInt(revoked.entity_id)));
  expect(revokedRecord?.value.lifecycle?.passport.serial).toBeGreaterThanOrEqual(1);

  const verified = await kv(h, url, ["verify", ...replicaArgs]);
  expect(verified.code).toBe(0);
  expect(verified.stdout).toContain("KV holds exactly the registry's records and audit events");
  expect(verified.stdout).toContain(`audit: ${events} equal`);
  expect(verified.stdout).toContain("claims: 13 equal");
  expect(verified.stdout).toContain("access: 2 equal");

  const again = await kv(h, url, ["import", ...replicaArgs]);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain("racks: written 0, already there 4");
  expect(again.stdout).toContain(`audit: written 0, already there ${events}`);
  expect(again.stdout).toContain("nothing new: every record was already in KV");

  // Another writer changed a record in KV, and added a claim the registry does not have.
  const key = layoutKeys.rack(BigInt(revoked.entity_id));
  const changed = await buckets.racks.update(
    key,
    { ...(revokedRecord?.value as EntityRecord), status: "active" },
    revokedRecord?.revision as number,
  );
  // A newer Mixer's record (schema 2) for the pending Rack: this one does not guess at it.
  const pending = before.find((r) => r.name === "rack-pending") as RackView;
  const pendingKey = layoutKeys.rack(BigInt(pending.entity_id));
  const pendingRecord = await buckets.racks.get<EntityRecord>(pendingKey);
  await buckets.racks.update(
    pendingKey,
    { ...(pendingRecord?.value as EntityRecord), schema: 2 },
    pendingRecord?.revision as number,
  );
  await buckets.claims.create(layoutKeys.name("intruder"), {
    schema: 1,
    kind: "name",
    entity_id: "42",
    retired: null,
  });
  // An event the log does not have, and an attempt to replace one it has (refused by the stream itself).
  const js = jetstream(nc);
  await js.publish("fluxrig.audit.999999", JSON.stringify({ schema: 1, seq: 999999 }));
  await expect(js.publish("fluxrig.audit.1", JSON.stringify({ schema: 1, seq: 1 }))).rejects.toThrow();
  expect(await audit.get(1)).toMatchObject({ seq: 1, kind: expect.any(String) });
  const conflict = await kv(h, url, ["import", ...replicaArgs]);
  expect(conflict.code).toBe(1);
  expect(conflict.stdout).toContain("2 conflicting record(s) in KV, left as they are:");
  expect(conflict.stdout).toContain(
    `different racks/${pendingKey}: KV record ${pendingKey}: schema version 2, this Mixer reads version 1 only: upgrade this Mixer`,
  );
  expect(conflict.stdout).toContain(
    `different racks/${key}: revision ${changed.revision} by test: status: registry has "revoked", KV has "active"`,
  );
  expect((await buckets.racks.get<EntityRecord>(key))?.value.status).toBe("active"); // never overwritten

  const differs = await kv(h, url, ["verify", ...replicaArgs]);
  expect(differs.code).toBe(1);
  expect(differs.stdout).toContain("4 difference(s):");
  expect(differs.stdout).toContain(
    `extra audit/(stream): the stream holds ${events + 1} events, the registry's log ${events}`,
  );
  expect(differs.stdout).toContain(
    `different racks/${pendingKey}: KV record ${pendingKey}: schema version 2`,
  );
  expect(differs.stdout).toContain(`different racks/${key}`);
  expect(differs.stdout).toContain("extra claims/name.intruder: in KV, not in the registry");
}

describe("fluxrig-mixer kv import and verify", () => {
  const noAutoAdopt = { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false" };

  test("bad usage is exit 2 with the usage; a data dir without a registry is refused and left uncreated", async () => {
    await using dir = tempDir("kv-import-usage");
    const dataDir = join(dir.path, "nowhere");
    const env = { FLUXRIG_MIXER_DATA_DIR: dataDir, FLUXRIG_NATS_AUTH: "none" };
    const none = await runBinary("fluxrig-mixer", ["kv"], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/say import or verify[\s\S]*Usage: fluxrig-mixer kv import/);
    const replicas = await runBinary("fluxrig-mixer", ["kv", "import", "--replicas", "2"], { env });
    expect(replicas.code).toBe(2);
    expect(replicas.stderr).toContain("--replicas must be 1, 3 or 5");
    const dryVerify = await runBinary("fluxrig-mixer", ["kv", "verify", "--dry-run"], { env });
    expect(dryVerify.code).toBe(2);
    const missing = await runBinary("fluxrig-mixer", ["kv", "import"], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no registry at ${join(dataDir, "registry.duckdb")}`);
    await expect(stat(dataDir)).rejects.toThrow(/ENOENT/);
  });

  test("open bus, one nats-server, R1", async () => {
    await using h = await MixerHarness.create({ env: noAutoAdopt });
    await importStory({ h, url: h.nats.url, replicas: 1, open: () => h.client() });
  });

  test("open bus, a 3-node cluster, R3", async () => {
    await using h = await MixerHarness.create({ env: noAutoAdopt });
    await using cluster = await startNatsCluster({ nodes: 3 });
    await importStory({
      h,
      url: cluster.urls[0] as string,
      replicas: 3,
      open: () => cluster.connect({ name: "test" }),
    });
  });

  test("JWT bus: the Mixer's fleet user imports into a 3-node JWT cluster trusting its keys, R3", async () => {
    await using h = await MixerHarness.create({ auth: "jwt" as Mode, env: noAutoAdopt });
    await using dir = tempDir("kv-import-jwt");
    await using cluster = await jwtCluster(h.dataDir, dir.path);
    await importStory({
      h,
      url: cluster.urls[1] as string,
      replicas: 3,
      open: () => fleetConnection(h.dataDir, (o) => cluster.connect({ name: "test", ...o })),
    });
  });
});
