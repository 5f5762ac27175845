// Cluster mode on the product's JWT bus (real nats-server 2.10 with JetStream and the Mixer's trust chain): an adopted
// Rack reads (direct get) and watches its own key of `fluxrig_rack_state`, and nothing else of JetStream: not another
// Rack's key, not the bucket's other APIs, not a write of its own key. A pending Rack reads nothing.
import { generateKeyPair, keyId, publicKeyToBase64url } from "@fluxrig/passport";
import { waitFor } from "@fluxrig/testkit";
import {
  decodeRackState,
  decodeRackStateRecord,
  type RackStatus,
  rackStateDirectGetSubject,
  rackStateSubject,
  type ScenarioPush,
} from "@fluxrig/wire";
import { Empty, type Msg, type NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueUserJwt } from "../../src/bus-auth/issue-jwt.js";
import { rackPermissions } from "../../src/bus-auth/permissions.js";
import { RackStateWriter } from "../../src/fleet/rack-state-writer.js";
import type { KvBucket } from "../../src/kv/kv-bucket.js";
import { openRackStateBucket } from "../../src/kv/rack-state-bucket.js";
import { Counters } from "../../src/runtime/counters.js";
import { type JwtBus, nowSeconds, startJwtBus, violations } from "./jwt-bus.js";

const BUCKET_STREAM = "KV_fluxrig_rack_state";
let bus: JwtBus;
let mixerNc: NatsConnection;
let bucket: KvBucket;
let writer: RackStateWriter;

const push = (name: string, version: string): ScenarioPush => ({
  v: 1,
  scenario: { name, version },
  gears: [{ name: "tick", type: "ticker", config: { interval: "1s" } }],
  wires: [],
  ts: new Date().toISOString(),
});

/** A Rack on the bus as itself, with the grant the Mixer gives it in cluster mode. */
async function connectRack(
  name: string,
  status: RackStatus & ("pending" | "active"),
): Promise<NatsConnection> {
  const privateKey = generateKeyPair().privateKey;
  const issued = issueUserJwt({
    signer: bus.keys.fleetSigning,
    account: bus.keys.fleet.nkey,
    publicKey: publicKeyToBase64url(privateKey),
    name,
    permissions: rackPermissions({ name, status }, { rackState: true }),
    ttlSeconds: 3600,
    nowSeconds: nowSeconds(),
  });
  return bus.connectRack({ name, privateKey, publicKey: "", nkey: issued.user, jwt: issued.jwt });
}

/** The state version a direct get answered. */
function versionOf(msg: Msg): number {
  const record = decodeRackStateRecord(msg.data);
  if (!record.ok) throw record.error;
  const state = decodeRackState(Buffer.from(record.value.v.data, "base64url"));
  if (!state.ok) throw state.error;
  return state.value.version;
}

beforeAll(async () => {
  bus = await startJwtBus();
  mixerNc = await bus.connectMixer();
  bucket = await openRackStateBucket(mixerNc, { replicas: 1, writerId: "mixer-a" });
  const keys = generateKeyPair();
  writer = new RackStateWriter({
    bucket,
    clusterKey: { ...keys, kid: keyId(keys.publicKey) },
    logger: pino({ level: "silent" }),
    counters: new Counters(),
  });
  writer.record("rack-a", { scenario: push("alpha", "1") });
  writer.record("rack-b", { scenario: push("beta", "1") });
  await writer.settled();
});
afterAll(async () => {
  await mixerNc?.close();
  await bus?.[Symbol.asyncDispose]();
});

describe("a Rack's grant on the state bucket (cluster mode, JWT bus)", () => {
  test("an adopted Rack reads and watches its own key", async () => {
    const rack = await connectRack("rack-a", "active");
    const refused = violations(rack);
    const own = await rack.request(rackStateDirectGetSubject("rack-a"), Empty, { timeout: 2_000 });
    expect(versionOf(own)).toBe(1);

    const seen: number[] = [];
    const sub = rack.subscribe(rackStateSubject("rack-a"), {
      callback: (_err, msg) => {
        seen.push(versionOf(msg));
      },
    });
    await rack.flush();
    writer.record("rack-a", { scenario: push("alpha", "2") });
    await writer.settled();
    await waitFor(() => seen.includes(2), { timeoutMs: 5_000, message: "the watch to see version 2" });
    sub.unsubscribe();
    expect(refused).toEqual([]);
    await rack.close();
  });

  test("it cannot read, watch or write another key, its own key's writes, or any other JetStream subject", async () => {
    const rack = await connectRack("rack-a", "active");
    const refused = violations(rack);
    const attempts: Array<[string, Promise<unknown>]> = [
      [
        "direct get of another Rack's key",
        rack.request(rackStateDirectGetSubject("rack-b"), Empty, { timeout: 1_000 }),
      ],
      [
        "direct get by body",
        rack.request(
          `$JS.API.DIRECT.GET.${BUCKET_STREAM}`,
          JSON.stringify({ last_by_subj: rackStateSubject("rack-b") }),
          {
            timeout: 1_000,
          },
        ),
      ],
      [
        "leader get",
        rack.request(
          `$JS.API.STREAM.MSG.GET.${BUCKET_STREAM}`,
          JSON.stringify({ last_by_subj: rackStateSubject("rack-b") }),
          { timeout: 1_000 },
        ),
      ],
      [
        "filtered consumer on another key",
        rack.request(
          `$JS.API.CONSUMER.CREATE.${BUCKET_STREAM}.peek.${rackStateSubject("rack-b")}`,
          JSON.stringify({
            stream_name: BUCKET_STREAM,
            config: { filter_subject: rackStateSubject("rack-b") },
          }),
          { timeout: 1_000 },
        ),
      ],
      ["stream info", rack.request(`$JS.API.STREAM.INFO.${BUCKET_STREAM}`, Empty, { timeout: 1_000 })],
      ["account info", rack.request("$JS.API.INFO", Empty, { timeout: 1_000 })],
    ];
    const settled = await Promise.allSettled(attempts.map(([, p]) => p));
    settled.forEach((result, i) => {
      expect(result.status, attempts[i]?.[0]).toBe("rejected");
    });
    rack.subscribe(rackStateSubject("rack-b"));
    rack.subscribe("$KV.fluxrig_rack_state.>");
    rack.subscribe("$KV.fluxrig_racks.>");
    // Its own key: readable, never writable.
    rack.publish(rackStateSubject("rack-a"), JSON.stringify({ w: "rack", n: "x", v: {} }));
    await waitFor(() => refused.length >= attempts.length + 4, {
      timeoutMs: 10_000,
      message: `${attempts.length + 4} permission violations`,
    });
    const text = refused.map((e) => e.message).join("\n");
    for (const subject of [
      rackStateDirectGetSubject("rack-b"),
      `$JS.API.DIRECT.GET.${BUCKET_STREAM}`,
      `$JS.API.STREAM.MSG.GET.${BUCKET_STREAM}`,
      `$JS.API.CONSUMER.CREATE.${BUCKET_STREAM}`,
      `$JS.API.STREAM.INFO.${BUCKET_STREAM}`,
      "$JS.API.INFO",
      "$KV.fluxrig_rack_state.>",
      "$KV.fluxrig_racks.>",
    ])
      expect(text).toContain(subject);
    expect(refused.filter((e) => e.message.includes(rackStateSubject("rack-b")))).not.toHaveLength(0);
    expect(
      refused.some((e) => /publish/i.test(e.message) && e.message.includes(rackStateSubject("rack-a"))),
    ).toBe(true);
    // Nothing changed: each key still holds what the Mixer wrote.
    expect((await bucket.get("rack-b"))?.writer).toBe("mixer-a");
    expect((await bucket.get("rack-a"))?.writer).toBe("mixer-a");
    await rack.close();
  });

  test("a pending Rack reads nothing", async () => {
    const rack = await connectRack("rack-a", "pending");
    const refused = violations(rack);
    await expect(
      rack.request(rackStateDirectGetSubject("rack-a"), Empty, { timeout: 1_000 }),
    ).rejects.toThrow();
    rack.subscribe(rackStateSubject("rack-a"));
    await waitFor(() => refused.length >= 2, { timeoutMs: 5_000, message: "two permission violations" });
    await rack.close();
  });
});
