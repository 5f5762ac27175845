import { generateKeyPair, keyId, publicKeyToBase64url } from "@fluxrig/passport";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { firstDifference } from "./registry-import.js";
import {
  canonicalJson,
  decodeLayoutValue,
  type EntityRecord,
  entityRecord,
  fromKeyToken,
  importNonce,
  KvLayoutError,
  keyToken,
  type LayoutEntry,
  layoutKeys,
  type RegistrySnapshot,
  registryEntries,
  type SnapshotEntity,
  snapshotEntity,
} from "./registry-layout.js";

const KEYS = Array.from({ length: 4 }, () => publicKeyToBase64url(generateKeyPair().publicKey));
const t = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);

function rack(
  over: Partial<SnapshotEntity> & { entityId: bigint; machineId: number; name: string },
  key: string,
): SnapshotEntity {
  return {
    typeId: 1,
    status: "active",
    version: "1.0.0",
    attributes: { public_key: key, hostname: "h" },
    stats: null,
    lastSeen: null,
    lifecycle: {
      publicKey: key,
      firstSeen: t(0),
      statusChangedAt: t(1000),
      passportSerial: 2,
      passportIssuedAt: t(2000),
      passportExpiresAt: t(3000),
      passportsValidUntil: t(3000),
      lastSource: "10.0.0.5 (reported by the Rack)",
      helloCount: 7,
      flaps: 1,
    },
    ...over,
  };
}

const snapshot: RegistrySnapshot = {
  entities: [
    rack({ entityId: 1n << 40n, machineId: 1, name: "press-01" }, KEYS[0] as string),
    rack({ entityId: 2n << 40n, machineId: 2, name: "line 2.a:β", status: "pending" }, KEYS[1] as string),
    {
      entityId: (2n << 56n) | (9n << 40n),
      typeId: 2,
      machineId: 9,
      name: "mixer-1",
      status: "active",
      version: "1.0.0",
      attributes: {},
      stats: null,
      lastSeen: null,
      lifecycle: null,
    },
  ],
  tombstones: [
    { machineId: 3, entityId: 3n << 40n, name: "old", retiredAt: t(5), reusableAfter: t(9) },
    // A tombstone whose id a live row took again is not a claim (the live row holds it).
    { machineId: 1, entityId: 4n << 40n, name: "older", retiredAt: t(1), reusableAfter: t(2) },
  ],
  scenarios: [
    {
      name: "line-1",
      version: "3",
      yaml: "name: line-1\n",
      spec: { gears: [] },
      importedAt: t(10),
      activatedAt: t(11),
      active: true,
    },
  ],
  activations: [
    {
      seq: 1,
      name: "line-1",
      version: "3",
      yaml: "name: line-1\n",
      spec: { gears: [] },
      at: t(11),
      actor: "api",
      cause: "operator",
      reason: null,
    },
  ],
};

describe("registry layout in KV", () => {
  test("a snapshot becomes each entity's record and claims, retired MachineIDs, scenarios and activations", () => {
    const entries = registryEntries(snapshot);
    const keys = entries.map((e) => `${e.bucket}/${e.key}`).sort();
    expect(keys).toEqual(
      [
        "racks/rack.1099511627776",
        "racks/rack.2199023255552",
        "claims/machine.1",
        "claims/machine.2",
        "claims/machine.3",
        "claims/name.press-01",
        "claims/name.line=202=2ea=3a=ce=b2",
        `claims/key.${keyToken(keyId(KEYS[0] as string))}`,
        `claims/key.${keyToken(keyId(KEYS[1] as string))}`,
        "scenarios/scenario.line-1",
        "scenarios/activation.0000000001",
      ].sort(),
    );
    const byKey = new Map(entries.map((e) => [e.key, e.value]));
    expect(byKey.get("machine.3")).toEqual({
      schema: 1,
      kind: "machine",
      entity_id: String(3n << 40n),
      retired: { name: "old", at: t(5).toISOString(), reusable_after: t(9).toISOString() },
    });
    expect(byKey.get("machine.1")).toMatchObject({ entity_id: String(1n << 40n), retired: null });
    expect(byKey.get("rack.2199023255552")).toMatchObject({
      status: "pending",
      name: "line 2.a:β",
      lifecycle: { passport: { serial: 2, expires_at: t(3000).toISOString() }, hello_count: 7 },
    });
  });

  test("two rows claiming one name are refused, not silently merged", () => {
    const twice: RegistrySnapshot = {
      ...snapshot,
      entities: [
        rack({ entityId: 1n << 40n, machineId: 1, name: "dup" }, KEYS[2] as string),
        rack({ entityId: 2n << 40n, machineId: 2, name: "dup" }, KEYS[3] as string),
      ],
    };
    expect(() => registryEntries(twice)).toThrow(/name\.dup: claimed twice/);
  });

  test("a record of another schema version is refused with what to do", () => {
    const [entry] = registryEntries(snapshot);
    const value = { ...(entry as LayoutEntry).value, schema: 2 };
    expect(() => decodeLayoutValue("racks", "rack.1", value)).toThrow(KvLayoutError);
    expect(() => decodeLayoutValue("racks", "rack.1", value)).toThrow(
      /schema version 2, this Mixer reads version 1 only: upgrade this Mixer/,
    );
    expect(() => decodeLayoutValue("racks", "rack.1", { name: "x" })).toThrow(/no schema version/);
    expect(() => decodeLayoutValue("claims", "machine.1", { schema: 1, kind: "machine" })).toThrow(
      /machine\.1: not a valid record: entity_id/,
    );
    expect(() => decodeLayoutValue("claims", "rack.1", { schema: 1 })).toThrow(
      /not a key of the registry layout/,
    );
    // An unknown field is refused too (strict): a newer Mixer must bump the version to add one.
    const claim = { schema: 1, kind: "name", entity_id: "1", retired: null, extra: true };
    expect(() => decodeLayoutValue("claims", "name.x", claim)).toThrow(/not a valid record/);
  });

  test("the nonce of an import is the same for the same record and differs for another", () => {
    const [a, b] = registryEntries(snapshot) as [LayoutEntry, LayoutEntry];
    expect(importNonce(a)).toBe(importNonce({ ...a, value: JSON.parse(JSON.stringify(a.value)) }));
    expect(importNonce(a)).not.toBe(importNonce(b));
    expect(importNonce(a)).toMatch(/^import-[A-Za-z0-9_-]{22}$/);
  });

  test("a difference names the first field that differs", () => {
    expect(firstDifference({ a: 1, b: { c: "x" } }, { a: 1, b: { c: "y" } })).toBe(
      'b.c: registry has "x", KV has "y"',
    );
    expect(firstDifference({ a: 1 }, { a: 1, z: 2 })).toBe("z: registry has absent, KV has 2");
  });

  test("property: key tokens round-trip any text and are valid KV key tokens", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), (text) => {
        const token = keyToken(text);
        expect(token).toMatch(/^[A-Za-z0-9_=-]+$/);
        expect(fromKeyToken(token)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  test("a snapshot's revocations, API and enrollment tokens and expected keys go to the access bucket, checked", () => {
    const at = t(1).toISOString();
    const sha = "a".repeat(64);
    const entries = registryEntries({
      entities: [],
      tombstones: [],
      scenarios: [],
      activations: [],
      access: {
        revocations: [
          { schema: 1, public_key: KEYS[0] as string, revoked_at: at, name: "press-01", cause: "revoked" },
        ],
        apiTokens: [
          {
            schema: 1,
            name: "ci bot",
            role: "operator",
            secret_sha256: sha,
            created_at: at,
            created_by: "admin",
          },
        ],
        enrollmentTokens: [
          {
            schema: 1,
            id: "0123456789ab",
            pattern: "press-*",
            uses: 5,
            used: 1,
            expires_at: at,
            secret_sha256: sha,
            created_at: at,
            created_by: "admin",
          },
        ],
        expectedKeys: [
          { schema: 1, name: "press-02", key_fingerprint: "SHA256:x", created_at: at, created_by: "admin" },
        ],
      },
    });
    expect(entries.map((e) => `${e.bucket}/${e.key}`).sort()).toEqual(
      [
        `access/revocation.${keyToken(KEYS[0] as string)}`,
        "access/api_token.ci=20bot",
        "access/enrollment_token.0123456789ab",
        "access/expected_key.press-02",
      ].sort(),
    );
    // A value that is not the layout's is refused before it could be written.
    expect(() =>
      registryEntries({
        entities: [],
        tombstones: [],
        scenarios: [],
        activations: [],
        access: {
          revocations: [],
          apiTokens: [
            {
              schema: 1,
              name: "x",
              role: "operator",
              secret_sha256: "nope",
              created_at: at,
              created_by: "a",
            },
          ],
          enrollmentTokens: [],
          expectedKeys: [],
        },
      }),
    ).toThrow(/secret_sha256/);
  });

  test("property: every record round-trips through JSON and decode unchanged", () => {
    const date = fc.date({ min: new Date(0), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true });
    const json = fc.dictionary(
      fc.string({ maxLength: 8 }),
      fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
      { maxKeys: 4 },
    );
    const entity = fc.record({
      entityId: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
      typeId: fc.integer({ min: 0, max: 255 }),
      machineId: fc.integer({ min: 0, max: 0xffff }),
      name: fc.string({ minLength: 1, maxLength: 20 }),
      status: fc.constantFrom("pending", "active", "offline", "revoked", "rejected"),
      version: fc.string({ maxLength: 10 }),
      attributes: json,
      stats: fc.option(json, { nil: null }),
      lastSeen: fc.option(date, { nil: null }),
      lifecycle: fc.option(
        fc.record({
          publicKey: fc.constantFrom(...KEYS),
          firstSeen: date,
          statusChangedAt: date,
          passportSerial: fc.nat(),
          passportIssuedAt: fc.option(date, { nil: null }),
          passportExpiresAt: fc.option(date, { nil: null }),
          passportsValidUntil: fc.option(date, { nil: null }),
          lastSource: fc.option(fc.string(), { nil: null }),
          helloCount: fc.nat(),
          flaps: fc.nat(),
        }),
        { nil: null },
      ),
    });
    fc.assert(
      fc.property(entity, (e) => {
        // Both ways: the record decodes to itself, and back to the row it came from (the index reads it so).
        const record = entityRecord(e);
        const key = e.lifecycle === null ? layoutKeys.node(e.entityId) : layoutKeys.rack(e.entityId);
        const decoded = decodeLayoutValue("racks", key, JSON.parse(JSON.stringify(record))) as EntityRecord;
        expect(canonicalJson(decoded)).toBe(canonicalJson(record));
        expect(snapshotEntity(decoded)).toEqual(e);
        const entries = registryEntries({ entities: [e], tombstones: [], scenarios: [], activations: [] });
        for (const entry of entries) {
          const stored = JSON.parse(JSON.stringify(entry.value));
          const back = decodeLayoutValue(entry.bucket, entry.key, stored);
          expect(canonicalJson(back)).toBe(canonicalJson(entry.value));
        }
        // A node row (the single Mixer's own) is left out of an import; a Rack brings its record and its claims.
        expect(entries.length === 0).toBe(e.lifecycle === null);
        if (e.lifecycle !== null) expect(entries.some((x) => x.key === layoutKeys.name(e.name))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
