// How the Rack decides to connect, and what a new credential means for the live connection: BusLink with a fake dial
// that calls the authenticator as nats.js does at connect (the real server is in test/rack-jwt-bus.int.test.ts).
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, publicKeyToBase64url } from "@fluxrig/passport";
import type { ScenarioPush } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { issueUserJwt } from "../../../mixer/src/bus-auth/issue-jwt.js";
import { jwtSigner } from "../../../mixer/src/bus-auth/jwt-codec.js";
import { rackPermissions } from "../../../mixer/src/bus-auth/permissions.js";
import { writeBusJwt } from "./bus-credential.js";
import { BusLink, type DialRequest } from "./bus-link.js";

const account = jwtSigner(generateKeyPair().privateKey, "account");
const rackKey = generateKeyPair();
const scenario: Pick<ScenarioPush, "scenario" | "gears" | "wires"> = {
  scenario: { name: "demo", version: "1" },
  gears: [{ name: "tick", type: "ticker", config: {} }],
  wires: [{ name: "ticks", from: "tick.out", to: "tick.in", subject: "fluxrig.msg.demo.ticks" }],
};

function jwt(status: "pending" | "active", opts: { ttlSeconds?: number; nowSeconds?: number } = {}): string {
  return issueUserJwt({
    signer: account,
    account: account.nkey,
    publicKey: publicKeyToBase64url(rackKey.publicKey),
    name: "rack-1",
    permissions: rackPermissions({ name: "rack-1", status, scenario }),
    ttlSeconds: opts.ttlSeconds ?? 3600,
    nowSeconds: opts.nowSeconds ?? Math.floor(Date.now() / 1000),
  }).jwt;
}

/** A connection that only knows how to close; enough for BusLink's bookkeeping. */
function fakeConnection(): NatsConnection {
  let closed = false;
  let resolveClosed: (value: undefined) => void = () => undefined;
  const closedPromise = new Promise<undefined>((resolve) => {
    resolveClosed = resolve;
  });
  return {
    getServer: () => "fake:4222",
    isClosed: () => closed,
    closed: () => closedPromise,
    close: async () => {
      closed = true;
      resolveClosed(undefined);
    },
  } as unknown as NatsConnection; // a stand-in: BusLink calls only these four
}

describe("BusLink", () => {
  let dir: string;
  let dials: DialRequest[];
  let presented: (string | undefined)[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bus-link-"));
    dials = [];
    presented = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const link = (creds?: Uint8Array) =>
    new BusLink({
      name: "rack-1",
      privateKey: rackKey.privateKey,
      creds,
      jwtPath: join(dir, "bus.jwt"),
      logger: pino({ level: "silent" }),
      now: () => new Date(),
      onLost: () => undefined,
      dial: async (req) => {
        dials.push(req);
        // As nats.js does at connect (the bootstrap creds here are a placeholder, never parsed).
        const auth =
          req.mode === "self" ? (req.authenticator?.("nonce") as { jwt?: string } | undefined) : undefined;
        presented.push(auth?.jwt);
        return fakeConnection();
      },
    });
  const creds = new TextEncoder().encode("creds");

  test("first connect: a valid stored JWT as itself, else bootstrap with creds, else an open bus", async () => {
    expect(await link().initialMode()).toBe("open");
    expect(await link(creds).initialMode()).toBe("bootstrap");
    await writeBusJwt(join(dir, "bus.jwt"), jwt("pending", { ttlSeconds: 10 }));
    // Expiring within the 30 s margin: not worth connecting with.
    expect(await link(creds).initialMode()).toBe("bootstrap");
    // ... unless there is nothing else to try.
    expect(await link().initialMode()).toBe("self");
    const stored = jwt("pending");
    await writeBusJwt(join(dir, "bus.jwt"), stored);
    const l = link(creds);
    expect(await l.initialMode()).toBe("self");
    expect(l.jwt).toBe(stored);
  });

  test("dials as itself on its own inbox with its JWT, and with the bootstrap user on the shared one", async () => {
    const l = link(creds);
    await l.open("bootstrap");
    expect(dials[0]).toMatchObject({
      mode: "bootstrap",
      inboxPrefix: "_INBOX._bootstrap",
      failOnAuthError: false,
    });
    const own = jwt("pending");
    expect(await l.offer(own)).toBe("stored");
    await l.open("self");
    expect(dials[1]).toMatchObject({ mode: "self", inboxPrefix: "_INBOX.rack-1", failOnAuthError: true });
    expect(presented[1]).toBe(own);
    expect(l.mode).toBe("self");
    expect((await stat(join(dir, "bus.jwt"))).mode & 0o777).toBe(0o600);
  });

  test("a new JWT with the same grant is stored; a wider one asks for a reconnect; the same one changes nothing", async () => {
    const l = link(creds);
    await l.offer(jwt("pending", { nowSeconds: 1_800_000_000 }));
    await l.open("self");
    expect(l.maySubscribe("fluxrig.rack.rack-1.passport")).toBe(true);
    expect(l.maySubscribe("fluxrig.rack.rack-1.scenario")).toBe(false);
    const renewed = jwt("pending", { nowSeconds: 1_800_000_060 });
    expect(await l.offer(renewed)).toBe("stored");
    expect(await l.offer(renewed)).toBe("same");
    expect(await l.offer(jwt("active"))).toBe("regrant");
  });

  test("a dropped credential is gone from memory and disk; fallbacks go to bootstrap when there are creds", async () => {
    const l = link(creds);
    await l.offer(jwt("pending"));
    await l.dropCredential("revoked");
    expect(l.jwt).toBeUndefined();
    await expect(stat(join(dir, "bus.jwt"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(l.fallbackMode("self")).toBe("bootstrap");
    const alone = link();
    await alone.offer(jwt("pending"));
    expect(alone.fallbackMode("self")).toBe("self");
    expect(link().fallbackMode("open")).toBe("open");
  });

  test("fallback delays grow, so a refused credential never becomes a hot loop", () => {
    const l = link(creds);
    const delays = [l.fallbackDelayMs(), l.fallbackDelayMs(), l.fallbackDelayMs(), l.fallbackDelayMs()];
    expect(delays[3]).toBeGreaterThan(delays[0] as number);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(400);
  });

  test("after abortDials no new connection is opened", async () => {
    const l = link(creds);
    l.abortDials();
    await expect(l.open("bootstrap")).rejects.toThrow(/stopping/);
    expect(dials).toEqual([]);
  });
});
