// Test-only builders: keys from fixed seeds and well-formed payloads that tests then bend one field at a time.

import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PassportEnvelope, signPassport } from "../../src/envelope.js";
import { type Ed25519KeyPair, generateKeyPair, keyId, publicKeyToBase64url } from "../../src/keys.js";
import type { PassportPayload } from "../../src/payload.js";

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): a fixed 16-byte header, then the 32 seed bytes.
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** An Ed25519 private KeyObject from a raw 32-byte seed (the RFC 8032 "secret key"). */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new Error(`seed must be 32 bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
}

/** A key pair from a seed given as hex. */
export function keyPairFromSeedHex(hex: string): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKey = privateKeyFromSeed(Buffer.from(hex, "hex"));
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** A Rack with MachineID 100: `0x0300640000000000` (SPEC §3). */
export const RACK_100_ENTITY_ID = "216282733276561408";

/** The instant sample payloads are issued at. */
export const ISSUED_AT = new Date("2025-03-01T12:00:00.000Z");
/** The instant sample payloads expire at (30 days later). */
export const EXPIRES_AT = new Date("2025-03-31T12:00:00.000Z");

/** A valid payload for Rack 100 "rack-nyc-01", with optional overrides. */
export function samplePayload(
  rackPublicKey: KeyObject,
  overrides: Partial<PassportPayload> = {},
): PassportPayload {
  return {
    cluster: "fluxrig-test",
    entity_id: RACK_100_ENTITY_ID,
    type_id: 3,
    machine_id: 100,
    name: "rack-nyc-01",
    status: "active",
    rack_public_key: publicKeyToBase64url(rackPublicKey),
    issued_at: ISSUED_AT.toISOString(),
    expires_at: EXPIRES_AT.toISOString(),
    serial: 1,
    ...overrides,
  };
}

/** A cluster and a Rack with fresh keys, the sample payload for that Rack, and passports the cluster signs. */
export function passportSigner(): {
  cluster: Ed25519KeyPair;
  rack: Ed25519KeyPair;
  kid: string;
  payload: PassportPayload;
  issue: (payload?: PassportPayload) => PassportEnvelope;
} {
  const cluster = generateKeyPair();
  const rack = generateKeyPair();
  const kid = keyId(cluster.publicKey);
  const payload = samplePayload(rack.publicKey);
  const issue = (p = payload) => signPassport({ payload: p, clusterPrivateKey: cluster.privateKey, kid });
  return { cluster, rack, kid, payload, issue };
}

/** A fresh temp directory, removed on dispose: `await using dir = await tempDir();`. */
export async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "fluxrig-passport-"));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}
