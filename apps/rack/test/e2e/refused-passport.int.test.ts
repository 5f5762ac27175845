// A state.flux the Rack must not trust, with the real agent and the real Mixer: one byte flipped, another Rack's
// passport copied in, an expired passport. Each is refused with its reason, kept aside as state.flux.rejected-<time>,
// and the Rack enrolls again; the Mixer recognises its key, so it is the same entity with a valid passport.
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  decodePassportPayload,
  keyId,
  loadPrivateKey,
  publicKeyFromPrivate,
  readStateFlux,
  signPassport,
  verifyPassport,
  writeStateFlux,
} from "@fluxrig/passport";
import { MixerHarness, tempDir } from "@fluxrig/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  clusterPublicKey,
  fastMixerEnv,
  listRacks,
  provisionRack,
  type RackView,
  setAside,
  spawnRack,
  waitForRack,
} from "./support/real-fleet.js";

let h: MixerHarness;

beforeAll(async () => {
  h = await MixerHarness.create({ env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" }) });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});
/**
 * Boots the provisioned Rack on the bad state.flux now in its state dir: the refusal is logged with its verdict and
 * code, the file is kept aside byte for byte, the Rack enrolls with its key alone and the Mixer answers with the
 * passport on record for the same entity (no new row): still fresh here, so the same serial, signed again.
 */
async function expectRefusedThenRecognised(opts: {
  stateDir: string;
  badText: string;
  provisioned: RackView;
  verdict: string;
  code: string;
}): Promise<void> {
  const { provisioned } = opts;
  const rowsBefore = (await listRacks(h)).length;
  await using rack = spawnRack(h, { name: provisioned.name, stateDir: opts.stateDir });
  const refused = await rack.waitForJson({
    msg: `state.flux refused (${opts.verdict}): moved aside, enrolling again`,
  });
  expect(refused).toMatchObject({ level: 50, verdict: opts.verdict, code: opts.code });
  expect(String(refused.moved_to)).toMatch(/state\.flux\.rejected-\d{4}-\d\d-\d\dT/);
  expect(await rack.waitForJson({ event: "no_passport" })).toMatchObject({
    from: "booting",
    to: "enrolling",
  });

  const kept = await setAside(opts.stateDir, "rejected");
  expect(kept).toEqual([refused.moved_to]);
  expect(await readFile(kept[0]!, "utf8")).toBe(opts.badText);

  // Enrollment again, with the key alone: the Mixer knows the key, so the same entity gets the passport it has on
  // record (fresh: the bad files were made on the Rack's side), not a second serial.
  const stored = await rack.waitForJson({ msg: "passport: stored state.flux", source: "hello reply" });
  expect(stored.entity_id).toBe(provisioned.entity_id);
  expect(Number(stored.serial)).toBe(provisioned.passport!.serial);
  await rack.waitForJson({ msg: "lifecycle: enrolling -> active" });
  const cluster = await clusterPublicKey(h);
  const payload = verifyPassport((await readStateFlux(join(opts.stateDir, "state.flux")))!, {
    clusterPublicKey: cluster.key,
    name: provisioned.name,
  });
  expect(payload).toMatchObject({ entity_id: provisioned.entity_id, machine_id: provisioned.machine_id });
  const row = await waitForRack(
    h,
    provisioned.name,
    (r) => r.status === "active" && r.passport?.serial === payload.serial,
    {
      message: "active with the passport on record",
    },
  );
  expect(row).toMatchObject({ entity_id: provisioned.entity_id, machine_id: provisioned.machine_id });
  expect((await listRacks(h)).length).toBe(rowsBefore);
}

describe("a state.flux the Rack must not trust (real Rack, real Mixer)", () => {
  test("one byte flipped: refused as tampered, kept aside, enrolls again as the same entity", async () => {
    const name = "rack-tamper-01";
    await using state = tempDir(name);
    const provisioned = await provisionRack(h, { name, stateDir: state.path });
    const path = join(state.path, "state.flux");

    // Flip one character in the middle of the signed payload (to another base64url character).
    const text = await readFile(path, "utf8");
    const envelope = JSON.parse(text) as { payload: string };
    const at = text.indexOf(envelope.payload) + Math.floor(envelope.payload.length / 2);
    const bad = `${text.slice(0, at)}${text[at] === "A" ? "B" : "A"}${text.slice(at + 1)}`;
    expect(bad.length).toBe(text.length);
    await writeFile(path, bad, { mode: 0o600 });

    await expectRefusedThenRecognised({
      stateDir: state.path,
      badText: bad,
      provisioned,
      verdict: "tampered",
      code: "PASSPORT_SIGNATURE_INVALID",
    });
  });

  test("another Rack's passport copied in: refused as foreign, kept aside, enrolls again as itself", async () => {
    const name = "rack-foreign-01";
    const otherName = "rack-foreign-02";
    await using state = tempDir(name);
    await using otherState = tempDir(otherName);
    const provisioned = await provisionRack(h, { name, stateDir: state.path });
    const other = await provisionRack(h, { name: otherName, stateDir: otherState.path });
    // Same cluster, genuine signature, but issued to the other Rack's key and name.
    await copyFile(join(otherState.path, "state.flux"), join(state.path, "state.flux"));
    const copied = await readFile(join(state.path, "state.flux"), "utf8");

    await expectRefusedThenRecognised({
      stateDir: state.path,
      badText: copied,
      provisioned,
      verdict: "foreign",
      code: "PASSPORT_RACK_KEY_MISMATCH",
    });
    // The other Rack's row is untouched.
    const otherRow = (await listRacks(h)).find((r) => r.name === otherName);
    expect(otherRow).toMatchObject({
      entity_id: other.entity_id,
      passport: { serial: other.passport?.serial },
    });
  });

  test("an expired passport: refused as expired, kept aside, recognised as the same entity by proving the key", async () => {
    const name = "rack-expired-01";
    await using state = tempDir(name);
    const provisioned = await provisionRack(h, { name, stateDir: state.path });
    const path = join(state.path, "state.flux");

    // The passport this Rack holds, as the Mixer would have issued it two days ago with a one-day TTL: signed with
    // the Mixer's own Cluster Key. (Waiting out a real TTL is not an option: the Rack allows 120 s of clock skew.)
    const held = (await readStateFlux(path))!;
    const clusterPrivateKey = await loadPrivateKey(join(h.dataDir, "cluster.key"));
    const cluster = await clusterPublicKey(h);
    expect(keyId(publicKeyFromPrivate(clusterPrivateKey))).toBe(cluster.keyId);
    const day = 86_400_000;
    const expired = signPassport({
      payload: {
        ...decodePassportPayload(held),
        issued_at: new Date(Date.now() - 2 * day).toISOString(),
        expires_at: new Date(Date.now() - day).toISOString(),
      },
      clusterPrivateKey,
      kid: cluster.keyId,
    });
    await writeStateFlux(path, expired);
    const expiredText = await readFile(path, "utf8");

    await expectRefusedThenRecognised({
      stateDir: state.path,
      badText: expiredText,
      provisioned,
      verdict: "expired",
      code: "PASSPORT_EXPIRED",
    });
  });
});
