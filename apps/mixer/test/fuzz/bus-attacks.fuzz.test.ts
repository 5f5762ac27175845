// Attacks on the bus itself, against a real Mixer process with nats-server in JWT mode (SPEC §11). Every attack that
// docs/reliability.md once listed under "What the bus still allows" is tried by a holder of a real credential (an
// adopted Rack, a pending Rack, the shared bootstrap .creds) and must be refused by nats-server, with the victim's
// row, its pushes and the Mixer's counters untouched. A property then aims random subjects outside the attacker's
// grant at the bus: every one must be refused. The open-bus robustness of the Mixer's decoding stays in
// heartbeat.fuzz.test.ts and hello.fuzz.test.ts.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { MixerHarness, ScriptedRack, waitFor } from "@fluxrig/testkit";
import {
  encodeMessage,
  heartbeatSubject,
  INBOX_PREFIXES,
  rackPassportSubject,
  rackScenarioSubject,
  SUBJECTS,
  wireMessageSubject,
} from "@fluxrig/wire";
import { type NatsConnection, PermissionViolationError } from "@nats-io/transport-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FuzzRecord } from "./support/fuzz-record.js";
import { assertAlive, counters, delta, racks } from "./support/mixer-state.js";

const record = new FuzzRecord("bus", { sample: 200 });
const SCENARIO = "fz-bus";
const SCENARIO_YAML = `meta:
  name: ${SCENARIO}
  version: 1
racks:
  - name: fz-source
  - name: fz-sink
gears:
  - name: tick
    type: ticker
    deploy: fz-source
    config: { interval: 1h }
  - name: relay
    type: transform
    deploy: fz-sink
    config: { set: { via: sink } }
  - name: tally
    type: counter
    deploy: fz-source
    config: { every: 1000 }
wires:
  - name: ticks
    from: tick.out
    to: relay.in
  - name: back
    from: relay.out
    to: tally.in
`;

let h: MixerHarness;
let creds: Buffer;
/** Adopted; runs `tick` (source of wire `ticks`) and `tally` (target of wire `back`). The attacker. */
let source: ScriptedRack;
/** Adopted; runs `relay`. The victim of the forged heartbeats and pushes. */
let sink: ScriptedRack;
/** Pending: heartbeat-only at the bus. */
let pending: ScriptedRack;
/** A client holding only the shared bootstrap credential. */
let bootstrap: NatsConnection;
const violationsOf = new Map<NatsConnection, PermissionViolationError[]>();

/** Starts recording what the server refuses on a connection (nats.js reports each `-ERR 'Permissions Violation'`). */
function watchViolations(nc: NatsConnection): void {
  if (violationsOf.has(nc)) return;
  const seen: PermissionViolationError[] = [];
  violationsOf.set(nc, seen);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error" && s.error instanceof PermissionViolationError) seen.push(s.error);
    }
  })();
}

/**
 * Waits until the server has refused `operation` on `subject` for this connection. The server answers a refused
 * PUB or SUB with an error instead of acting on it, in the connection's order, so once the error is here the message
 * was never delivered and the subscription never made.
 */
async function refusedAtBus(
  nc: NatsConnection,
  operation: "publish" | "subscription",
  subject: string,
): Promise<void> {
  watchViolations(nc);
  await nc.flush();
  await waitFor(
    () => violationsOf.get(nc)?.some((v) => v.operation === operation && v.subject === subject) === true,
    { timeoutMs: 10_000, message: `nats-server refusing ${operation} on ${subject}` },
  );
}

/** Forces a reconnect (the authenticator presents the newest JWT) and resolves once it is back, within a bound. */
async function reconnected(nc: NatsConnection): Promise<void> {
  const back = (async () => {
    for await (const s of nc.status()) if (s.type === "reconnect") return;
  })();
  // nats.js resolves reconnect() when it has dropped the connection, not when the new one is up.
  await nc.reconnect();
  await waitFor(
    () => Promise.race([back.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 100))]),
    { timeoutMs: 10_000, message: "the Rack's connection back with its new credential" },
  );
}

/** Adopted Racks reconnect to take up the grant their new credential carries, as a real Rack does. */
async function takeUpGrant(rack: ScriptedRack): Promise<void> {
  const reply = await rack.hello();
  expect(reply.status).toBe("active");
  expect(reply.bus_credential).toBeDefined();
  await reconnected(rack.nc);
  rack.listenScenario();
  await rack.nc.flush();
}

beforeAll(async () => {
  h = await MixerHarness.create({
    auth: "jwt",
    env: {
      FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: "30m",
      FLUXRIG_PRESENCE_FLUSH_INTERVAL: "100ms",
      FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false",
    },
  });
  creds = await readFile(h.bootstrapCreds);
  const enroll = (name: string) =>
    ScriptedRack.enrollJwt({ servers: h.nats.url, name, bootstrapCreds: creds });
  [source, sink, pending] = await Promise.all([enroll("fz-source"), enroll("fz-sink"), enroll("fz-pending")]);
  const imported = await h.api("/api/v1/scenarios", {
    method: "POST",
    body: SCENARIO_YAML,
    headers: { "content-type": "application/yaml" },
  });
  expect(imported.status).toBeLessThan(300);
  expect((await h.api(`/api/v1/scenarios/${SCENARIO}/activate`, { method: "POST" })).status).toBe(200);
  await takeUpGrant(source);
  await takeUpGrant(sink);
  for (const rack of [source, sink, pending]) watchViolations(rack.nc);
  bootstrap = await h.connectBootstrap();
  watchViolations(bootstrap);
});

afterAll(async () => {
  record.write();
  for (const rack of [source, sink, pending]) await rack?.close();
  await h?.[Symbol.asyncDispose]();
});

/** The victim's presence as the API shows it, once the Mixer has flushed everything it took before now. */
async function settledRow(): Promise<{ last_seen: unknown; stats: unknown }> {
  const start = await counters(h);
  // The victim's own heartbeat marks "everything before it was taken": the Mixer reads one connection in order.
  sink.heartbeat();
  await sink.nc.flush();
  await waitFor(async () => delta(start, await counters(h), "heartbeat.accepted") >= 1, {
    timeoutMs: 10_000,
    message: "the victim's own heartbeat accepted",
  });
  const row = await waitFor(
    async () => {
      const r = (await racks(h)).get(sink.name);
      return r?.last_seen ? r : undefined;
    },
    { timeoutMs: 10_000, message: "the victim's row" },
  );
  return { last_seen: row.last_seen, stats: row.stats };
}

describe("every attack once allowed by the open bus is refused at the bus (jwt mode)", () => {
  test("a heartbeat forged for another Rack (to keep it looking alive) is refused; the victim's row never sees it", async () => {
    const before = await settledRow();
    const start = await counters(h);
    const forged = { ...sink.heartbeatMessage(), session: randomBytes(12).toString("base64url"), seq: 1 };
    forged.stats = { ...forged.stats, cpu: { process_pct: 99, host_pct: 99 } };
    source.nc.publish(heartbeatSubject(sink.name), encodeMessage(forged));
    pending.nc.publish(heartbeatSubject(sink.name), encodeMessage(forged));
    await refusedAtBus(source.nc, "publish", heartbeatSubject(sink.name));
    await refusedAtBus(pending.nc, "publish", heartbeatSubject(sink.name));
    // The attacker's own heartbeat still counts: the refusal is the bus's, not a broken connection.
    source.heartbeat();
    await source.nc.flush();
    await waitFor(async () => delta(start, await counters(h), "heartbeat.accepted") >= 1, {
      timeoutMs: 10_000,
      message: "the attacker's own heartbeat",
    });
    const row = (await racks(h)).get(sink.name);
    expect((row?.stats as { cpu?: { host_pct?: number } } | null)?.cpu?.host_pct).not.toBe(99);
    expect(delta(start, await counters(h), "heartbeat.dropped")).toBe(0);
    expect(before.last_seen).toBeTruthy();
    record.refuse(
      "heartbeat forged for another Rack's name (keep a dead Rack looking alive)",
      "refused by nats-server (publish permission); the victim's row unchanged",
    );
  });

  test("sequence starvation of a live Rack is refused; its own next heartbeats are accepted", async () => {
    const start = await counters(h);
    source.nc.publish(
      heartbeatSubject(sink.name),
      encodeMessage({ ...sink.heartbeatMessage(), seq: 2 ** 40 }),
    );
    await refusedAtBus(source.nc, "publish", heartbeatSubject(sink.name));
    sink.heartbeat();
    sink.heartbeat();
    await sink.nc.flush();
    await waitFor(async () => delta(start, await counters(h), "heartbeat.accepted") >= 2, {
      timeoutMs: 10_000,
      message: "the victim's own two heartbeats accepted",
    });
    expect(delta(start, await counters(h), "heartbeat.dropped.replay")).toBe(0);
    record.refuse(
      "sequence jump injected into a live Rack's session (starve it into offline)",
      "refused by nats-server; the Rack's following heartbeats are accepted",
    );
  });

  test("eavesdropping on every inbox, another Rack's inbox, heartbeats or pushes is refused, bootstrap holders included", async () => {
    const attempts: Array<[NatsConnection, string]> = [
      [source.nc, "_INBOX.>"],
      [source.nc, `${INBOX_PREFIXES.mixer}.>`],
      [source.nc, `_INBOX.${sink.name}.>`],
      [source.nc, SUBJECTS.heartbeatAll],
      [source.nc, rackPassportSubject(sink.name)],
      [pending.nc, "_INBOX.>"],
      [pending.nc, SUBJECTS.heartbeatAll],
      [bootstrap, "_INBOX.>"],
      [bootstrap, `_INBOX.${sink.name}.>`],
      [bootstrap, SUBJECTS.heartbeatAll],
      [bootstrap, ">"],
    ];
    for (const [nc, subject] of attempts) {
      const sub = nc.subscribe(subject);
      await refusedAtBus(nc, "subscription", subject);
      // nats.js ends a refused subscription with the server's error.
      await expect(sub.closed).resolves.toBeInstanceOf(PermissionViolationError);
    }
    record.refuse(
      "subscribing to _INBOX.>, another Rack's inbox, fluxrig.event.heartbeat.> or another Rack's pushes",
      `refused by nats-server for an adopted Rack, a pending Rack and the bootstrap holder (${attempts.length} attempts)`,
    );
  });

  test("forged status and scenario pushes to a Rack are refused before delivery", async () => {
    const pushesBefore = sink.passportPushes.length + sink.scenarioPushes.length;
    const status = { v: 1, kind: "status", status: "revoked", ts: new Date().toISOString() };
    const scenario = {
      v: 1,
      scenario: { name: SCENARIO, version: "9" },
      gears: [],
      wires: [],
      ts: status.ts,
    };
    for (const nc of [source.nc, pending.nc, bootstrap]) {
      nc.publish(rackPassportSubject(sink.name), encodeMessage(status));
      nc.publish(rackScenarioSubject(sink.name), encodeMessage(scenario));
      await refusedAtBus(nc, "publish", rackPassportSubject(sink.name));
      await refusedAtBus(nc, "publish", rackScenarioSubject(sink.name));
    }
    expect(sink.passportPushes.length + sink.scenarioPushes.length).toBe(pushesBefore);
    expect(sink.refusedControlMessages).toEqual([]);
    record.refuse(
      "forged pushes on fluxrig.rack.<name>.passport / .scenario (unsigned scenario and status pushes)",
      "refused by nats-server; and every push must carry the Cluster Key's signature, which the Rack checks",
    );
  });

  test("a fake Mixer can neither take hellos nor answer into a Rack's inbox", async () => {
    for (const nc of [source.nc, pending.nc, bootstrap]) {
      const sub = nc.subscribe(SUBJECTS.hello, { queue: "fluxrig-mixer" });
      await refusedAtBus(nc, "subscription", SUBJECTS.hello);
      await expect(sub.closed).resolves.toBeInstanceOf(PermissionViolationError);
    }
    const forgedReply = `_INBOX.${sink.name}.forged`;
    source.nc.publish(forgedReply, encodeMessage({ v: 1, status: "revoked" }));
    await refusedAtBus(source.nc, "publish", forgedReply);
    // The real Mixer still answers, signed.
    expect((await sink.hello()).status).toBe("active");
    expect(sink.refusedControlMessages).toEqual([]);
    record.refuse(
      "answering hellos as a fake Mixer",
      "refused by nats-server (only the Mixer's user may subscribe to hellos or publish into inboxes); replies are signed",
    );
  });

  test("a pending Rack sends no gear traffic; an adopted Rack publishes only the wires its gears source", async () => {
    const ticks = wireMessageSubject(SCENARIO, "ticks");
    const back = wireMessageSubject(SCENARIO, "back");
    pending.nc.publish(ticks, encodeMessage({ count: 1 }));
    await refusedAtBus(pending.nc, "publish", ticks);

    const received: string[] = [];
    const sinkSub = sink.nc.subscribe(ticks, {
      callback: (_e, m) => {
        received.push(m.string());
      },
    });
    await sink.nc.flush();
    source.nc.publish(back, encodeMessage({ forged: true }));
    await refusedAtBus(source.nc, "publish", back);
    source.nc.publish(ticks, encodeMessage({ count: 7 }));
    await source.nc.flush();
    await waitFor(() => received.length > 0, {
      timeoutMs: 10_000,
      message: "the source's own wire delivered",
    });
    expect(JSON.parse(received[0] ?? "{}")).toMatchObject({ count: 7 });
    sinkSub.unsubscribe();
    // The sink is the target of `ticks`, not its source.
    sink.nc.publish(ticks, encodeMessage({ count: 8 }));
    await refusedAtBus(sink.nc, "publish", ticks);
    record.refuse(
      "a pending Rack publishing gear traffic; an adopted Rack publishing a wire its gears do not source",
      "refused by nats-server; the wires of the active scenario that the Rack sources are delivered",
    );
  });
});

describe("property: every subject outside a credential's grant is refused", () => {
  // Names that are never the attacker's: another Rack's subjects, the Mixer's, the system account's, JetStream's,
  // and gear wires that are not in the scenario or not sourced here.
  const otherName = fc.stringMatching(/^zz-[a-z0-9]{1,12}$/);
  const token = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  const forbidden = fc.oneof(
    otherName.map((n) => heartbeatSubject(n)),
    otherName.map((n) => rackPassportSubject(n)),
    otherName.map((n) => rackScenarioSubject(n)),
    fc.tuple(otherName, token).map(([n, t]) => `_INBOX.${n}.${t}`),
    token.map((t) => `${INBOX_PREFIXES.mixer}.${t}`),
    token.map((t) => `${INBOX_PREFIXES.bootstrap}.${t}`),
    fc.tuple(token, token).map(([s, w]) => wireMessageSubject(`x${s}`.slice(0, 16), w)),
    fc.constantFrom(
      wireMessageSubject(SCENARIO, "back"),
      "$SYS.REQ.CLAIMS.UPDATE",
      "$SYS.REQ.SERVER.PING",
      "$JS.API.INFO",
      "$KV.registry.racks",
      "fluxrig.admin",
      SUBJECTS.heartbeatAll,
    ),
  );

  test("publish: an adopted Rack's random forbidden subjects are each refused, and the Mixer's state does not move", async () => {
    const rec = record.property("publish outside the grant is refused", "any subject");
    const before = await racks(h);
    const sent: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.array(forbidden, { minLength: 1, maxLength: 8 }), async (subjects) => {
        for (const subject of subjects) {
          source.nc.publish(subject, encodeMessage({ v: 1, forged: true }));
          sent.push(subject);
        }
        for (const subject of subjects) await refusedAtBus(source.nc, "publish", subject);
        rec.cases += subjects.length;
      }),
      { numRuns: Math.max(1, Math.ceil(record.runs / 4)), endOnFailure: true },
    );
    const after = await racks(h);
    for (const [name, row] of after) {
      expect({ name, status: row.status }).toEqual({ name, status: before.get(name)?.status });
    }
    rec.outcomes["refused by nats-server"] = sent.length;
    await assertAlive(h);
    rec.ok = true;
  });
});

describe("what the bootstrap credential still allows, by design", () => {
  test("enrolling a new name with a fresh key; the reply on the shared inbox holds only status and a JWT", async () => {
    const spy = bootstrap.subscribe(`${INBOX_PREFIXES.bootstrap}.>`);
    const heard: string[] = [];
    void (async () => {
      for await (const m of spy) heard.push(m.string());
    })();
    await bootstrap.flush();
    const newcomer = await ScriptedRack.enrollJwt({
      servers: h.nats.url,
      name: "fz-newcomer",
      bootstrapCreds: creds,
    });
    await waitFor(() => heard.length > 0, { timeoutMs: 10_000, message: "the bootstrap reply overheard" });
    spy.unsubscribe();
    const overheard = JSON.parse(heard[0] ?? "{}") as Record<string, unknown>;
    expect(Object.keys(overheard).sort()).toEqual(
      [
        "bus_credential",
        "cluster_key_id",
        "cluster_public_key",
        "heartbeat_interval_ms",
        "status",
        "v",
      ].sort(),
    );
    expect(newcomer.lastReply?.status).toBe("pending");
    await newcomer.close();
    record.allow(
      "enrolling new names with fresh keys, for a holder of the bootstrap .creds",
      "allowed by design (pending, heartbeat-only, bounded by [enrollment] max_pending); an eavesdropper on the bootstrap inbox learns a name, a status and a JWT useless without the Rack's key",
    );
  });
});
