// The Rack on a credentialed bus (issue 14), against a real nats-server in JWT mode and a scripted Mixer that uses the
// Mixer's own bus-auth code to issue credentials: bootstrap, then its own JWT; the JWT reused at restart; a wider
// grant reconnects; refusal by the bus (revoked key, name taken) leaves the Rack passive with its gears stopped.
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CONTROL_SIGNATURE_HEADER } from "@fluxrig/passport";
import { spawnBinary, type TempDir, tempDir, waitFor } from "@fluxrig/testkit";
import { type BusCredential, encodeMessage, rackStateSubject, type ScenarioPush } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import { pushAccountJwt } from "../../mixer/src/bus-auth/claims-push.js";
import { issueUserJwt } from "../../mixer/src/bus-auth/issue-jwt.js";
import { rackPermissions } from "../../mixer/src/bus-auth/permissions.js";
import { bootstrapUser, credsFileText } from "../../mixer/src/bus-auth/service-users.js";
import { fleetAccountJwt, revokeUser } from "../../mixer/src/bus-auth/trust-chain.js";
import { type JwtBus, nowSeconds, startJwtBus } from "../../mixer/test/bus-auth/jwt-bus.js";
import { loadCredsFile } from "../src/bus/creds-file.js";
import { startRack, type TestRack } from "./support/in-process-rack.js";
import { ScriptedMixer, tickerScenarioPush } from "./support/scripted-mixer.js";

let bus: JwtBus;
let mixerNc: NatsConnection;
let sysNc: NatsConnection;
let creds: Uint8Array;
let dir: TempDir;

beforeAll(async () => {
  bus = await startJwtBus();
  mixerNc = await bus.connectMixer();
  sysNc = await bus.connectSystem();
  dir = tempDir("rack-jwt-bus");
  const path = join(dir.path, "bootstrap.creds");
  await writeFile(
    path,
    credsFileText(bootstrapUser(bus.keys, { nowSeconds: nowSeconds(), ttlSeconds: 3600 })),
    {
      mode: 0o600,
    },
  );
  creds = await loadCredsFile(path);
});
afterAll(async () => {
  await mixerNc?.close();
  await sysNc?.close();
  await bus?.[Symbol.asyncDispose]();
  await dir?.remove();
});

/** Each Rack's scenario, from which its adopted grant's wires are derived (as the Mixer does). */
const scenarios = new Map<string, ScenarioPush>();
/** Credential lifetimes other than an hour, by Rack name. */
const ttls = new Map<string, number>();
/** Racks whose grant is cluster mode's: the read and watch of their own state key. */
const stateWatchers = new Set<string>();

function issue(
  rack: { name: string; publicKey: string; status: "pending" | "active" },
  at = nowSeconds(),
): BusCredential {
  const issued = issueUserJwt({
    signer: bus.keys.fleetSigning,
    account: bus.keys.fleet.nkey,
    publicKey: rack.publicKey,
    name: rack.name,
    permissions: rackPermissions(
      { ...rack, scenario: scenarios.get(rack.name) },
      { rackState: stateWatchers.has(rack.name) },
    ),
    ttlSeconds: ttls.get(rack.name) ?? 3600,
    nowSeconds: at,
  });
  return { jwt: issued.jwt, expires_at: new Date(issued.expiresAt * 1000).toISOString() };
}

async function mixer(
  mode: "pending" | "active" = "pending",
  seal: boolean | "tamper" = true,
): Promise<ScriptedMixer> {
  const m = await ScriptedMixer.start(mixerNc, { mode, credentials: issue, heartbeatIntervalMs: 200, seal });
  onTestFinished(() => m.stop());
  return m;
}

async function rack(name: string, stateDir: string): Promise<TestRack> {
  const t = await startRack({ name, stateDir, bus: { url: bus.nats.url, creds } });
  onTestFinished(() => t.rack.stop("test done"));
  return t;
}

/** Revokes a Rack's key on the bus, as the Mixer's cut-off does: the server closes its connection. */
async function revokeOnBus(name: string, m: ScriptedMixer): Promise<void> {
  const key = m.hellos.findLast((h) => h.name === name)?.public_key;
  if (key === undefined) throw new Error(`${name} never said hello`);
  const user = issue({ name, publicKey: key, status: "pending" }).jwt;
  const sub = JSON.parse(Buffer.from(user.split(".")[1] ?? "", "base64url").toString()).sub as string;
  bus.revocations = revokeUser(bus.revocations, { user: sub, nowSeconds: nowSeconds() });
  const jwt = fleetAccountJwt(bus.keys, { revocations: bus.revocations, nowSeconds: nowSeconds() });
  await pushAccountJwt(sysNc, { jwt, account: bus.keys.fleet.nkey, operator: bus.keys.operator.nkey });
}

/** The reply to a hello said on connecting as itself: the second hello of the two-hello flow, or a pending Rack's. */
const helloAsItselfOnConnect = (e: Record<string, unknown>): boolean =>
  e.msg === "hello: reply" && e.why === "connected" && e.bus === "self";

describe("a Rack on a JWT-mode bus", () => {
  test("pending: the full reply sealed to its reply key on the bootstrap inbox, its own JWT, one hello as itself", async () => {
    const m = await mixer("pending");
    const state = tempDir("jwt-bootstrap");
    onTestFinished(() => state.remove());
    const t = await rack("rack-jwt-1", state.path);

    await t.waitForState("pending");
    await t.waitForLog({ msg: "bus: connected (as this Rack, with its own credential)" });
    expect(m.helloInboxes[0]).toMatch(/^_INBOX\._bootstrap\./);
    expect(m.hellos[0]?.reply_key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // As itself it may heartbeat: the Mixer hears it, with the entity id only the sealed full reply carried.
    await waitFor(() => m.beats("pending").some((h) => h.name === "rack-jwt-1"), {
      message: "pending heartbeats",
    });
    expect(t.rack.snapshot()).toMatchObject({
      state: "pending",
      entityId: m.entityId,
      bus: { mode: "self" },
    });
    // A pending answer can be overtaken by an adoption pushed before the Rack listened as itself: it asks once more
    // on connecting as itself (a later one is the pending pace's).
    await waitFor(() => t.logs.some(helloAsItselfOnConnect), { message: "the hello as itself" });
    expect(t.logs.filter(helloAsItselfOnConnect)).toHaveLength(1);
  });

  test("one hello, adopted: active with its passport from the sealed reply, heartbeating as itself", async () => {
    const m = await mixer("active");
    const state = tempDir("jwt-sealed-active");
    onTestFinished(() => state.remove());
    const t = await rack("rack-jwt-5", state.path);
    await t.waitForState("active");
    await waitFor(() => m.beats("active").some((h) => h.name === "rack-jwt-5"), {
      message: "active heartbeats",
    });
    expect(t.logs.filter(helloAsItselfOnConnect)).toEqual([]);
    expect(t.rack.snapshot()).toMatchObject({ state: "active", bus: { mode: "self" } });
    expect(t.rack.snapshot().passport).not.toBeNull();
  });

  test("a tampered sealed reply (signed as sent, its box altered) is dropped: no passport, no switch", async () => {
    const m = await mixer("active", "tamper");
    const state = tempDir("jwt-tampered");
    onTestFinished(() => state.remove());
    const t = await rack("rack-jwt-6", state.path);
    await t.waitForLog({ msg: "hello: sealed reply refused" });
    await waitFor(() => m.helloInboxes.length >= 2, { message: "a retried hello" });
    expect(m.helloInboxes.every((inbox) => inbox.startsWith("_INBOX._bootstrap."))).toBe(true);
    expect(t.rack.snapshot()).toMatchObject({ state: "enrolling", bus: { mode: "bootstrap" } });
    expect(t.logs.some((e) => e.msg === "bus: connected (as this Rack, with its own credential)")).toBe(
      false,
    );
  });

  test("a Mixer that answers a bootstrap hello minimally: the Rack reconnects as itself and asks again", async () => {
    const m = await mixer("pending", false);
    const state = tempDir("jwt-two-hellos");
    onTestFinished(() => state.remove());
    const t = await rack("rack-jwt-7", state.path);

    await t.waitForState("pending");
    await t.waitForLog({ msg: "bus: connected (as this Rack, with its own credential)" });
    // First hello on the shared bootstrap inbox (minimal reply), then again as itself on _INBOX.rack-jwt-7.
    await waitFor(() => m.helloInboxes.length >= 2, { message: "two hellos" });
    expect(m.helloInboxes[0]).toMatch(/^_INBOX\._bootstrap\./);
    expect(m.helloInboxes[1]).toMatch(/^_INBOX\.rack-jwt-7\./);
    // The predicate the one-hello tests rely on does see this second hello.
    await waitFor(() => t.logs.some(helloAsItselfOnConnect), { message: "the reply to the second hello" });
    expect((await stat(join(state.path, "bus.jwt"))).mode & 0o777).toBe(0o600);
    // As itself it may heartbeat: the Mixer hears it, with the entity id only the full reply carried.
    await waitFor(() => m.beats("pending").some((h) => h.name === "rack-jwt-7"), {
      message: "pending heartbeats",
    });
    expect(t.rack.snapshot()).toMatchObject({
      state: "pending",
      entityId: m.entityId,
      bus: { mode: "self" },
    });
  });

  test("cluster mode: a credential in its state key is taken only when newer than the one it holds", async () => {
    const name = "rack-jwt-state";
    stateWatchers.add(name);
    const m = await mixer("active");
    const state = tempDir("jwt-state");
    onTestFinished(() => state.remove());
    const t = await rack(name, state.path);
    await t.waitForState("active");
    await t.waitForLog({ msg: "bus: connected (as this Rack, with its own credential)" });
    // Its grant has the state key, so it reads it (none stored: no bucket on this bus) and watches it.
    await t.waitForLog({ msg: "rack state: no state bucket on this bus (single mode)" });
    const publicKey = m.hellos.findLast((h) => h.name === name)?.public_key ?? "";
    const held = await readFile(join(state.path, "bus.jwt"), "utf8");
    const write = async (version: number, credential: BusCredential) => {
      const bytes = encodeMessage({
        v: 1,
        name,
        version,
        ts: new Date().toISOString(),
        bus_credential: credential,
      });
      const signature = m.signed(bytes)?.get(CONTROL_SIGNATURE_HEADER) ?? "";
      const value = { w: "mixer", n: "n", v: { data: Buffer.from(bytes).toString("base64url"), signature } };
      mixerNc.publish(rackStateSubject(name), encodeMessage(value));
      await mixerNc.flush();
    };
    // An older credential (a renewal at a hello is not written to the key): not taken.
    const mark = t.logs.length;
    await write(1, issue({ name, publicKey, status: "active" }, nowSeconds() - 600));
    await t.waitForLog({ msg: "rack state: applying", version: 1 });
    expect(t.logs.slice(mark).some((e) => e.msg === "bus: stored a new credential (bus.jwt)")).toBe(false);
    expect(await readFile(join(state.path, "bus.jwt"), "utf8")).toBe(held);
    // A newer one is.
    await write(2, issue({ name, publicKey, status: "active" }, nowSeconds() + 5));
    await t.waitForLog({ msg: "rack state: applying", version: 2 });
    await waitFor(async () => (await readFile(join(state.path, "bus.jwt"), "utf8")) !== held, {
      message: "bus.jwt replaced by the newer credential",
    });
  });

  test("a stored JWT is reused at restart: no bootstrap hello", async () => {
    const m = await mixer("pending");
    const state = tempDir("jwt-restart");
    onTestFinished(() => state.remove());
    const first = await rack("rack-jwt-2", state.path);
    await first.waitForLog({ msg: "bus: connected (as this Rack, with its own credential)" });
    await first.waitForState("pending");
    await first.rack.stop("restart");
    const before = m.helloInboxes.length;

    const second = await rack("rack-jwt-2", state.path);
    await second.waitForLog({ msg: "bus: connecting as this Rack with its stored credential" });
    await second.waitForState("pending");
    await waitFor(() => m.helloInboxes.length > before, { message: "a hello after restart" });
    expect(m.helloInboxes.slice(before).every((inbox) => inbox.startsWith("_INBOX.rack-jwt-2."))).toBe(true);
    expect(second.logs.some((e) => /bootstrap/.test(String(e.msg)))).toBe(false);
  });

  test("adoption with a wider grant: the Rack reconnects with it, says hello, and its gears' wires flow", async () => {
    const m = await mixer("pending");
    const state = tempDir("jwt-adopt");
    onTestFinished(() => state.remove());
    const name = "rack-jwt-3";
    const t = await rack(name, state.path);
    await t.waitForState("pending");
    await t.waitForLog({ msg: "bus: connected (as this Rack, with its own credential)" });

    const scenario = tickerScenarioPush("jwtdemo", 3);
    scenarios.set(name, scenario);
    const hellos = m.hellos.length;
    await m.adopt(name);
    await t.waitForLog({ msg: "bus: the credential's grant changed; reconnecting to use it" });
    await t.waitForState("active");
    // The hello after the reconnect lets the Mixer send again whatever was lost meanwhile.
    await waitFor(() => m.hellos.length > hellos, { message: "a hello after the regrant" });
    await m.pushScenario(name, scenario);
    // Publishing and subscribing fluxrig.msg.jwtdemo.ticks is only allowed by the adopted grant.
    await waitFor(() => (t.rack.snapshot().gears?.find((g) => g.name === "count")?.in ?? 0) >= 3, {
      message: "messages on the scenario's wire",
    });
    expect(t.logs.filter((e) => /Permissions Violation/i.test(JSON.stringify(e)))).toEqual([]);
  });

  test("a credential-only push on a scenario change: reconnect with the new wires, hello, the new scenario flows", async () => {
    const m = await mixer("active");
    const state = tempDir("jwt-switch");
    onTestFinished(() => state.remove());
    const name = "rack-jwt-8";
    scenarios.set(name, tickerScenarioPush("jwtfirst", 3));
    const t = await rack(name, state.path);
    await t.waitForState("active");
    await t.waitForLog({ msg: "bus: connected (as this Rack, with its own credential)" });

    // The Mixer switches scenario: a credential for the new wires first, then the scenario itself.
    const next = tickerScenarioPush("jwtsecond", 3);
    scenarios.set(name, next);
    const key = m.hellos.findLast((h) => h.name === name)?.public_key as string;
    const hellos = m.hellos.length;
    await m.pushCredential(name, issue({ name, publicKey: key, status: "active" }));
    await t.waitForLog({
      msg: "bus: the credential's grant changed; reconnecting to use it",
      source: "credential push",
    });
    await waitFor(() => m.hellos.length > hellos, { message: "a hello after the regrant" });
    await m.pushScenario(name, next);
    await t.waitForLog({ msg: "gears: scenario applied", scenario: "jwtsecond" });
    // fluxrig.msg.jwtsecond.ticks is allowed only by the new grant: messages must keep arriving on it.
    const counted = () => t.rack.snapshot().gears?.find((g) => g.name === "count")?.in ?? 0;
    const atApply = counted();
    await waitFor(() => counted() >= atApply + 3, { message: "messages on the new scenario's wire" });
  });

  test("revoked on the bus: cut off, back on bootstrap, told revoked; passive with gears, heartbeats and bus.jwt gone", async () => {
    const m = await mixer("active");
    const state = tempDir("jwt-revoke");
    onTestFinished(() => state.remove());
    const name = "rack-jwt-4";
    scenarios.set(name, tickerScenarioPush("jwtrevoke", 3));
    const t = await rack(name, state.path);
    await t.waitForState("active");
    await t.waitForLog({ msg: "bus: connected (as this Rack, with its own credential)" });
    await m.pushScenario(name, scenarios.get(name) as ScenarioPush);
    await waitFor(() => (t.rack.snapshot().gears?.find((g) => g.name === "count")?.in ?? 0) >= 3, {
      message: "gears run",
    });

    m.mode = "revoked";
    await revokeOnBus(name, m);
    await t.waitForLog({ msg: "bus: the server refused this Rack's credential" });
    await t.waitForState("revoked");
    await t.waitForLog({ msg: "gears: runtime stopped" });
    expect(t.rack.snapshot()).toMatchObject({ gears: null, passport: null, bus: { mode: "bootstrap" } });
    await expect(stat(join(state.path, "bus.jwt"))).rejects.toMatchObject({ code: "ENOENT" });
    // Passive: hellos at the slow pace (through the bootstrap credential), never a heartbeat.
    const beats = m.heartbeats.filter((h) => h.name === name).length;
    const hellos = m.hellos.length;
    await waitFor(() => m.hellos.length >= hellos + 2, { message: "2 more hellos while revoked" });
    expect(m.helloInboxes.at(-1)).toMatch(/^_INBOX\._bootstrap\./);
    expect(m.heartbeats.filter((h) => h.name === name).length).toBe(beats);
  });

  test("the replaced machine: its name taken by another key, it stops its gears and heartbeats", async () => {
    const m = await mixer("active");
    const state = tempDir("jwt-replaced");
    onTestFinished(() => state.remove());
    const name = "rack-jwt-5";
    scenarios.set(name, tickerScenarioPush("jwtreplace", 3));
    const t = await rack(name, state.path);
    await t.waitForState("active");
    await m.pushScenario(name, scenarios.get(name) as ScenarioPush);
    await waitFor(() => t.rack.snapshot().gears !== null, { message: "gears run" });

    // `racks replace`: the row now belongs to another key; the old key is revoked on the bus.
    m.mode = "name_taken";
    const sentAt = Date.now();
    await revokeOnBus(name, m);
    // Cut off by the server within the spec's 1 s (the Rack logs the disconnect when its socket closes).
    const cut = await t.waitForLog(
      (e) => e.msg === "nats: disconnected, reconnecting" && Number(e.time) >= sentAt,
    );
    expect(Number(cut.time) - sentAt).toBeLessThan(1_000);
    await t.waitForState("refused");
    await t.waitForLog({ msg: "gears: runtime stopped" });
    expect(t.rack.snapshot()).toMatchObject({ gears: null, telemetry: "not started", passport: null });
    const beats = m.heartbeats.filter((h) => h.name === name).length;
    const hellos = m.hellos.length;
    await waitFor(() => m.hellos.length >= hellos + 2, { message: "2 more hellos while refused" });
    expect(m.heartbeats.filter((h) => h.name === name).length).toBe(beats);
    await expect(stat(join(state.path, "bus.jwt"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("a credential expiring with no renewal: a warning at 90 % of its life, then back to bootstrap", async () => {
    const name = "rack-jwt-6";
    ttls.set(name, 3);
    const m = await mixer("pending");
    const state = tempDir("jwt-expiry");
    onTestFinished(() => state.remove());
    const t = await rack(name, state.path);
    await t.waitForLog({ msg: "bus: connected (as this Rack, with its own credential)" });
    m.mode = "silent";
    const warned = await t.waitForLog({ msg: /credential is at 90% of its life/ });
    expect(warned.level).toBe(40);
    // nats-server disconnects a user whose JWT expires; the Rack falls back rather than loop on a dead JWT.
    const hellos = m.helloInboxes.length;
    await waitFor(() => t.rack.snapshot().bus.mode === "bootstrap", {
      message: "back on bootstrap",
      timeoutMs: 10_000,
    });
    await waitFor(
      () => m.helloInboxes.slice(hellos).some((inbox) => inbox.startsWith("_INBOX._bootstrap.")),
      {
        message: "a hello through the bootstrap credential",
      },
    );
  });

  test("a stored JWT refused at connect (revoked while the Rack was down): back to bootstrap, then a new one", async () => {
    const m = await mixer("pending");
    const state = tempDir("jwt-refused-at-connect");
    onTestFinished(() => state.remove());
    const name = "rack-jwt-7";
    const first = await rack(name, state.path);
    await first.waitForLog({ msg: "bus: connected (as this Rack, with its own credential)" });
    await first.rack.stop("down for a while");
    await revokeOnBus(name, m);

    const second = await rack(name, state.path);
    await second.waitForLog({ msg: "bus: connecting as this Rack with its stored credential" });
    await second.waitForLog({
      msg: "bus: this Rack's credential was refused at connect (expired, revoked, or the server has other keys)",
    });
    await second.waitForLog({ msg: "bus: connected (with the bootstrap credential: hellos only)" });
    await second.waitForLog({
      msg: "bus: dropped this Rack's credential (bus.jwt)",
      reason: "refused by the server",
    });
    // A fresh JWT (once issued after the revocation second, which voids JWTs issued at or before it) makes the Rack
    // itself again; one issued within that second is refused too and the Rack simply asks again, paced.
    await second.waitForLog({ msg: "bus: stored a new credential (bus.jwt)" });
    await second.waitForLog({ msg: "bus: connected (as this Rack, with its own credential)" });
    await second.waitForState("pending");
  });

  test("the fluxrig-rack binary: [nats] creds, bootstrap, itself, adopted with a wider grant, a clean stop", async () => {
    const m = await mixer("pending");
    const name = "rack-jwt-bin";
    scenarios.set(name, tickerScenarioPush("jwtbin", 3));
    const state = tempDir("jwt-bin");
    onTestFinished(() => state.remove());
    const config = join(state.path, "fluxrig-rack.toml");
    await writeFile(
      config,
      [
        "[rack]",
        `name = "${name}"`,
        `state_dir = "${join(state.path, "state")}"`,
        "[nats]",
        `url = "${bus.nats.url}"`,
        `creds = "${join(dir.path, "bootstrap.creds")}"`,
      ].join("\n"),
    );
    await using proc = spawnBinary("fluxrig-rack", { args: ["--config", config] });
    await proc.waitForJson({ msg: "bus: connected (with the bootstrap credential: hellos only)" });
    await proc.waitForJson({ msg: "bus: connected (as this Rack, with its own credential)" });
    await proc.waitForJson({ event: "enrollment_pending" });
    await m.adopt(name);
    await proc.waitForJson({ msg: "bus: the credential's grant changed; reconnecting to use it" });
    await proc.waitForJson({ to: "active" });
    await m.pushScenario(name, scenarios.get(name) as ScenarioPush);
    await proc.waitForJson({ msg: "gears: scenario applied", scenario: "jwtbin" });
    expect(await proc.stop()).toEqual({ code: 0, signal: null });
    await m.flush();
    expect(m.beats("stopping").filter((h) => h.name === name)).toHaveLength(1);
  });
});
