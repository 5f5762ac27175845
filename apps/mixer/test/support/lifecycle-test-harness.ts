// Test fixture for the fleet layer: a RackStatusChanges over a real DuckDB file, the group-commit writer and a fake bus
// that records what was pushed.
import { generateKeyPair, keyId, publicKeyToBase64url } from "@fluxrig/passport";
import type { NatsConnection, PublishOptions } from "@nats-io/transport-node";
import { pino } from "pino";
import { type BusCredentials, OPEN_BUS } from "../../src/bus-auth/bus-credentials.js";
import { RackNotifier } from "../../src/fleet/rack-notifier.js";
import {
  RackStatusChanges,
  type RackStatusChangesDeps,
  type ScenarioSource,
} from "../../src/fleet/rack-status-changes.js";
import { PassportIssuer } from "../../src/passports/passport-issuer.js";
import { MachineIdPool } from "../../src/registry/machine-id-pool.js";
import { RackDirectory } from "../../src/registry/rack-directory.js";
import { RegistryWriter } from "../../src/registry/registry-writer.js";
import { RevocationList } from "../../src/registry/revocation-list.js";
import { ScenarioCatalog } from "../../src/registry/scenario-catalog.js";
import type { ClusterKey } from "../../src/runtime/cluster-key.js";
import { type Clock, Counters } from "../../src/runtime/counters.js";
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
  revocations: RevocationList;
  counters: Counters;
  /** Subjects the notifier published to, in order. */
  pushes: string[];
  /** What the notifier published, in order, decoded. */
  messages: Array<{ subject: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export interface LifecycleHarnessOptions {
  /** Default OPEN_BUS. */
  credentials?: BusCredentials;
  /** Default: no scenario active. */
  scenarios?: ScenarioSource;
  revocations?: RackStatusChangesDeps["revocations"];
  /** Where pushes go (default: recorded only). */
  nc?: NatsConnection;
  /** The lifecycle's clock (default: the registry's hand-driven clock); a real bus needs real time. */
  clock?: Clock;
}

/** A fresh registry with the lifecycle over it; passports live one day, cluster "mixer-1". */
export async function openLifecycleHarness(options: LifecycleHarnessOptions = {}): Promise<LifecycleHarness> {
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
  const messages: LifecycleHarness["messages"] = [];
  // Only publish is used by the notifier; the pushes are recorded, then passed on when a connection is given.
  const nc = {
    publish: (subject: string, data: Uint8Array, opts?: PublishOptions) => {
      pushes.push(subject);
      messages.push({ subject, body: JSON.parse(Buffer.from(data).toString("utf8")) });
      options.nc?.publish(subject, data, opts);
    },
  } as unknown as NatsConnection;
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
    notifier: new RackNotifier({ nc, logger, counters, clusterKey: TEST_CLUSTER_KEY }),
    scenarios: options.scenarios ?? { pushFor: () => null },
    clock: options.clock ?? t.clock.now,
    logger,
    counters,
    credentials: options.credentials ?? OPEN_BUS,
    ...(options.revocations ? { revocations: options.revocations } : {}),
  });
  return {
    t,
    directory,
    writer,
    catalog,
    lifecycle,
    revocations,
    counters,
    pushes,
    messages,
    close: async () => {
      await lifecycle.close();
      await writer.close();
      await t.cleanup();
    },
  };
}
