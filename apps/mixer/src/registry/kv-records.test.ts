// The one mapping between the registry's records and cluster mode's KV values: every record comes back as it went
// (the mirror rebuilds each Mixer's index from these), and a value this Mixer cannot trust is refused by name.
import { EntityType } from "@fluxrig/entity-id";
import { generateKeyPair, publicKeyToBase64url } from "@fluxrig/passport";
import { describe, expect, test } from "vitest";
import { decodeLayoutValue, layoutKeys } from "../kv/registry-layout.js";
import {
  apiTokenFromKv,
  apiTokenToKv,
  enrollmentTokenFromKv,
  enrollmentTokenToKv,
  entityFromKv,
  expectedKeyFromKv,
  expectedKeyToKv,
  nodeToKv,
  rackToKv,
  revocationFromKv,
  revocationToKv,
  tombstoneFromKv,
  tombstoneToKv,
} from "./kv-records.js";
import type { NodeRecord, RackRecord } from "./registry-records.js";

const t = (s: number) => new Date(Date.UTC(2026, 11, 6, 12, 0, s));
const publicKey = publicKeyToBase64url(generateKeyPair().publicKey);

/** Through JSON and the layout's check, as the mirror reads a value. */
function stored<T>(bucket: "racks" | "claims" | "access", key: string, value: T): T {
  return decodeLayoutValue(bucket, key, JSON.parse(JSON.stringify(value))) as T;
}

describe("registry records in KV", () => {
  test("a Rack and a node row come back as they went", () => {
    const rack: RackRecord = {
      entityId: 5n << 40n,
      typeId: EntityType.Rack,
      machineId: 5,
      name: "press-01",
      status: "active",
      version: "1.2.3",
      attributes: { public_key: publicKey, hostname: "h1", nested: { a: 1 } },
      stats: { cpu: 0.5 },
      lastSeen: t(3),
      lifecycle: {
        publicKey,
        firstSeen: t(1),
        statusChangedAt: t(2),
        passportSerial: 4,
        passportIssuedAt: t(2),
        passportExpiresAt: t(9),
        passportsValidUntil: t(9),
        lastSource: "10.0.0.5:4222",
        helloCount: 12,
        flaps: 1,
      },
    };
    const key = layoutKeys.rack(rack.entityId);
    expect(entityFromKv(key, stored("racks", key, rackToKv(rack))).rack).toEqual(rack);
    const node: NodeRecord = {
      entityId: (2n << 56n) | (3n << 40n),
      typeId: EntityType.Mixer,
      machineId: 3,
      name: "mixer-a",
      status: "active",
      version: "1.2.3",
      attributes: { member: "mixer-a" },
      stats: null,
      lastSeen: null,
    };
    const nodeKey = layoutKeys.node(node.entityId);
    expect(entityFromKv(nodeKey, stored("racks", nodeKey, nodeToKv(node))).node).toEqual(node);
  });

  test("a record whose type does not fit its shape is refused, naming the key", () => {
    const key = layoutKeys.node(9n);
    const bad = {
      ...nodeToKv({
        entityId: 9n,
        typeId: EntityType.Mixer,
        machineId: 9,
        name: "m",
        status: "active",
        version: "1",
        attributes: {},
        stats: null,
        lastSeen: null,
      }),
      type_id: EntityType.Rack,
    };
    expect(() => entityFromKv(key, bad)).toThrow(/node\.9.*not a Mixer or Snake Tunnel/);
  });

  test("a tombstone, a revocation, tokens and an expected key come back as they went", () => {
    const row = { machineId: 7, entityId: 7n << 40n, name: "gone", retiredAt: t(1), reusableAfter: t(8) };
    expect(tombstoneFromKv(7, stored("claims", layoutKeys.machine(7), tombstoneToKv(row)))).toEqual(row);
    const revocation = { publicKey, revokedAt: t(2), name: "press-01", cause: "revoked" };
    const rKey = layoutKeys.revocation(publicKey);
    expect(revocationFromKv(stored("access", rKey, revocationToKv(revocation)))).toEqual(revocation);
    const token = {
      name: "ci",
      role: "operator" as const,
      secretSha256: "b".repeat(64),
      createdAt: t(3),
      createdBy: "admin",
    };
    const tKey = layoutKeys.apiToken("ci");
    expect(apiTokenFromKv(tKey, stored("access", tKey, apiTokenToKv(token)))).toEqual(token);
    expect(() => apiTokenFromKv(tKey, { ...apiTokenToKv(token), role: "root" })).toThrow(/role "root"/);
    const enrollment = {
      id: "0123456789ab",
      pattern: "press-*",
      uses: 3,
      used: 1,
      expiresAt: t(9),
      secretSha256: "c".repeat(64),
      createdAt: t(4),
      createdBy: "admin",
    };
    const eKey = layoutKeys.enrollmentToken(enrollment.id);
    expect(enrollmentTokenFromKv(stored("access", eKey, enrollmentTokenToKv(enrollment)))).toEqual(
      enrollment,
    );
    const expected = { name: "press-02", keyFingerprint: "SHA256:abc", createdAt: t(5), createdBy: "admin" };
    const xKey = layoutKeys.expectedKey(expected.name);
    expect(expectedKeyFromKv(stored("access", xKey, expectedKeyToKv(expected)))).toEqual(expected);
  });
});
