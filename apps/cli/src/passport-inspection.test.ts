// Offline passport inspection: decoding, and each reason a passport fails verification.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateKeyPair, keyFingerprint, keyId, stateFluxText } from "@fluxrig/passport";
import { tempDir } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import { tamperedPassport, writePassportFixture } from "../test/support/passport-fixture.js";
import { inspectPassport } from "./passport-inspection.js";

const issuedAt = new Date("2025-06-01T12:00:00.000Z");
const now = new Date("2025-06-01T15:00:00.000Z");
const DAY = 86_400_000;

describe("inspectPassport", () => {
  test("decodes without a key and checks nothing", async () => {
    using dir = tempDir("inspect");
    const f = await writePassportFixture({ dir: dir.path, issuedAt, ttlMs: DAY });
    const i = await inspectPassport({ path: f.path, now });
    expect(i).toMatchObject({
      format: "fluxrig.passport",
      v: 1,
      kid: keyId(f.cluster.publicKey),
      verification: { checked: false },
      payload: {
        name: "rack-nyc-01",
        entity_id: "216282733276561408",
        entity_id_hex: "0x0300640000000000",
        type_name: "Rack",
        machine_id: 100,
        serial: 7,
      },
    });
    expect(i.payload?.rack_key_fingerprint).toBe(keyFingerprint(i.payload?.rack_public_key ?? ""));
  });

  test("valid under the right cluster key", async () => {
    using dir = tempDir("inspect");
    const f = await writePassportFixture({ dir: dir.path, issuedAt, ttlMs: DAY });
    const i = await inspectPassport({
      path: f.path,
      now,
      clusterKey: { key: f.cluster.publicKey, kid: keyId(f.cluster.publicKey) },
    });
    expect(i.verification).toEqual({ checked: true, ok: true, cluster_key_id: keyId(f.cluster.publicKey) });
  });

  test("another cluster's key: names both key ids", async () => {
    using dir = tempDir("inspect");
    const f = await writePassportFixture({ dir: dir.path, issuedAt, ttlMs: DAY });
    const other = generateKeyPair().publicKey;
    const i = await inspectPassport({ path: f.path, now, clusterKey: { key: other, kid: keyId(other) } });
    expect(i.verification).toMatchObject({ ok: false, code: "passport_key_id_mismatch" });
    expect(i.verification.checked && !i.verification.ok && i.verification.reason).toContain(keyId(other));
  });

  test("a tampered payload (expiry pushed out) still decodes, and fails its signature", async () => {
    using dir = tempDir("inspect");
    const f = await writePassportFixture({ dir: dir.path, issuedAt, ttlMs: DAY });
    const forever = "2035-01-01T00:00:00.000Z";
    await writeFile(f.path, stateFluxText(tamperedPassport(f.env, (p) => (p.expires_at = forever))));
    const i = await inspectPassport({
      path: f.path,
      now,
      clusterKey: { key: f.cluster.publicKey, kid: keyId(f.cluster.publicKey) },
    });
    expect(i.payload?.expires_at).toBe(forever);
    expect(i.verification).toMatchObject({ ok: false, code: "passport_signature_invalid" });
    expect(i.verification.checked && !i.verification.ok && i.verification.reason).toMatch(/altered after/);
  });

  test("expired, and issued in the future, say when", async () => {
    using dir = tempDir("inspect");
    const f = await writePassportFixture({ dir: dir.path, issuedAt, ttlMs: 3_600_000 });
    const clusterKey = { key: f.cluster.publicKey, kid: keyId(f.cluster.publicKey) };
    const late = await inspectPassport({ path: f.path, now, clusterKey });
    expect(late.verification).toMatchObject({ ok: false, code: "passport_expired" });
    expect(late.verification.checked && !late.verification.ok && late.verification.reason).toMatch(
      /^expired 2h ago \(at 2025-06-01T13:00:00.000Z\)/,
    );
    const early = await inspectPassport({ path: f.path, now: new Date("2025-06-01T11:00:00Z"), clusterKey });
    expect(early.verification).toMatchObject({ ok: false, code: "passport_not_yet_valid" });
  });

  test("a missing or garbled file is a CliError with exit 1", async () => {
    using dir = tempDir("inspect");
    await expect(inspectPassport({ path: join(dir.path, "nope.flux"), now })).rejects.toMatchObject({
      code: "not_found",
      exitCode: 1,
    });
    await writeFile(join(dir.path, "bad.flux"), "not json at all");
    await expect(inspectPassport({ path: join(dir.path, "bad.flux"), now })).rejects.toMatchObject({
      code: "passport_state_flux",
      exitCode: 1,
      message: expect.stringMatching(/garbled/),
    });
  });
});
