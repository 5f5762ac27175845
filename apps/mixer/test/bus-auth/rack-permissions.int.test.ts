// Per-Rack bus permissions enforced by a real nats-server 2.10 in JWT mode: a Rack connects with its own Ed25519 key
// (nonce signed by node:crypto), and the bus refuses what its state does not allow.
import { attachLogsOnFailure, waitFor } from "@fluxrig/testkit";
import {
  heartbeatSubject,
  INBOX_PREFIXES,
  rackScenarioSubject,
  type ScenarioPush,
  SUBJECTS,
  wireMessageSubject,
} from "@fluxrig/wire";
import { AuthorizationError, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { beforeEach, describe, expect, test } from "vitest";
import { issueUserJwt } from "../../src/bus-auth/issue-jwt.js";
import { bootstrapUser, credsFileText } from "../../src/bus-auth/service-users.js";
import { nowSeconds, startJwtBus, violations } from "./jwt-bus.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

/** Collects what a subscription receives. */
function collect(nc: NatsConnection, subject: string): string[] {
  const got: string[] = [];
  nc.subscribe(subject, {
    callback: (_err, msg) => {
      got.push(`${msg.subject} ${msg.string()}`);
    },
  });
  return got;
}

/**
 * Publishes `forbidden` then an allowed sentinel from the same connection: the server keeps one connection's order,
 * so once the observer has the sentinel, a forbidden message that got through would already be there too.
 */
async function publishThenSentinel(opts: {
  from: NatsConnection;
  forbidden: string;
  sentinel: string;
  seen: string[];
}): Promise<void> {
  opts.from.publish(opts.forbidden, "forged");
  opts.from.publish(opts.sentinel, "sentinel");
  await waitFor(() => opts.seen.some((line) => line.startsWith(`${opts.sentinel} sentinel`)), {
    message: `sentinel on ${opts.sentinel}`,
    timeoutMs: 5_000,
  });
}

describe("a pending Rack on the bus", () => {
  test("connects with its own key, heartbeats as itself and nobody else", async () => {
    await using bus = await startJwtBus();
    const mixer = await bus.connectMixer();
    const seen = collect(mixer, SUBJECTS.heartbeatAll);
    await mixer.flush();
    const rack = bus.rack({ name: "rack-1", status: "pending" });
    const nc = await bus.connectRack(rack);
    const refused = violations(nc);

    await publishThenSentinel({
      from: nc,
      forbidden: heartbeatSubject("rack-2"),
      sentinel: heartbeatSubject("rack-1"),
      seen,
    });
    expect(seen).toEqual(["fluxrig.event.heartbeat.rack-1 sentinel"]);
    await waitFor(
      () => refused.find((v) => v.operation === "publish" && v.subject === heartbeatSubject("rack-2")),
      {
        message: "the forged heartbeat reported as a violation",
        timeoutMs: 5_000,
      },
    );
  });

  test("cannot eavesdrop on heartbeats or inboxes, nor push a scenario or send gear traffic", async () => {
    await using bus = await startJwtBus();
    const mixer = await bus.connectMixer();
    const seen = collect(mixer, SUBJECTS.heartbeatAll);
    const rack = bus.rack({ name: "rack-1", status: "pending" });
    const victim = await bus.connectRack(bus.rack({ name: "rack-2", status: "active" }));
    const victimPushes = [
      collect(victim, rackScenarioSubject("rack-2")),
      collect(victim, "fluxrig.rack.rack-2.passport"),
    ];
    await victim.flush();
    const nc = await bus.connectRack(rack);
    const refused = violations(nc);

    for (const subject of [SUBJECTS.heartbeatAll, "_INBOX.>", "_INBOX.rack-2.>", SUBJECTS.hello]) {
      nc.subscribe(subject);
    }
    nc.publish(rackScenarioSubject("rack-2"), "forged scenario");
    nc.publish("fluxrig.rack.rack-2.passport", "forged status");
    nc.publish(wireMessageSubject("demo", "feed"), "gear traffic");
    await publishThenSentinel({
      from: nc,
      forbidden: "$SYS.REQ.CLAIMS.UPDATE",
      sentinel: heartbeatSubject("rack-1"),
      seen,
    });

    const expected = [
      ["subscription", SUBJECTS.heartbeatAll],
      ["subscription", "_INBOX.>"],
      ["subscription", "_INBOX.rack-2.>"],
      ["subscription", SUBJECTS.hello],
      ["publish", rackScenarioSubject("rack-2")],
      ["publish", "fluxrig.rack.rack-2.passport"],
      ["publish", wireMessageSubject("demo", "feed")],
      ["publish", "$SYS.REQ.CLAIMS.UPDATE"],
    ];
    await waitFor(
      () => expected.every(([op, s]) => refused.some((v) => v.operation === op && v.subject === s)),
      {
        message: "every attempt refused by the server",
        timeoutMs: 5_000,
      },
    );
    // The victim subscribed before the forgeries and shares the server: it would have them by now.
    await victim.flush();
    expect(victimPushes).toEqual([[], []]);
  });

  test("sends a hello and gets the Mixer's reply on its own inbox; the Mixer alone reads hellos", async () => {
    await using bus = await startJwtBus();
    const mixer = await bus.connectMixer();
    mixer.subscribe(SUBJECTS.hello, {
      callback: (_err, msg) => {
        msg.respond(`welcome ${msg.string()}`);
      },
    });
    await mixer.flush();
    const nc = await bus.connectRack(bus.rack({ name: "rack-1", status: "pending" }));
    const reply = await nc.request(SUBJECTS.hello, "rack-1", { timeout: 5_000 });
    expect(reply.string()).toBe("welcome rack-1");
    expect(reply.subject.startsWith("_INBOX.rack-1.")).toBe(true);

    const fakeMixer = await bus.connectRack(bus.rack({ name: "rack-2", status: "pending" }));
    const refused = violations(fakeMixer);
    fakeMixer.subscribe(SUBJECTS.hello, { queue: "mixers" });
    await waitFor(() => refused.some((v) => v.operation === "subscription" && v.subject === SUBJECTS.hello), {
      message: "a Rack answering hellos refused",
      timeoutMs: 5_000,
    });
  });
});

describe("an adopted Rack on the bus", () => {
  test("publishes only the wires its gears source, receives its scenario push", async () => {
    await using bus = await startJwtBus();
    const push: Pick<ScenarioPush, "scenario" | "gears" | "wires"> = {
      scenario: { name: "demo", version: "1" },
      gears: [{ name: "sensor", type: "mqtt.source", config: {} }],
      wires: [
        { name: "feed", from: "sensor.out", to: "sink.in", subject: wireMessageSubject("demo", "feed") },
      ],
    };
    const mixer = await bus.connectMixer();
    const rack = bus.rack({ name: "rack-1", status: "active", scenario: push });
    const nc = await bus.connectRack(rack);
    const pushes = collect(nc, rackScenarioSubject("rack-1"));
    const sink = await bus.connectRack(
      bus.rack({
        name: "rack-2",
        status: "active",
        scenario: { ...push, gears: [{ name: "sink", type: "log", config: {} }] },
      }),
    );
    const data = collect(sink, wireMessageSubject("demo", "feed"));
    await Promise.all([nc.flush(), sink.flush()]);
    const refused = violations(nc);

    mixer.publish(rackScenarioSubject("rack-1"), "scenario");
    await waitFor(() => pushes.length === 1, { message: "scenario push delivered", timeoutMs: 5_000 });
    await publishThenSentinel({
      from: nc,
      forbidden: wireMessageSubject("demo", "other"),
      sentinel: wireMessageSubject("demo", "feed"),
      seen: data,
    });
    expect(data).toEqual(["fluxrig.msg.demo.feed sentinel"]);
    await waitFor(() => refused.some((v) => v.subject === wireMessageSubject("demo", "other")), {
      message: "a wire it does not own refused",
      timeoutMs: 5_000,
    });
  });
});

describe("the bootstrap credential and the system account", () => {
  test("the bootstrap user (a .creds file) sends hellos, reads bootstrap replies, and nothing more", async () => {
    await using bus = await startJwtBus();
    const mixer = await bus.connectMixer();
    mixer.subscribe(SUBJECTS.hello, {
      callback: (_err, msg) => {
        msg.respond("pending");
      },
    });
    await mixer.flush();
    const creds = credsFileText(bootstrapUser(bus.keys, { nowSeconds: nowSeconds(), ttlSeconds: 3600 }));
    const nc = await bus.nats.connect({
      authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
      inboxPrefix: INBOX_PREFIXES.bootstrap,
    });
    expect((await nc.request(SUBJECTS.hello, "new", { timeout: 5_000 })).string()).toBe("pending");
    const refused = violations(nc);
    nc.publish(heartbeatSubject("rack-1"), "forged");
    nc.subscribe("_INBOX.rack-1.>");
    await waitFor(() => refused.length === 2, { message: "both refused", timeoutMs: 5_000 });
  });

  test("only the Mixer can use the system account: a user there signed by another key is refused", async () => {
    await using bus = await startJwtBus();
    const sys = await bus.connectSystem();
    await sys.flush();
    const rack = bus.rack({ name: "rack-1", status: "pending" });
    const forged = issueUserJwt({
      signer: bus.keys.fleetSigning,
      account: bus.keys.system.nkey,
      publicKey: rack.publicKey,
      name: "intruder",
      permissions: { pub: { allow: [">"], deny: [] }, sub: { allow: [">"], deny: [] } },
      ttlSeconds: 60,
      nowSeconds: nowSeconds(),
    });
    const err = await bus.connectRack({ ...rack, jwt: forged.jwt }, { reconnect: false }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthorizationError);
  });
});
