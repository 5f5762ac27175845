// Realistic sample messages for the wire tests and benchmarks, built fresh per call so tests can mutate them.
import type { KeyObject } from "node:crypto";
import { generateKeyPair, keyId, publicKeyToBase64url, signBytes } from "@fluxrig/passport";
import {
  decodeHeartbeat,
  decodeHelloReply,
  decodeHelloRequest,
  decodePassportPush,
  decodeScenarioPush,
} from "../src/decoders.js";
import { HeartbeatSchema } from "../src/heartbeat-schema.js";
import { HelloReplySchema, HelloRequestSchema } from "../src/hello-schemas.js";
import { signHello } from "../src/hello-signature.js";
import type { Heartbeat, HelloReply, HelloRequest, PassportPush, ScenarioPush } from "../src/index.js";
import type { WirePassportEnvelope } from "../src/passport-envelope-schema.js";
import { PassportPushSchema, ScenarioPushSchema } from "../src/push-schemas.js";

export const TS = "2025-03-14T09:26:53.589Z";

/** A structurally valid envelope signed by a throwaway cluster key (content is not a real passport payload). */
export function sampleEnvelope(cluster: {
  privateKey: KeyObject;
  publicKey: KeyObject;
}): WirePassportEnvelope {
  const payload = Buffer.from(JSON.stringify({ name: "rack-nyc-01", status: "active", serial: 7 }), "utf8");
  return {
    format: "fluxrig.passport",
    v: 1,
    kid: keyId(cluster.publicKey),
    payload: payload.toString("base64url"),
    sig: signBytes(cluster.privateKey, payload).toString("base64url"),
  };
}

export function sampleHeartbeat(): Heartbeat {
  return {
    v: 1,
    entity_id: "216282733276561408",
    name: "rack-warehouse-nyc-east-building-b-01",
    status: "active",
    seq: 4821,
    session: "Jw3qv9QbT1m8cS5kXo2LzAq0c7Yd4TnW1r8Hk2sPfVb",
    version: "1.4.2+build.20250314T0926.g1a2b3c4",
    stats: {
      // Gauges as a Rack computes them: doubles with all their digits.
      cpu: { process_pct: 3.7519184782608694, host_pct: 41.21739130434783 },
      mem: { rss_bytes: 84_312_064, heap_used_bytes: 31_457_280 },
      event_loop_lag_ms: 1.3702399999999999,
      active_handles: 14,
      uptime_s: 86_412.517893402,
      gears: { running: 16, failed: 1, restarts: 23 },
      messages: { in: 1_048_576_381, out: 1_046_002_917 },
    },
    ts: TS,
  };
}

export function sampleUnsignedHello(rack: { publicKey: KeyObject }): Omit<HelloRequest, "sig"> {
  return {
    v: 1,
    name: "rack-nyc-01",
    public_key: publicKeyToBase64url(rack.publicKey),
    version: "1.4.2",
    attributes: {
      hostname: "edge-nyc-01.example.net",
      os: "linux",
      arch: "arm64",
      mac: ["02:42:ac:11:00:02", "3c:22:fb:10:aa:01"],
      cpus: 4,
      total_mem_bytes: 4_294_967_296,
      virtual: false,
    },
    nonce: Buffer.alloc(16, 7).toString("base64url"),
    ts: TS,
  };
}

export function sampleHelloReply(cluster: { privateKey: KeyObject; publicKey: KeyObject }): HelloReply {
  return {
    v: 1,
    status: "active",
    entity_id: "216282733276561408",
    machine_id: 100,
    cluster_public_key: publicKeyToBase64url(cluster.publicKey),
    cluster_key_id: keyId(cluster.publicKey),
    heartbeat_interval_ms: 5000,
    passport: sampleEnvelope(cluster),
  };
}

export function samplePassportPush(cluster: { privateKey: KeyObject; publicKey: KeyObject }): PassportPush {
  return {
    v: 1,
    kind: "renewed",
    status: "active",
    passport: sampleEnvelope(cluster),
    reason: "renewal",
    ts: TS,
  };
}

export function sampleScenarioPush(): ScenarioPush {
  return {
    v: 1,
    scenario: { name: "cold-chain", version: "3" },
    gears: [
      {
        name: "temp-sensor",
        type: "mqtt.source",
        config: { topic: "sensors/temp", qos: 1, tags: ["a", "b"] },
      },
      {
        name: "alarm",
        type: "http/sink",
        config: { url: "https://alarm.example.net/hook", retry: { max: 3 } },
      },
    ],
    wires: [
      {
        name: "temp-feed",
        from: "temp-sensor.out",
        to: "alarm.in",
        subject: "fluxrig.msg.cold-chain.temp-feed",
      },
    ],
    ts: TS,
  };
}

type KeyPair = { privateKey: KeyObject; publicKey: KeyObject };

/** Every message kind with its decoder, its schema and a maker of fresh valid samples signed by these keys. */
export function messageKinds(keys: { rack: KeyPair; cluster: KeyPair }) {
  const { rack, cluster } = keys;
  return [
    {
      name: "hello request",
      decode: decodeHelloRequest,
      schema: HelloRequestSchema,
      make: () => signHello(sampleUnsignedHello(rack), rack.privateKey),
    },
    {
      name: "hello reply",
      decode: decodeHelloReply,
      schema: HelloReplySchema,
      make: () => sampleHelloReply(cluster),
    },
    { name: "heartbeat", decode: decodeHeartbeat, schema: HeartbeatSchema, make: sampleHeartbeat },
    {
      name: "passport push",
      decode: decodePassportPush,
      schema: PassportPushSchema,
      make: () => samplePassportPush(cluster),
    },
    {
      name: "scenario push",
      decode: decodeScenarioPush,
      schema: ScenarioPushSchema,
      make: sampleScenarioPush,
    },
  ] as const;
}

export { generateKeyPair };
