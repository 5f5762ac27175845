// `fluxrig-rack status`: key id, pin, passport decoded and verified, expiry, and the verdict behind the exit code.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  generateKeyPair,
  keyId,
  loadOrCreateKeyPair,
  publicKeyToBase64url,
  writeStateFlux,
} from "@fluxrig/passport";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { issueUserJwt } from "../../../mixer/src/bus-auth/issue-jwt.js";
import { jwtSigner } from "../../../mixer/src/bus-auth/jwt-codec.js";
import { rackPermissions } from "../../../mixer/src/bus-auth/permissions.js";
import { TestCluster, tamper } from "../../test/support/test-cluster.js";
import { writeBusJwt } from "../bus/bus-credential.js";
import { makePin, writePinFile } from "../identity/cluster-pin.js";
import { statePaths } from "../identity/state-paths.js";
import { collectStatus, formatStatus } from "./rack-status.js";

const cluster = new TestCluster("prod");
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "fluxrig-rack-status-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function provision(opts: { pin?: boolean } = {}) {
  const paths = statePaths(dir);
  await mkdir(paths.dir, { recursive: true });
  const { keys } = await loadOrCreateKeyPair(paths.key);
  if (opts.pin !== false) {
    await writePinFile(
      paths.rackJson,
      makePin({ publicKeyB64: cluster.publicKeyB64, source: "enrollment", now: new Date() }),
    );
  }
  return { paths, keys };
}

describe("rack status", () => {
  test("an active Rack: key, pin, passport that verifies, verdict active", async () => {
    const { paths, keys } = await provision();
    await writeStateFlux(
      paths.stateFlux,
      cluster.issue({ rackPublicKey: keys.publicKey, name: "rack-1", machineId: 100 }),
    );
    const report = await collectStatus({ stateDir: dir, name: "rack-1", now: new Date() });
    expect(report).toMatchObject({
      verdict: "active",
      key: { present: true, key_id: keyId(keys.publicKey) },
      cluster: { pinned: true, key_id: cluster.keyId, source: "enrollment" },
      passport: {
        present: true,
        verified: true,
        entity_id: "216282733276561408",
        entity_id_hex: "0x0300640000000000",
        machine_id: 100,
        status: "active",
        expired: false,
      },
      set_aside: [],
    });
    const text = formatStatus(report);
    expect(text).toMatch(/passport\s+verifies/);
    expect(text).toMatch(/entity\s+216282733276561408 \(0x0300640000000000\), machine 100, name rack-1/);
    expect(text).toMatch(/verdict\s+active$/);
  });

  test("a fresh state dir with only a key: no passport", async () => {
    await provision({ pin: false });
    const report = await collectStatus({ stateDir: dir, now: new Date() });
    expect(report).toMatchObject({
      verdict: "no-passport",
      cluster: { pinned: false },
      passport: { present: false },
    });
    expect(formatStatus(report)).toMatch(/passport\s+none/);
  });

  test("a tampered passport is reported, decoded where possible, and not trusted", async () => {
    const { paths, keys } = await provision();
    await writeStateFlux(
      paths.stateFlux,
      tamper(cluster.issue({ rackPublicKey: keys.publicKey, name: "rack-1" })),
    );
    const report = await collectStatus({ stateDir: dir, now: new Date() });
    expect(report).toMatchObject({
      verdict: "invalid",
      passport: { verified: false, problem: { verdict: "tampered" } },
    });
    expect(formatStatus(report)).toMatch(/DOES NOT VERIFY: tampered/);
  });

  test("an expired passport says so; the config's pin is used when given", async () => {
    const { paths, keys } = await provision({ pin: false });
    const issuedAt = new Date(Date.now() - 7_200_000);
    await writeStateFlux(
      paths.stateFlux,
      cluster.issue({ rackPublicKey: keys.publicKey, name: "rack-1", issuedAt, ttlMs: 3_600_000 }),
    );
    const report = await collectStatus({
      stateDir: dir,
      configClusterKey: cluster.publicKeyB64,
      now: new Date(),
    });
    expect(report).toMatchObject({
      verdict: "expired",
      cluster: { source: "config" },
      passport: { expired: true },
    });
    expect(formatStatus(report)).toMatch(/\(EXPIRED\)/);
  });

  test("files set aside by the agent are listed", async () => {
    const { paths, keys } = await provision();
    await writeStateFlux(
      `${paths.stateFlux}.rejected-2025-01-01T00:00:00.000Z`,
      cluster.issue({ rackPublicKey: keys.publicKey, name: "rack-1" }),
    );
    const report = await collectStatus({ stateDir: dir, now: new Date() });
    expect(report.set_aside).toEqual(["state.flux.rejected-2025-01-01T00:00:00.000Z"]);
  });

  test("the bus credential: none, then bus.jwt with its expiry, grant size and whether it is still usable", async () => {
    const { paths, keys } = await provision();
    expect((await collectStatus({ stateDir: dir, now: new Date() })).bus_credential).toEqual({
      present: false,
    });
    const nowSeconds = Math.floor(Date.now() / 1000);
    const issued = issueUserJwt({
      signer: jwtSigner(generateKeyPair().privateKey, "account"),
      account: jwtSigner(generateKeyPair().privateKey, "account").nkey,
      publicKey: publicKeyToBase64url(keys.publicKey),
      name: "rack-1",
      permissions: rackPermissions({ name: "rack-1", status: "pending" }),
      ttlSeconds: 3600,
      nowSeconds,
    });
    await writeBusJwt(paths.busJwt, issued.jwt);
    const report = await collectStatus({ stateDir: dir, now: new Date() });
    expect(report.bus_credential).toEqual({
      present: true,
      expires_at: new Date((nowSeconds + 3600) * 1000).toISOString(),
      usable: true,
      publish: 2,
      subscribe: 2,
    });
    expect(formatStatus(report)).toMatch(/bus jwt\s+valid, expires .*, 2 publish \/ 2 subscribe subjects/);
    const later = await collectStatus({ stateDir: dir, now: new Date((nowSeconds + 7200) * 1000) });
    expect(formatStatus(later)).toMatch(/bus jwt\s+EXPIRED/);
  });
});
