// The one-hello bootstrap (issue 14): a new Rack's hello on the shared bootstrap inbox carries a reply key, and the
// real Mixer answers with the full reply sealed to it. Another bootstrap holder overhears the bytes and cannot open
// them; a changed byte is refused; the Rack is done enrolling in one hello, with its passport and the right grant.
import {
  CONTROL_SIGNATURE_HEADER,
  ControlSignatureError,
  nkeyOf,
  publicKeyFromBase64url,
  verifyControlMessage,
} from "@fluxrig/passport";
import { attachLogsOnFailure, ScriptedRack, waitFor } from "@fluxrig/testkit";
import {
  decodeHelloReply,
  encodeMessage,
  type HelloReply,
  INBOX_PREFIXES,
  openSealedHelloReply,
  rackScenarioSubject,
  SUBJECTS,
  WireDecodeError,
} from "@fluxrig/wire";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { beforeEach, describe, expect, test } from "vitest";
import type { UserNats } from "../../src/bus-auth/claims.js";
import { decodeJwt } from "../../src/bus-auth/jwt-codec.js";
import { bootstrapUser, credsFileText } from "../../src/bus-auth/service-users.js";
import { nowSeconds, violations } from "./jwt-bus.js";
import { startTestMixer } from "./jwt-mixer.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

const SCENARIO = `meta:
  name: demo
  version: 1
racks:
  - name: rack-s1
  - name: rack-s2
gears:
  - name: tick
    type: ticker
    deploy: rack-s1
  - name: sink
    type: counter
    deploy: rack-s2
wires:
  - from: tick.out
    to: sink.in
`;

/** What a sealed reply shows in clear: the minimal reply less its credential, and the box. */
const SEALED_CLEAR_KEYS = [
  "cluster_key_id",
  "cluster_public_key",
  "heartbeat_interval_ms",
  "sealed",
  "status",
  "v",
];

function collect(nc: NatsConnection, subject: string): Msg[] {
  const got: Msg[] = [];
  nc.subscribe(subject, { callback: (_err, msg) => void got.push(msg) });
  return got;
}

function decoded(msg: Msg): HelloReply {
  const d = decodeHelloReply(msg.data);
  if (!d.ok) throw new Error(`hello reply did not decode: ${d.error.message}`);
  return d.value;
}

describe("sealed hello replies on the bootstrap inbox (real Mixer, nats-server in JWT mode)", () => {
  test("another bootstrap holder overhears the sealed reply and cannot read it; the Rack can", async () => {
    await using m = await startTestMixer({ auth: "jwt" });
    // The eavesdropper holds the same bootstrap credential and listens to every bootstrap reply.
    const eavesdropper = await m.connectBootstrap();
    const overheard = collect(eavesdropper, `${INBOX_PREFIXES.bootstrap}.>`);
    await eavesdropper.flush();
    // It also says hello with a reply key of its own: that key opens its own reply only.
    const spy = new ScriptedRack(eavesdropper, "rack-spy", undefined, { signatures: "require" });
    await spy.hello({ sealed: true });
    const spyKey = spy.replyKey!;

    const boot = await m.connectBootstrap();
    const rack = new ScriptedRack(boot, "rack-s0", undefined, { signatures: "require" });
    const full = await rack.hello({ sealed: true });
    await boot.close();
    expect(full).toMatchObject({
      status: "pending",
      entity_id: expect.any(String),
      machine_id: expect.any(Number),
    });
    expect(decodeJwt<UserNats>(full.bus_credential!.jwt).sub).toBe(nkeyOf(rack.keys.publicKey, "user"));
    expect(Object.keys(rack.lastClearReply!).sort()).toEqual(SEALED_CLEAR_KEYS);

    await waitFor(() => overheard.length >= 2, {
      message: "both bootstrap replies overheard",
      timeoutMs: 5_000,
    });
    const heard = overheard.map(decoded).filter((r) => r.sealed !== undefined);
    expect(heard).toHaveLength(2);
    const text = overheard.map((msg) => msg.string()).join("\n");
    expect(text).not.toContain(full.entity_id!);
    expect(text).not.toContain(full.bus_credential!.jwt);
    expect(text).not.toContain('"passport"');
    // Whichever of the two is the Rack's, the spy's key opens only its own.
    const opened = heard.map((reply) => {
      try {
        return openSealedHelloReply(reply, spyKey, spy.publicKey).entity_id;
      } catch (error) {
        if (error instanceof WireDecodeError) return "refused";
        throw error;
      }
    });
    expect(opened.sort()).toEqual([spy.entityId, "refused"].sort());
    // Nor can it claim to be the Rack: the box is bound to the Rack's key as well as to its reply key.
    const rackReply = heard.find((r) => r.sealed?.ct === rack.lastClearReply?.sealed?.ct)!;
    expect(rackReply).toBeDefined();
    expect(() => openSealedHelloReply(rackReply, spyKey, rack.publicKey)).toThrow(WireDecodeError);
  });

  test("a changed byte in a sealed reply is refused: by the signature, and by the box even under a valid signature", async () => {
    await using m = await startTestMixer({ auth: "jwt" });
    const boot = await m.connectBootstrap();
    const rack = new ScriptedRack(boot, "rack-t0");
    const msg = await boot.request(SUBJECTS.hello, encodeMessage(rack.buildHello({ sealed: true })), {
      timeout: 10_000,
    });
    await boot.close();
    const header = msg.headers?.get(CONTROL_SIGNATURE_HEADER);
    const clear = decoded(msg);
    const pin = publicKeyFromBase64url(clear.cluster_public_key);
    verifyControlMessage({ publicKey: pin, bytes: msg.data, header });
    const ct = Buffer.from(clear.sealed!.ct, "base64url");
    ct[ct.length >> 1]! ^= 0x20;
    const tampered: HelloReply = { ...clear, sealed: { ...clear.sealed!, ct: ct.toString("base64url") } };
    // On the wire: the bytes no longer match the Cluster Key's signature, so a Rack drops the reply.
    expect(() => verifyControlMessage({ publicKey: pin, bytes: encodeMessage(tampered), header })).toThrow(
      ControlSignatureError,
    );
    // And the box itself does not open (what a Rack would meet if the signature were somehow bypassed).
    expect(() => openSealedHelloReply(tampered, rack.replyKey!, rack.publicKey)).toThrow(WireDecodeError);
    // A status changed in clear disagrees with the sealed one.
    expect(() =>
      openSealedHelloReply({ ...clear, status: "active" }, rack.replyKey!, rack.publicKey),
    ).toThrow(/disagrees/);
    expect(openSealedHelloReply(clear, rack.replyKey!, rack.publicKey).status).toBe("pending");
  });

  test("one hello: adopted by the active scenario, active with its passport and its wires' grant, heartbeating as itself", async () => {
    await using m = await startTestMixer({ auth: "jwt" });
    await m.running.mixer.scenarios.import(SCENARIO, { actor: "test", dryRun: false, activate: true });
    const before = m.running.mixer.counters.get("hello.sealed");
    const rack = await ScriptedRack.enrollJwt({
      servers: m.nats.url,
      name: "rack-s1",
      bootstrapCreds: credsFileText(bootstrapUser(m.keys!, { nowSeconds: nowSeconds(), ttlSeconds: 3600 })),
      sealed: true,
    });
    try {
      expect(rack.lastReply).toMatchObject({
        status: "active",
        entity_id: expect.any(String),
        scenario: { name: "demo", version: "1" },
      });
      expect(rack.passport).toBeDefined();
      expect(m.running.mixer.counters.get("hello.sealed")).toBe(before + 1);
      const grant = decodeJwt<UserNats>(rack.busCredential!.jwt);
      expect(grant.sub).toBe(nkeyOf(rack.keys.publicKey, "user"));
      expect(grant.exp! - grant.iat).toBe(86_400); // an adopted Rack's: [passport] ttl
      expect(grant.nats.pub.allow.filter((s) => s.startsWith("fluxrig.msg.demo."))).toHaveLength(1);
      expect(grant.nats.sub.allow).toContain(rackScenarioSubject("rack-s1"));
      // Only one hello reached the Mixer: the bootstrap one.
      expect(m.running.mixer.counters.get("hello.recovered")).toBe(0);
      expect(m.running.mixer.counters.get("hello.passport_resent")).toBe(0);

      // As itself it heartbeats on its own subject with its entity id, and the bus lets it.
      const refused = violations(rack.nc);
      rack.heartbeat();
      await rack.nc.flush();
      await waitFor(() => m.running.mixer.counters.get("heartbeat.accepted") >= 1, {
        message: "the Rack's heartbeat accepted (its entity id came in the sealed reply)",
        timeoutMs: 5_000,
      });
      expect(m.running.mixer.counters.get("heartbeat.dropped.entity_mismatch")).toBe(0);
      expect(refused).toEqual([]);
    } finally {
      await rack.close();
    }
  });
});
