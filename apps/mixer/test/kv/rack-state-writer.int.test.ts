// The Rack-state bucket on a real 3-node nats-server 2.10 cluster (R3): opened with direct gets allowed, written by
// two Mixers' writers at once for the same Racks, read back by direct get from every node: each key's final value
// holds the last change of each kind from both writers, every write raised the version by exactly one, and every
// value is signed by the Cluster Key.
import { generateKeyPair, keyId, verifyControlMessage } from "@fluxrig/passport";
import { attachLogsOnFailure, startNatsCluster, waitFor } from "@fluxrig/testkit";
import {
  type BusCredential,
  decodeRackState,
  decodeRackStateRecord,
  type RackState,
  rackStateDirectGetSubject,
  type ScenarioPush,
} from "@fluxrig/wire";
import { jetstreamManager } from "@nats-io/jetstream";
import { Empty, type NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { beforeEach, describe, expect, test } from "vitest";
import { RackStateWriter } from "../../src/fleet/rack-state-writer.js";
import { openRackStateBucket } from "../../src/kv/rack-state-bucket.js";
import { Counters } from "../../src/runtime/counters.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

const RACKS = ["rack-1", "rack-2", "rack-3"];
const CHANGES = 20;

const push = (n: number): ScenarioPush => ({
  v: 1,
  scenario: { name: "line", version: String(n) },
  gears: [],
  wires: [],
  ts: new Date().toISOString(),
});
const credential = (n: number): BusCredential => ({
  jwt: `eyJ0eXAiOiJKV1QifQ.credential-${n}.sig`,
  expires_at: new Date(Date.now() + 3_600_000).toISOString(),
});

/** The key's value as a direct get from `nc` answers it, its signature checked. */
async function readState(
  nc: NatsConnection,
  name: string,
  publicKey: Parameters<typeof verifyControlMessage>[0]["publicKey"],
): Promise<RackState> {
  const msg = await nc.request(rackStateDirectGetSubject(name), Empty, { timeout: 5_000 });
  const record = decodeRackStateRecord(msg.data);
  if (!record.ok) throw record.error;
  const bytes = Buffer.from(record.value.v.data, "base64url");
  verifyControlMessage({ publicKey, bytes, header: record.value.v.signature });
  const state = decodeRackState(bytes);
  if (!state.ok) throw state.error;
  return state.value;
}

describe("Rack-state writers of two Mixers on a 3-node cluster (R3)", () => {
  test("concurrent changes to the same Racks: merged, one version per write, readable from every node", async () => {
    await using cluster = await startNatsCluster({ nodes: 3 });
    const ncA = await cluster.connectTo(0);
    const ncB = await cluster.connectTo(1);
    const key = generateKeyPair();
    const clusterKey = { ...key, kid: keyId(key.publicKey) };
    const counters = { a: new Counters(), b: new Counters() };
    const writer = async (nc: NatsConnection, id: "a" | "b") =>
      new RackStateWriter({
        bucket: await openRackStateBucket(nc, { replicas: 3, writerId: `mixer-${id}` }),
        clusterKey,
        logger: pino({ level: "silent" }),
        counters: counters[id],
      });
    const [a, b] = await Promise.all([writer(ncA, "a"), writer(ncB, "b")]);
    const info = await (await jetstreamManager(ncA)).streams.info("KV_fluxrig_rack_state");
    expect(info.config).toMatchObject({ allow_direct: true, num_replicas: 3, max_msgs_per_subject: 1 });

    // Mixer A pushes scenarios, Mixer B credentials, to the same Racks at the same time.
    for (let n = 1; n <= CHANGES; n++) {
      for (const rack of RACKS) {
        a.record(rack, { scenario: push(n) });
        b.record(rack, { busCredential: credential(n) });
      }
    }
    await Promise.all([a.settled(), b.settled()]);
    const written = (counters.a.get("rack_state.written") ?? 0) + (counters.b.get("rack_state.written") ?? 0);
    expect(counters.a.get("rack_state.failed") ?? 0).toBe(0);
    expect(counters.b.get("rack_state.failed") ?? 0).toBe(0);
    expect(written).toBe(RACKS.length * CHANGES * 2);

    for (const rack of RACKS) {
      // Every node answers the direct get, with the same value once replicated.
      for (let node = 0; node < 3; node++) {
        const nc = await cluster.connectTo(node);
        const state = await waitFor(
          async () => {
            const s = await readState(nc, rack, key.publicKey);
            return s.version === CHANGES * 2 ? s : undefined;
          },
          { timeoutMs: 10_000, message: `${rack} at version ${CHANGES * 2} on node ${node}` },
        );
        expect(state.name).toBe(rack);
        expect(state.scenario?.scenario.version).toBe(String(CHANGES));
        expect(state.bus_credential?.jwt).toBe(credential(CHANGES).jwt);
      }
    }
    // Each conflict was a write of the other Mixer, read again and merged (none lost): counted, not assumed.
    const conflicts =
      (counters.a.get("rack_state.conflicts") ?? 0) + (counters.b.get("rack_state.conflicts") ?? 0);
    console.log(`rack-state writers: ${written} writes, ${conflicts} conflicts resolved by re-reading`);
  });
});
