// The Mixer on a credentialed bus (SPEC §11): startMixer in jwt mode against a real nats-server configured from its own
// data dir, the bootstrap path, a Rack as itself, what the bus refuses a Rack, signed control messages, and the open
// bus (none) keeping its behaviour with signatures added.
import {
  CONTROL_SIGNATURE_HEADER,
  nkeyOf,
  publicKeyFromBase64url,
  verifyControlMessage,
} from "@fluxrig/passport";
import { attachLogsOnFailure, ScriptedRack, tempDir, waitFor } from "@fluxrig/testkit";
import {
  decodeHelloReply,
  decodePassportPush,
  encodeMessage,
  type HelloReply,
  INBOX_PREFIXES,
  rackInboxPrefix,
  rackPassportSubject,
  rackScenarioSubject,
  SUBJECTS,
} from "@fluxrig/wire";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { beforeEach, describe, expect, test } from "vitest";
import type { UserNats } from "../../src/bus-auth/claims.js";
import { decodeJwt } from "../../src/bus-auth/jwt-codec.js";
import { NatsAuthRefusedError } from "../../src/runtime/nats-connection.js";
import { violations } from "./jwt-bus.js";
import { resolverConfigFor, startTestMixer } from "./jwt-mixer.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

const SCENARIO = `meta:
  name: demo
  version: 1
racks:
  - name: rack-b1
  - name: rack-b2
gears:
  - name: tick
    type: ticker
    deploy: rack-b1
  - name: sink
    type: counter
    deploy: rack-b2
wires:
  - from: tick.out
    to: sink.in
`;

/** Every key a reply on the shared bootstrap inbox may carry (docs/bus-auth.md). */
const MINIMAL_KEYS = [
  "bus_credential",
  "cluster_key_id",
  "cluster_public_key",
  "heartbeat_interval_ms",
  "status",
  "v",
];

/** Decodes a hello reply after checking its Cluster Key signature against the key the reply names. */
function signedReply(msg: Msg, pinned?: string): HelloReply {
  const decoded = decodeHelloReply(msg.data);
  if (!decoded.ok) throw new Error(`hello reply did not decode: ${decoded.error.message}`);
  verifyControlMessage({
    publicKey: publicKeyFromBase64url(pinned ?? decoded.value.cluster_public_key),
    bytes: msg.data,
    header: msg.headers?.get(CONTROL_SIGNATURE_HEADER),
  });
  return decoded.value;
}

/** Collects every message on `subject`. */
function collect(nc: NatsConnection, subject: string): Msg[] {
  const got: Msg[] = [];
  nc.subscribe(subject, { callback: (_err, msg) => void got.push(msg) });
  return got;
}

describe("the Mixer in jwt mode", () => {
  test("bootstrap hello: minimal reply with a JWT for the proven key; as itself the full reply comes on _INBOX.<name>; a bootstrap eavesdropper learns only status and JWT", async () => {
    await using m = await startTestMixer({ auth: "jwt" });
    const eavesdropper = await m.connectBootstrap();
    const overheard = collect(eavesdropper, `${INBOX_PREFIXES.bootstrap}.>`);
    await eavesdropper.flush();

    const boot = await m.connectBootstrap();
    const rack = new ScriptedRack(boot, "rack-1");
    const first = await boot.request(SUBJECTS.hello, encodeMessage(rack.buildHello()), { timeout: 10_000 });
    expect(first.subject.startsWith(`${INBOX_PREFIXES.bootstrap}.`)).toBe(true);
    const minimal = signedReply(first);
    expect(Object.keys(minimal).sort()).toEqual(MINIMAL_KEYS);
    expect(minimal.status).toBe("pending");
    const claims = decodeJwt<UserNats>(minimal.bus_credential!.jwt);
    expect(claims.sub).toBe(nkeyOf(rack.keys.publicKey, "user"));
    expect(claims.name).toBe("rack-1");
    // Pending: no more than an hour, whatever [enrollment] pending_ttl (24h by default) says.
    expect(claims.exp! - claims.iat).toBe(3_600);
    expect(claims.nats.pub.allow).toEqual([SUBJECTS.hello, "fluxrig.event.heartbeat.rack-1"]);
    await boot.close();

    const own = await m.connectRack({
      name: "rack-1",
      privateKey: rack.keys.privateKey,
      jwt: minimal.bus_credential!.jwt,
    });
    const second = await own.request(SUBJECTS.hello, encodeMessage(rack.buildHello()), { timeout: 10_000 });
    expect(second.subject.startsWith(`${rackInboxPrefix("rack-1")}.`)).toBe(true);
    const full = signedReply(second, minimal.cluster_public_key);
    expect(full).toMatchObject({
      status: "pending",
      entity_id: expect.any(String),
      machine_id: expect.any(Number),
    });
    // The same grant, still fresh: the cached JWT, no second signature.
    expect(full.bus_credential).toEqual(minimal.bus_credential);

    // The eavesdropper got the bootstrap reply (byte for byte) and nothing of the full one.
    await eavesdropper.flush();
    await waitFor(() => overheard.length >= 1, {
      message: "the overheard bootstrap reply",
      timeoutMs: 5_000,
    });
    expect(overheard.map((msg) => msg.string())).toEqual([first.string()]);
    const heard = JSON.parse(overheard[0]!.string()) as Record<string, unknown>;
    expect(heard.entity_id).toBeUndefined();
    expect(heard.machine_id).toBeUndefined();
    expect(heard.passport).toBeUndefined();
  });

  test("a Rack as itself cannot take hellos nor push scenarios; the Mixer's own user can push, signed", async () => {
    await using m = await startTestMixer({ auth: "jwt" });
    const boot = await m.connectBootstrap();
    const rack = new ScriptedRack(boot, "rack-1");
    const minimal = await rack.hello();
    await boot.close();
    const nc = await m.connectRack({
      name: "rack-1",
      privateKey: rack.keys.privateKey,
      jwt: minimal.bus_credential!.jwt,
    });
    const refused = violations(nc);
    const pushes = collect(nc, rackPassportSubject("rack-1"));
    await nc.flush();

    // A fake Mixer: subscribing to hellos is refused, and so is pushing a scenario to any Rack, itself included.
    nc.subscribe(SUBJECTS.hello);
    nc.publish(rackScenarioSubject("rack-2"), encodeMessage({ v: 1 }));
    nc.publish(rackScenarioSubject("rack-1"), encodeMessage({ v: 1 }));
    nc.publish(rackPassportSubject("rack-2"), encodeMessage({ v: 1 }));
    await waitFor(() => refused.length >= 4, { message: "four permission violations", timeoutMs: 5_000 });
    expect(refused.map((e) => `${e.operation} ${e.subject}`).sort()).toEqual(
      [
        `publish ${rackPassportSubject("rack-2")}`,
        `publish ${rackScenarioSubject("rack-1")}`,
        `publish ${rackScenarioSubject("rack-2")}`,
        `subscription ${SUBJECTS.hello}`,
      ].sort(),
    );
    // The Mixer still answers hellos (it alone subscribes) and pushes the adoption, signed by the Cluster Key.
    const asItself = new ScriptedRack(nc, "rack-1", rack.keys);
    expect((await asItself.hello()).status).toBe("pending");
    await m.running.mixer.racks.adopt("rack-1", { actor: "test" });
    await waitFor(() => pushes.length >= 1, { message: "the adoption push", timeoutMs: 5_000 });
    const push = pushes[0]!;
    verifyControlMessage({
      publicKey: minimal.cluster_public_key,
      bytes: push.data,
      header: push.headers?.get(CONTROL_SIGNATURE_HEADER),
    });
    const decoded = decodePassportPush(push.data);
    expect(decoded.ok && decoded.value.kind).toBe("issued");
  });

  test("a Rack adopted by the active scenario gets a grant with its wires: it may publish the wire its gear feeds, no other", async () => {
    await using m = await startTestMixer({ auth: "jwt" });
    await m.running.mixer.scenarios.import(SCENARIO, { actor: "test", dryRun: false, activate: true });
    const boot = await m.connectBootstrap();
    const rack = new ScriptedRack(boot, "rack-b1");
    const minimal = await rack.hello();
    await boot.close();
    expect(minimal.status).toBe("active");
    const grant = decodeJwt<UserNats>(minimal.bus_credential!.jwt);
    expect(grant.exp! - grant.iat).toBe(86_400); // [passport] ttl
    const wires = grant.nats.pub.allow.filter((s) => s.startsWith("fluxrig.msg.demo."));
    expect(wires).toHaveLength(1);
    expect(grant.nats.sub.allow).toContain(rackScenarioSubject("rack-b1"));

    const nc = await m.connectRack({
      name: "rack-b1",
      privateKey: rack.keys.privateKey,
      jwt: minimal.bus_credential!.jwt,
    });
    const refused = violations(nc);
    nc.publish(wires[0]!, encodeMessage({ n: 1 }));
    nc.publish("fluxrig.msg.demo.other-wire", encodeMessage({ n: 1 }));
    await waitFor(() => refused.length >= 1, { message: "the violation", timeoutMs: 5_000 });
    await nc.flush();
    expect(refused.map((e) => `${e.operation} ${e.subject}`)).toEqual([
      "publish fluxrig.msg.demo.other-wire",
    ]);

    // Its hello as itself (session recovery) gets its scenario pushed by the Mixer's user, signed.
    const scenarioPushes = collect(nc, rackScenarioSubject("rack-b1"));
    await nc.flush();
    const recovered = await new ScriptedRack(nc, "rack-b1", rack.keys).hello();
    expect(recovered.status).toBe("active");
    await waitFor(() => scenarioPushes.length >= 1, { message: "the scenario push", timeoutMs: 5_000 });
    verifyControlMessage({
      publicKey: minimal.cluster_public_key,
      bytes: scenarioPushes[0]!.data,
      header: scenarioPushes[0]!.headers?.get(CONTROL_SIGNATURE_HEADER),
    });
    expect(refused).toHaveLength(1);

    // A switch to a scenario that drops rack-b1 takes its wire away; a rollback gives it back: each is a credential
    // push with the new grant (issue 16: rollback is an activation like any other).
    const passportPushes = collect(nc, rackPassportSubject("rack-b1"));
    await nc.flush();
    const wiresGranted = (msg: Msg): string[] => {
      const decoded = decodePassportPush(msg.data);
      if (!decoded.ok) throw new Error(`passport push did not decode: ${decoded.error.message}`);
      expect(decoded.value.kind).toBe("credential");
      const jwt = decoded.value.bus_credential?.jwt ?? "";
      return decodeJwt<UserNats>(jwt).nats.pub.allow.filter((s) => s.startsWith("fluxrig.msg."));
    };
    const other = "meta: { name: other, version: 1 }\nracks: [{ name: rack-b2 }]\n";
    await m.running.mixer.scenarios.import(other, { actor: "test", dryRun: false, activate: true });
    await waitFor(() => passportPushes.length >= 1, {
      message: "the credential without the wire",
      timeoutMs: 5_000,
    });
    expect(wiresGranted(passportPushes[0]!)).toEqual([]);
    await m.running.mixer.scenarios.rollback({ actor: "test" });
    await waitFor(() => passportPushes.length >= 2, {
      message: "the credential with the wire",
      timeoutMs: 5_000,
    });
    expect(wiresGranted(passportPushes[1]!)).toEqual(wires);
  });

  test("after a nats-server restart the Mixer is back as itself, pushes the fleet JWT again, and answers hellos", async () => {
    await using m = await startTestMixer({ auth: "jwt" });
    const pushed = async () => (await m.running.mixer.clusterInfo()).counters["bus.revocations.pushed"] ?? 0;
    expect(await pushed()).toBe(1);
    await m.nats.restart();
    await waitFor(async () => (await pushed()) >= 2, {
      message: "the fleet account JWT pushed after the reconnect",
      timeoutMs: 10_000,
    });
    const boot = await m.connectBootstrap();
    // The fleet connection reconnects on its own schedule: until it has, a hello finds no responders, as a Rack's
    // would (it retries with its backoff).
    const rack = new ScriptedRack(boot, "rack-1");
    const reply = await waitFor(() => rack.hello().catch(() => undefined), {
      message: "the Mixer answering hellos again",
      timeoutMs: 10_000,
    });
    expect(reply.status).toBe("pending");
    expect(reply.bus_credential).toBeDefined();
  });

  test("a server configured from another data dir's keys: one clear error naming nats-config", async () => {
    const other = tempDir("other-keys");
    try {
      const { config } = await resolverConfigFor(other.path);
      const err = await startTestMixer({ auth: "jwt", serverConfig: config }).then(
        async (m) => {
          await m[Symbol.asyncDispose]();
          return null;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NatsAuthRefusedError);
      const message = (err as Error).message;
      expect(message).toMatch(/refused the Mixer's bus credential/);
      expect(message).toMatch(/fluxrig-mixer nats-config/);
      expect(message).not.toContain("\n");
    } finally {
      await other.remove();
    }
  });
});

describe("the Mixer in none mode", () => {
  test("unchanged answers, a loud warning at start, and every reply and push signed (busy replies too)", async () => {
    await using m = await startTestMixer({
      auth: "none",
      env: { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true", FLUXRIG_ENROLLMENT_MAX_INFLIGHT_HELLOS: "1" },
    });
    expect(m.logs.find((l) => String(l.msg).startsWith("BUS AUTHENTICATION IS OFF"))).toMatchObject({
      level: 40,
    });
    const nc = await m.nats.connect();
    const rack = new ScriptedRack(nc, "rack-a");
    const pushes = collect(nc, rackPassportSubject("rack-a"));
    await nc.flush();
    const msg = await nc.request(SUBJECTS.hello, encodeMessage(rack.buildHello()), { timeout: 10_000 });
    const reply = signedReply(msg);
    expect(reply.status).toBe("active");
    expect(reply.passport).toBeDefined();
    expect(reply.bus_credential).toBeUndefined();
    // The reply carried the passport; a push follows an operator's change, signed like the reply.
    await m.running.mixer.racks.revoke("rack-a", { actor: "test" });
    await waitFor(() => pushes.length >= 1, { message: "the status push", timeoutMs: 5_000 });
    verifyControlMessage({
      publicKey: reply.cluster_public_key,
      bytes: pushes[0]!.data,
      header: pushes[0]!.headers?.get(CONTROL_SIGNATURE_HEADER),
    });

    // One hello in flight at a time: a burst gets `unavailable` answers, signed like the rest.
    const burst = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const r = new ScriptedRack(nc, `rack-b${i}`);
        return nc.request(SUBJECTS.hello, encodeMessage(r.buildHello()), { timeout: 10_000 });
      }),
    );
    const replies = burst.map((m) => signedReply(m, reply.cluster_public_key));
    expect(replies.some((r) => r.error?.code === "unavailable")).toBe(true);

    // A hello whose reply subject is not an inbox gets no answer: the Mixer never publishes a reply on a push subject.
    const hijack = collect(nc, rackScenarioSubject("rack-a"));
    nc.publish(SUBJECTS.hello, encodeMessage(rack.buildHello()), { reply: rackScenarioSubject("rack-a") });
    await waitFor(
      async () => (await m.running.mixer.clusterInfo()).counters["hello.dropped.bad_reply_subject"] === 1,
      {
        message: "the hijacking hello dropped",
        timeoutMs: 5_000,
      },
    );
    await nc.flush();
    expect(hijack).toEqual([]);
  });
});
