// The cluster pin: config wins and is persisted, rack.json is read back, garbage is an error, not forgotten.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { TestCluster } from "../../test/support/test-cluster.js";
import { ClusterPinError } from "../rack-error.js";
import { makePin, readPinFile, resolvePin, writePinFile } from "./cluster-pin.js";

let dir: string;
let rackJsonPath: string;
const a = new TestCluster("a");
const b = new TestCluster("b");
const now = new Date("2025-01-01T00:00:00.000Z");

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "fluxrig-rack-pin-"));
  rackJsonPath = join(dir, "rack.json");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("cluster pin", () => {
  test("nothing configured, nothing stored: no pin yet", async () => {
    expect(await resolvePin({ configKey: undefined, rackJsonPath, now })).toEqual({ pin: null });
  });

  test("an enrollment pin is written with mode 0600 and read back", async () => {
    await writePinFile(rackJsonPath, makePin({ publicKeyB64: a.publicKeyB64, source: "enrollment", now }));
    expect((await stat(rackJsonPath)).mode & 0o777).toBe(0o600);
    const pin = await readPinFile(rackJsonPath);
    expect(pin).toMatchObject({
      publicKeyB64: a.publicKeyB64,
      keyId: a.keyId,
      source: "enrollment",
      pinnedAt: now.toISOString(),
    });
    expect((await resolvePin({ configKey: undefined, rackJsonPath, now })).pin?.keyId).toBe(a.keyId);
  });

  test("the config's key wins over a different stored pin, which is reported and replaced", async () => {
    await writePinFile(rackJsonPath, makePin({ publicKeyB64: a.publicKeyB64, source: "enrollment", now }));
    const resolved = await resolvePin({ configKey: b.publicKeyB64, rackJsonPath, now });
    expect(resolved.pin?.keyId).toBe(b.keyId);
    expect(resolved.replacedKeyId).toBe(a.keyId);
    expect(JSON.parse(await readFile(rackJsonPath, "utf8"))).toMatchObject({
      cluster_key_id: b.keyId,
      pin_source: "config",
    });
  });

  test("a garbled rack.json is an error naming the file", async () => {
    await writeFile(rackJsonPath, "{not json");
    await expect(readPinFile(rackJsonPath)).rejects.toBeInstanceOf(ClusterPinError);
    await expect(readPinFile(rackJsonPath)).rejects.toThrow(/rack\.json: garbled cluster pin/);
  });
});
