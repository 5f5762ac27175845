// Enrollment over real NATS into a real DuckDB file, against the fluxrig-mixer process.
import {
  decodePassportPayload,
  generateKeyPair,
  publicKeyFromBase64url,
  verifyPassport,
} from "@fluxrig/passport";
import { MixerHarness, ScriptedRack, waitFor } from "@fluxrig/testkit";
import { encodeMessage } from "@fluxrig/wire";
import nacl from "tweetnacl";
import { describe, expect, test } from "vitest";
import { readRegistry } from "./support/registry-file.js";

describe("enrollment", () => {
  test("a new Rack becomes a pending row with the seed's columns; the same key again is the same row", async () => {
    await using h = await MixerHarness.create();
    const rack = new ScriptedRack(await h.client(), "rack-nyc-01").listen();
    const first = await rack.hello();
    expect(first).toMatchObject({ v: 1, status: "pending", heartbeat_interval_ms: 10_000 });
    expect(first.passport).toBeUndefined();
    const again = await rack.hello();
    expect(again).toMatchObject({
      status: "pending",
      entity_id: first.entity_id,
      machine_id: first.machine_id,
    });
    // The entity id is a node id of type 3 with the allocated MachineID (SPEC §3).
    expect(BigInt(first.entity_id!)).toBe((3n << 56n) | (BigInt(first.machine_id!) << 40n));

    expect((await h.stop()).code).toBe(0);
    await readRegistry(h.dataDir, async (q) => {
      const columns = await q(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'registry' ORDER BY ordinal_position",
      );
      expect(columns.map((c) => `${c.column_name} ${c.data_type}`)).toEqual([
        "entity_id UBIGINT",
        "type_id USMALLINT",
        "machine_id USMALLINT",
        "name VARCHAR",
        "status VARCHAR",
        "version VARCHAR",
        "attributes JSON",
        "stats JSON",
        "last_seen TIMESTAMP",
      ]);
      const rows = await q(
        "SELECT entity_id::VARCHAR AS id, type_id, machine_id, name, status, version, attributes::VARCHAR AS attrs, last_seen FROM registry WHERE type_id = 3",
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        id: first.entity_id,
        type_id: 3,
        machine_id: first.machine_id,
        name: "rack-nyc-01",
        status: "pending",
        version: "0.0.0-test",
      });
      expect(JSON.parse(String(rows[0]?.attrs))).toMatchObject({
        public_key: rack.publicKey,
        hostname: "rack-nyc-01-host",
        os: "linux",
        arch: "x64",
      });
      expect(rows[0]?.last_seen).not.toBeNull();
      const nodes = await q(
        "SELECT type_id, machine_id FROM registry WHERE type_id IN (2, 8) ORDER BY type_id",
      );
      expect(nodes).toEqual([
        { type_id: 2, machine_id: 1 },
        { type_id: 8, machine_id: expect.any(Number) },
      ]);
      const audit = await q("SELECT kind, cause FROM audit_events WHERE name = 'rack-nyc-01'");
      expect(audit).toContainEqual({ kind: "rack_enrolled", cause: "enrollment" });
    });
  });

  test("auto_adopt (Path A): active at once with a passport that verifies under tweetnacl too", async () => {
    await using h = await MixerHarness.create({ env: { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" } });
    const rack = new ScriptedRack(await h.client(), "rack-a").listen();
    const reply = await rack.hello();
    expect(reply.status).toBe("active");
    const passport = reply.passport!;
    const clusterKey = publicKeyFromBase64url(reply.cluster_public_key);
    const payload = verifyPassport(passport, {
      clusterPublicKey: clusterKey,
      rackPublicKey: rack.publicKey,
      name: "rack-a",
    });
    expect(payload).toMatchObject({
      entity_id: reply.entity_id,
      machine_id: reply.machine_id,
      status: "active",
      serial: 1,
      cluster: "mixer-1",
    });
    const ok = nacl.sign.detached.verify(
      Buffer.from(passport.payload, "base64url"),
      Buffer.from(passport.sig, "base64url"),
      Buffer.from(reply.cluster_public_key, "base64url"),
    );
    expect(ok).toBe(true);
    // The reply is how it gets its passport: the same passport is not pushed as well.
    expect(
      (await h.api<{ counters: Record<string, number> }>("/api/v1/cluster")).body.counters[
        "push.passport.sent"
      ] ?? 0,
    ).toBe(0);
  });

  test("session recovery across a Mixer restart: same entity, same passport, nothing new in the registry", async () => {
    await using h = await MixerHarness.create({ env: { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" } });
    const rack = new ScriptedRack(await h.client(), "rack-r").listen();
    const first = await rack.hello();
    expect(first.status).toBe("active");
    expect((await h.stop()).code).toBe(0);
    await h.start();
    const again = await rack.hello();
    expect(again).toMatchObject({
      status: "active",
      entity_id: first.entity_id,
      machine_id: first.machine_id,
    });
    expect(again.passport).toEqual(first.passport);
    await h.stop();
    await readRegistry(h.dataDir, async (q) => {
      expect(await q("SELECT count(*)::INTEGER AS n FROM registry WHERE type_id = 3")).toEqual([{ n: 1 }]);
      expect(await q("SELECT passport_serial FROM rack_lifecycle")).toEqual([{ passport_serial: 1 }]);
    });
  });

  test("an expired passport from a known key is renewed, a tampered one is replaced, never trusted", async () => {
    await using h = await MixerHarness.create({
      env: {
        FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true",
        FLUXRIG_PASSPORT_TTL: "3s",
        FLUXRIG_ENROLLMENT_CLOCK_SKEW: "1s",
      },
    });
    const rack = new ScriptedRack(await h.client(), "rack-e").listen();
    const first = await rack.hello();
    const firstPassport = first.passport!;
    // Past 2/3 of a 3 s life (and soon past expiry plus skew): the next hello gets a renewed passport.
    const renewed = await waitFor(
      async () => {
        const r = await rack.hello({ passport: firstPassport });
        return r.passport && r.passport.payload !== firstPassport.payload ? r : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 300, message: "renewed passport" },
    );
    expect(renewed).toMatchObject({ status: "active", entity_id: first.entity_id });
    // Flip one character in the middle of the signature (replacing the tail could leave it unchanged by chance).
    const sig = renewed.passport!.sig;
    const tampered = {
      ...renewed.passport!,
      sig: `${sig.slice(0, 20)}${sig[20] === "A" ? "B" : "A"}${sig.slice(21)}`,
    };
    const reply = await rack.hello({ passport: tampered });
    expect(reply.status).toBe("active");
    expect(reply.passport?.sig).not.toBe(tampered.sig);
    // A hello with no passport gets the passport on record while it is fresh (the same bytes), a new one after.
    const held = reply.passport!;
    const again = await rack.hello({ passport: undefined });
    const serialOf = (r: { passport?: typeof held }) => decodePassportPayload(r.passport!).serial;
    if (serialOf(again) === serialOf({ passport: held })) expect(again.passport).toEqual(held);
    const later = await waitFor(
      async () => {
        const r = await rack.hello({ passport: undefined });
        return serialOf(r) > serialOf({ passport: held }) ? r : undefined;
      },
      {
        timeoutMs: 10_000,
        intervalMs: 300,
        message: "a new passport once the one on record is due for renewal",
      },
    );
    expect(later).toMatchObject({ status: "active", entity_id: first.entity_id });
  });
});

describe("refusals", () => {
  test("name hijack, replay, stale and forged hellos are refused with codes and change nothing", async () => {
    // Signatures checked on a worker thread here (the default on 2 cores is the event loop), so both paths meet
    // forged hellos against the real binary.
    await using h = await MixerHarness.create({ env: { FLUXRIG_ENROLLMENT_VERIFY_THREADS: "1" } });
    const nc = await h.client();
    const owner = new ScriptedRack(nc, "rack-owned");
    const owned = await owner.hello();
    expect(owned.status).toBe("pending");

    const thief = new ScriptedRack(nc, "rack-owned");
    expect((await thief.hello()).error?.code).toBe("name_taken");

    // Names that read as entity ids would make refs ambiguous: refused, and nothing is written.
    for (const name of ["216178279671922688", "0x0300040000000000"]) {
      const idLike = await new ScriptedRack(nc, name).hello();
      expect(idLike, name).toMatchObject({ status: "refused", error: { code: "name_reserved" } });
    }

    const bytes = encodeMessage(owner.buildHello());
    expect((await owner.sendRaw(bytes)).status).toBe("pending");
    expect((await owner.sendRaw(bytes)).error?.code).toBe("replay");

    const stale = await owner.hello({ ts: new Date(Date.now() - 10 * 60_000).toISOString() });
    expect(stale).toMatchObject({ status: "refused", error: { code: "stale" } });
    expect(stale.error?.message).toMatch(/behind/);

    const forged = await owner.hello({ signWith: generateKeyPair().privateKey });
    expect(forged.error?.code).toBe("bad_signature");
    const edited = await owner.hello({ mutate: (r) => ({ ...r, version: "9.9.9" }) });
    expect(edited.error?.code).toBe("bad_signature");

    // The owner is untouched: still pending, same entity.
    expect(await owner.hello()).toMatchObject({ status: "pending", entity_id: owned.entity_id });
    const { counters } = (await h.api<{ counters: Record<string, number> }>("/api/v1/cluster")).body;
    expect(counters["hello.signatures_offloaded"]).toBeGreaterThanOrEqual(5);
    expect(counters["hello.signatures_inline"] ?? 0).toBe(0);
    await h.stop();
    await readRegistry(h.dataDir, async (q) => {
      expect(
        await q("SELECT name, attributes->>'public_key' AS key FROM registry WHERE type_id = 3"),
      ).toEqual([{ name: "rack-owned", key: owner.publicKey }]);
      const conflicts = await q(
        "SELECT name, claimed_public_key, attempts::INTEGER AS attempts FROM name_conflicts",
      );
      expect(conflicts).toEqual([{ name: "rack-owned", claimed_public_key: thief.publicKey, attempts: 1 }]);
    });
  });

  test("MachineID exhaustion answers registry_full and changes nothing", async () => {
    await using h = await MixerHarness.create({
      env: { FLUXRIG_ENROLLMENT_MACHINE_ID_MIN: "10", FLUXRIG_ENROLLMENT_MACHINE_ID_MAX: "12" },
    });
    const nc = await h.client();
    // 10 goes to the Snake Tunnel row; 11 and 12 to Racks; the third Rack finds the range full.
    const a = await new ScriptedRack(nc, "rack-1").hello();
    const b = await new ScriptedRack(nc, "rack-2").hello();
    expect([a.machine_id, b.machine_id]).toEqual([11, 12]);
    const full = await new ScriptedRack(nc, "rack-3").hello();
    expect(full).toMatchObject({ status: "refused", error: { code: "registry_full" } });
    await h.stop();
    await readRegistry(h.dataDir, async (q) => {
      expect(await q("SELECT name, machine_id FROM registry WHERE type_id = 3 ORDER BY name")).toEqual([
        { name: "rack-1", machine_id: 11 },
        { name: "rack-2", machine_id: 12 },
      ]);
    });
  });

  test("a flood of 5,000 fake hellos fills max_pending and no more; a known pending Rack still gets through", async () => {
    await using h = await MixerHarness.create({ env: { FLUXRIG_ENROLLMENT_MAX_PENDING: "50" } });
    const nc = await h.client();
    const real = new ScriptedRack(nc, "rack-real");
    expect((await real.hello()).status).toBe("pending");
    const codes = new Map<string, number>();
    const batch = 100;
    for (let i = 0; i < 5000; i += batch) {
      const replies = await Promise.all(
        Array.from({ length: batch }, (_, j) => new ScriptedRack(nc, `fake-${i + j}`).hello()),
      );
      for (const r of replies) {
        const key = r.error?.code ?? r.status;
        codes.set(key, (codes.get(key) ?? 0) + 1);
      }
    }
    expect(codes.get("pending")).toBe(49);
    expect(codes.get("too_many_pending")).toBe(5000 - 49);
    expect((await real.hello()).status).toBe("pending");
    await h.stop();
    await readRegistry(h.dataDir, async (q) => {
      expect(
        await q(
          "SELECT count(*)::INTEGER AS n, count(DISTINCT machine_id)::INTEGER AS ids FROM registry WHERE type_id = 3",
        ),
      ).toEqual([{ n: 50, ids: 50 }]);
    });
  });

  test("admission control: hellos beyond max_inflight_hellos are answered unavailable at once and change nothing", async () => {
    await using h = await MixerHarness.create({
      env: { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true", FLUXRIG_ENROLLMENT_MAX_INFLIGHT_HELLOS: "4" },
    });
    const nc = await h.client();
    const racks = Array.from({ length: 60 }, (_, i) => new ScriptedRack(nc, `herd-${i}`));
    // All at once, as after a bus restart: at most 4 are worked on, the rest are told to come back.
    const first = await Promise.all(racks.map((r) => r.hello()));
    const busy = first.filter((r) => r.error?.code === "unavailable");
    const active = first.filter((r) => r.status === "active");
    expect(busy.length).toBeGreaterThan(0);
    expect(busy.length + active.length).toBe(racks.length);
    for (const r of busy) {
      expect(r.status).toBe("refused");
      expect(r.error?.message).toMatch(/busy .*retry with backoff/);
      expect(r.entity_id).toBeUndefined();
    }
    const counters = async () =>
      (await h.api<{ counters: Record<string, number>; counts: { total: number } }>("/api/v1/cluster")).body;
    expect((await counters()).counters["hello.refused.busy"]).toBe(busy.length);
    // Nothing was written for a refused hello: only the admitted Racks have rows.
    expect((await h.api<{ items: unknown[] }>("/api/v1/racks?limit=1000")).body.items).toHaveLength(
      active.length,
    );
    // Asked again, a few at a time as their backoff spreads them, every one gets in, each with its own MachineID.
    const retried = racks.filter((_, i) => first[i]!.error?.code === "unavailable");
    for (let i = 0; i < retried.length; i += 4)
      await Promise.all(retried.slice(i, i + 4).map((r) => r.hello()));
    const rows = (
      await h.api<{ items: Array<{ machine_id: number; status: string }> }>("/api/v1/racks?limit=1000")
    ).body.items;
    expect(rows).toHaveLength(racks.length);
    expect(rows.every((r) => r.status === "active")).toBe(true);
    expect(new Set(rows.map((r) => r.machine_id)).size).toBe(racks.length);
  });

  test("malformed and oversized input on every subject is refused or dropped; the Mixer keeps serving", async () => {
    await using h = await MixerHarness.create();
    const nc = await h.client();
    const junk = [
      new TextEncoder().encode("{not json"),
      new Uint8Array(200_000).fill(0x5b),
      encodeMessage({ v: 2 }),
      new Uint8Array(),
    ];
    for (const data of junk) {
      const reply = await new ScriptedRack(nc, "rack-x").sendRaw(data);
      expect(reply.status).toBe("refused");
      expect(["malformed", "too_large", "schema"]).toContain(reply.error?.code);
    }
    for (const data of junk) {
      nc.publish("fluxrig.event.heartbeat.rack-x", data);
      nc.publish("fluxrig.event.heartbeat.x", data);
    }
    await nc.flush();
    const ok = await new ScriptedRack(nc, "rack-after").hello();
    expect(ok.status).toBe("pending");
    expect(h.mixer?.running).toBe(true);
  });
});
