// state.flux at boot: a valid passport is kept; tampered, foreign, expired or unverifiable ones are moved aside.
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, stateFluxText, writeStateFlux } from "@fluxrig/passport";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { TestCluster, tamper } from "../../test/support/test-cluster.js";
import { makePin } from "./cluster-pin.js";
import { loadStoredPassport, storePassport } from "./passport-store.js";

const cluster = new TestCluster();
const rack = generateKeyPair();
const pin = makePin({ publicKeyB64: cluster.publicKeyB64, source: "config", now: new Date() });
let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "fluxrig-rack-store-"));
  path = join(dir, "state.flux");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const load = (over: { name?: string; now?: Date; withPin?: boolean } = {}) =>
  loadStoredPassport({
    path,
    pin: over.withPin === false ? null : pin,
    context: { rackPublicKey: rack.publicKey, name: over.name ?? "rack-1", now: over.now ?? new Date() },
  });

async function expectMovedAside(result: Awaited<ReturnType<typeof load>>, verdict: string) {
  expect(result.kind).toBe("refused");
  if (result.kind !== "refused") return;
  expect(result.refusal.verdict).toBe(verdict);
  expect(result.movedTo).toMatch(/state\.flux\.rejected-\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  const files = await readdir(dir);
  expect(files).not.toContain("state.flux");
  expect(files.some((f) => f.startsWith("state.flux.rejected-"))).toBe(true);
}

describe("loadStoredPassport", () => {
  test("no file: nothing to recover", async () => {
    expect(await load()).toEqual({ kind: "none" });
  });

  test("a valid passport is kept and its payload returned", async () => {
    await storePassport(path, cluster.issue({ rackPublicKey: rack.publicKey, name: "rack-1", machineId: 7 }));
    const result = await load();
    expect(result.kind === "valid" && result.payload).toMatchObject({
      name: "rack-1",
      machine_id: 7,
      status: "active",
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  test("tampered: the signature no longer covers the payload", async () => {
    await writeFile(
      path,
      stateFluxText(tamper(cluster.issue({ rackPublicKey: rack.publicKey, name: "rack-1" }))),
    );
    const result = await load();
    await expectMovedAside(result, "tampered");
    expect(result.kind === "refused" && result.refusal.code).toBe("PASSPORT_SIGNATURE_INVALID");
  });

  test("foreign: signed by another cluster", async () => {
    await writeStateFlux(
      path,
      new TestCluster("other").issue({ rackPublicKey: rack.publicKey, name: "rack-1" }),
    );
    const result = await load();
    await expectMovedAside(result, "foreign");
    expect(result.kind === "refused" && result.refusal.code).toBe("PASSPORT_KEY_ID_MISMATCH");
  });

  test("foreign: issued to another Rack's key, or another name", async () => {
    await writeStateFlux(path, cluster.issue({ rackPublicKey: generateKeyPair().publicKey, name: "rack-1" }));
    await expectMovedAside(await load(), "foreign");
    await writeStateFlux(path, cluster.issue({ rackPublicKey: rack.publicKey, name: "rack-2" }));
    await expectMovedAside(await load(), "foreign");
  });

  test("expired, beyond the skew allowance", async () => {
    const issuedAt = new Date(Date.now() - 2 * 3_600_000);
    await writeStateFlux(
      path,
      cluster.issue({ rackPublicKey: rack.publicKey, name: "rack-1", issuedAt, ttlMs: 3_600_000 }),
    );
    await expectMovedAside(await load(), "expired");
  });

  test("a signed revocation is not a passport to run on", async () => {
    await writeStateFlux(
      path,
      cluster.issue({ rackPublicKey: rack.publicKey, name: "rack-1", status: "revoked" }),
    );
    await expectMovedAside(await load(), "revoked");
  });

  test("garbled or truncated files are refused without throwing", async () => {
    await writeFile(path, '{"format":"fluxrig.passport","v":1,"kid":');
    await expectMovedAside(await load(), "garbled");
  });

  test("without a pinned cluster key a passport cannot be verified, so it is not trusted", async () => {
    await writeStateFlux(path, cluster.issue({ rackPublicKey: rack.publicKey, name: "rack-1" }));
    await expectMovedAside(await load({ withPin: false }), "unverifiable");
  });
});
