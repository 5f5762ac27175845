// `fluxrig-rack status`: key id, pin, passport decoded and verified, expiry, and the verdict behind the exit code.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyId, loadOrCreateKeyPair, writeStateFlux } from "@fluxrig/passport";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { TestCluster, tamper } from "../../test/support/test-cluster.js";
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
});
