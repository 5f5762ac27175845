// Test fixture for the fleet layer: a RackLifecycle over a real DuckDB file, the group-commit writer and a fake bus
// that records the subjects pushed to.
import { generateKeyPair, keyId, publicKeyToBase64url } from "@fluxrig/passport";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { PassportIssuer } from "../passports/passport-issuer.js";
import { MachineIdPool } from "../registry/machine-id-pool.js";
import { RackDirectory } from "../registry/rack-directory.js";
import { openTestRegistry, type TestRegistry } from "../registry/registry-test-harness.js";
import { RegistryWriter } from "../registry/registry-writer.js";
import { ScenarioCatalog } from "../registry/scenario-catalog.js";
import type { ClusterKey } from "../runtime/cluster-key.js";
import { Counters } from "../runtime/counters.js";
import { RackLifecycle } from "./rack-lifecycle.js";
import { RackNotifier } from "./rack-notifier.js";

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
  lifecycle: RackLifecycle;
  /** Subjects the notifier published to, in order. */
  pushes: string[];
  close(): Promise<void>;
}

/** A fresh registry with the lifecycle over it; passports live one day, cluster "mixer-1". */
export async function openLifecycleHarness(): Promise<LifecycleHarness> {
  const t = await openTestRegistry();
  const directory = await RackDirectory.load(t.db);
  const writer = new RegistryWriter({
    db: t.db,
    directory,
    pool: await MachineIdPool.load(t.db),
    scenarios: await ScenarioCatalog.load(t.db),
  });
  const pushes: string[] = [];
  // Only publish is used by the notifier; the pushes are recorded by subject.
  const nc = { publish: (subject: string) => void pushes.push(subject) } as unknown as NatsConnection;
  const logger = pino({ level: "silent" });
  const counters = new Counters();
  const lifecycle = new RackLifecycle({
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
    lifecycle,
    pushes,
    close: async () => {
      await writer.close();
      await t.cleanup();
    },
  };
}
