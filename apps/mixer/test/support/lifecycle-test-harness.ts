// Test fixture for the fleet layer: a RackStatusChanges over a real DuckDB file, the group-commit writer and a fake bus
// that records the subjects pushed to.
import { generateKeyPair, keyId, publicKeyToBase64url } from "@fluxrig/passport";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { RackNotifier } from "../../src/fleet/rack-notifier.js";
import { RackStatusChanges } from "../../src/fleet/rack-status-changes.js";
import { PassportIssuer } from "../../src/passports/passport-issuer.js";
import { MachineIdPool } from "../../src/registry/machine-id-pool.js";
import { RackDirectory } from "../../src/registry/rack-directory.js";
import { RegistryWriter } from "../../src/registry/registry-writer.js";
import { RevocationList } from "../../src/registry/revocation-list.js";
import { ScenarioCatalog } from "../../src/registry/scenario-catalog.js";
import type { ClusterKey } from "../../src/runtime/cluster-key.js";
import { Counters } from "../../src/runtime/counters.js";
import { openTestRegistry, type TestRegistry } from "./registry-test-harness.js";

export const DAY = 86_400_000;

const pair = generateKeyPair();
/** A Cluster Key held in memory (no file). */
export const TEST_CLUSTER_KEY: ClusterKey = {
  ...pair,
  publicKeyB64: publicKeyToBase64url(pair.publicKey),
  kid: keyId(pair.publicKey),
  path: "",
  created: false,
};

export interface LifecycleHarness {
  t: TestRegistry;
  directory: RackDirectory;
  writer: RegistryWriter;
  /** The scenario catalog the writer keeps. */
  catalog: ScenarioCatalog;
  lifecycle: RackStatusChanges;
  /** Subjects the notifier published to, in order. */
  pushes: string[];
  close(): Promise<void>;
}

/** A fresh registry with the lifecycle over it; passports live one day, cluster "mixer-1". */
export async function openLifecycleHarness(): Promise<LifecycleHarness> {
  const t = await openTestRegistry();
  const directory = await RackDirectory.load(t.db);
  const catalog = await ScenarioCatalog.load(t.db);
  const revocations = await RevocationList.load(t.db);
  const writer = new RegistryWriter({
    db: t.db,
    directory,
    pool: await MachineIdPool.load(t.db),
    scenarios: catalog,
    revocations,
  });
  const pushes: string[] = [];
  // Only publish is used by the notifier; the pushes are recorded by subject.
  const nc = { publish: (subject: string) => void pushes.push(subject) } as unknown as NatsConnection;
  const logger = pino({ level: "silent" });
  const counters = new Counters();
  const lifecycle = new RackStatusChanges({
    writer,
    directory,
    issuer: new PassportIssuer({
      clusterKey: TEST_CLUSTER_KEY,
      cluster: "mixer-1",
      ttlMs: DAY,
      skewMs: 120_000,
    }),
    notifier: new RackNotifier({ nc, logger, counters }),
    scenarios: { pushFor: () => null },
    clock: t.clock.now,
    logger,
    counters,
  });
  return {
    t,
    directory,
    writer,
    catalog,
    lifecycle,
    pushes,
    close: async () => {
      await writer.close();
      await t.cleanup();
    },
  };
}
