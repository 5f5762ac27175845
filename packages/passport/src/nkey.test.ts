import { sign } from "node:crypto";
import * as nkeys from "@nats-io/nkeys";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NkeyFormatError } from "./errors.js";
import { generateKeyPair } from "./keys.js";
import {
  crc16,
  decodePublicNkey,
  encodePublicNkey,
  encodeSeedNkey,
  type NkeyRole,
  nkeyOf,
  privateKeyOfSeed,
  publicKeyOfNkey,
  rawPublicKey,
  seedNkeyOf,
} from "./nkey.js";

const ROLES: NkeyRole[] = ["operator", "account", "user"];
const ORACLE = { operator: nkeys.Prefix.Operator, account: nkeys.Prefix.Account, user: nkeys.Prefix.User };
const seed32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe("nkey encoding, against @nats-io/nkeys", () => {
  it("encodes a seed and its public key exactly as nkeys does, for every role", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ROLES), seed32, (role, seed) => {
        const ours = encodeSeedNkey(role, seed);
        const theirs = nkeys.fromSeed(new TextEncoder().encode(ours));
        const pair = nkeys.createPair(ORACLE[role]);
        expect(pair.getPublicKey()[0]).toBe(ours[1]);
        const key = privateKeyOfSeed(seed);
        expect(nkeyOf(key, role)).toBe(theirs.getPublicKey());
        expect(seedNkeyOf(key, role)).toBe(ours);
      }),
      { numRuns: 50 },
    );
  });

  it("reads back nkeys' own keys", () => {
    for (const role of ROLES) {
      const pair = nkeys.createPair(ORACLE[role]);
      const decoded = decodePublicNkey(pair.getPublicKey());
      expect(decoded.role).toBe(role);
      expect(encodePublicNkey(role, decoded.raw)).toBe(pair.getPublicKey());
    }
  });

  it("makes a Rack's own node:crypto key a user nkey whose signatures nkeys verifies", () => {
    const rack = generateKeyPair();
    const nkey = nkeyOf(rack.publicKey, "user");
    expect(nkey).toMatch(/^U[A-Z2-7]{55}$/);
    const nonce = new TextEncoder().encode("server-nonce");
    const sig = sign(null, nonce, rack.privateKey);
    expect(nkeys.fromPublic(nkey).verify(nonce, sig)).toBe(true);
    expect(rawPublicKey(publicKeyOfNkey(nkey))).toEqual(rawPublicKey(rack.publicKey));
  });

  it("refuses a flipped character, a wrong role and garbage", () => {
    const nkey = nkeyOf(generateKeyPair().publicKey, "user");
    const flipped = nkey.slice(0, 10) + (nkey[10] === "A" ? "B" : "A") + nkey.slice(11);
    for (const bad of [
      flipped,
      nkey.slice(1),
      `${nkey}A`,
      "",
      "u".repeat(56),
      nkeys.createServer().getPublicKey(),
    ]) {
      expect(() => decodePublicNkey(bad)).toThrow(NkeyFormatError);
    }
  });

  it("computes CRC-16/XMODEM (check value of '123456789' is 0x31C3)", () => {
    expect(crc16(new TextEncoder().encode("123456789"))).toBe(0x31c3);
  });
});
