// The Rack reads its own user JWT (expiry, grant) exactly as the Mixer writes it: tested against the Mixer's issuer.
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, publicKeyToBase64url } from "@fluxrig/passport";
import type { ScenarioPush } from "@fluxrig/wire";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { issueUserJwt } from "../../../mixer/src/bus-auth/issue-jwt.js";
import { jwtSigner } from "../../../mixer/src/bus-auth/jwt-codec.js";
import { type RackBusState, rackPermissions } from "../../../mixer/src/bus-auth/permissions.js";
import {
  decodeUserJwt,
  jwtWarnAt,
  readBusJwt,
  removeBusJwt,
  sameGrant,
  usableJwt,
  writeBusJwt,
} from "./bus-credential.js";

const account = jwtSigner(generateKeyPair().privateKey, "account");
const rackKey = generateKeyPair();
const NOW = 1_800_000_000;

const scenario: Pick<ScenarioPush, "scenario" | "gears" | "wires"> = {
  scenario: { name: "demo", version: "1" },
  gears: [
    { name: "tick", type: "ticker", config: {} },
    { name: "count", type: "counter", config: {} },
  ],
  wires: [{ name: "ticks", from: "tick.out", to: "count.in", subject: "fluxrig.msg.demo.ticks" }],
};

function jwtFor(state: RackBusState & { status: "pending" | "active" }, ttlSeconds = 3600, nowSeconds = NOW) {
  return issueUserJwt({
    signer: account,
    account: account.nkey,
    publicKey: publicKeyToBase64url(rackKey.publicKey),
    name: state.name,
    permissions: rackPermissions(state),
    ttlSeconds,
    nowSeconds,
  });
}

describe("decodeUserJwt", () => {
  test("reads the subject, times and grant the Mixer issued", () => {
    const issued = jwtFor({ name: "rack-1", status: "pending" });
    const facts = decodeUserJwt(issued.jwt);
    expect(facts.subject).toBe(issued.user);
    expect(facts.issuedAt).toBe(NOW);
    expect(facts.expiresAt).toBe(NOW + 3600);
    expect(facts.grant.pub).toEqual(rackPermissions({ name: "rack-1", status: "pending" }).pub.allow);
    expect(facts.grant.sub).toContain("fluxrig.rack.rack-1.passport");
  });

  test("refuses what is not a JWT with claims", () => {
    expect(() => decodeUserJwt("abc")).toThrow(/three/);
    expect(() => decodeUserJwt("a.b.c")).toThrow(/JSON/);
    const noSub = `x.${Buffer.from(JSON.stringify({ iat: 1 })).toString("base64url")}.y`;
    expect(() => decodeUserJwt(noSub)).toThrow(/subject/);
  });
});

describe("sameGrant", () => {
  test("pending and adopted grants differ; order and repeats do not matter", () => {
    const pending = decodeUserJwt(jwtFor({ name: "rack-1", status: "pending" }).jwt).grant;
    const adopted = decodeUserJwt(jwtFor({ name: "rack-1", status: "active", scenario }).jwt).grant;
    const renewed = decodeUserJwt(jwtFor({ name: "rack-1", status: "pending" }, 7200, NOW + 60).jwt).grant;
    expect(sameGrant(pending, adopted)).toBe(false);
    expect(sameGrant(pending, renewed)).toBe(true);
    expect(sameGrant({ pub: ["a", "b", "a"], sub: [] }, { pub: ["b", "a"], sub: [] })).toBe(true);
    expect(sameGrant({ pub: ["a"], sub: ["x"] }, { pub: ["a"], sub: ["y"] })).toBe(false);
  });
});

describe("usableJwt and jwtWarnAt", () => {
  test("a JWT is usable until its expiry minus the margin", () => {
    const { jwt } = jwtFor({ name: "rack-1", status: "pending" }, 3600);
    expect(usableJwt(jwt, new Date((NOW + 3000) * 1000))).toBe(true);
    expect(usableJwt(jwt, new Date((NOW + 3590) * 1000))).toBe(false);
    expect(usableJwt(jwt, new Date((NOW + 4000) * 1000))).toBe(false);
    expect(usableJwt("garbage", new Date(NOW * 1000))).toBe(false);
  });

  test("the warning is due at 90 % of the JWT's life", () => {
    const { jwt } = jwtFor({ name: "rack-1", status: "pending" }, 1000);
    expect(jwtWarnAt(jwt)).toBe((NOW + 900) * 1000);
  });
});

describe("bus.jwt", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bus-jwt-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("is written 0600, read back, and removed", async () => {
    const path = join(dir, "bus.jwt");
    expect(await readBusJwt(path)).toEqual({ jwt: undefined, why: "no bus.jwt" });
    const { jwt } = jwtFor({ name: "rack-1", status: "pending" });
    await writeBusJwt(path, jwt);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readBusJwt(path)).toEqual({ jwt });
    await removeBusJwt(path);
    await removeBusJwt(path);
    expect((await readBusJwt(path)).jwt).toBeUndefined();
  });

  test("a garbled file is ignored with the reason, not trusted", async () => {
    const path = join(dir, "bus.jwt");
    await writeFile(path, "not a jwt\n", { mode: 0o600 });
    const read = await readBusJwt(path);
    expect(read.jwt).toBeUndefined();
    expect("why" in read && read.why).toMatch(/bus.jwt unreadable/);
  });
});
