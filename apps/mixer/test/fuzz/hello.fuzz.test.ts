// Hostile input on fluxrig.agent.hello (request/reply): raw bytes, valid hellos with one field mutated after
// signing, hostile fields under a valid signature, forged passports, replays, name hijacks, oversized and deep
// messages, hellos without a reply subject. One real Mixer for the file; every property checks that nothing was
// enrolled or changed, that each refusal carries a code, and that the Mixer's counters saw every case.
//
// Already covered in ../enrollment.int.test.ts (not repeated here): one replay of identical bytes, one stale
// timestamp, one hello signed by another key, one edited field, one name hijack, a 5,000-hello pending flood, and
// four junk payloads on each subject.
import { randomBytes } from "node:crypto";
import { createConnection } from "node:net";
import {
  decodePassportPayload,
  type Ed25519KeyPair,
  generateKeyPair,
  keyId,
  type PassportEnvelope,
  publicKeyFromBase64url,
  signBytes,
  verifyPassport,
} from "@fluxrig/passport";
import { MixerHarness, ScriptedRack, waitFor } from "@fluxrig/testkit";
import {
  decodeHelloReply,
  encodeMessage,
  type HelloReply,
  type HelloRequest,
  HelloRequestSchema,
  PassportEnvelopeSchema,
  SUBJECTS,
  signHello,
} from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { MAX_CONFLICTS_PER_NAME } from "../../src/registry/name-conflicts.js";
import {
  hostileString,
  hostileValue,
  type Mutation,
  mutate,
  oversizedOrDeep,
  rawBytes,
} from "./support/arbitraries.js";
import { batched, FuzzRecord, type PropertyRecord, tally } from "./support/fuzz-record.js";
import {
  assertAlive,
  changedRows,
  counters,
  delta,
  deltas,
  type MixerState,
  runProperty,
  snapshot,
} from "./support/mixer-state.js";

const record = new FuzzRecord("hello", { sample: 300 });
const HELLO = SUBJECTS.hello;
/** Codes a hello that fails before any registry lookup may be refused with. */
const DECODE_CODES = ["malformed", "schema", "too_large"];
const utf8 = new TextEncoder();

let h: MixerHarness;
let nc: NatsConnection;
/** Pending Rack: its key is used for mutations and replays. */
let owner: ScriptedRack;
/** Adopted Racks: the forged passports' victims and holders; each keeps its latest genuine passport. */
let holders: ScriptedRack[];
const latest = new Map<string, PassportEnvelope>();
/** A rejected Rack, whose name thieves also try. */
let rejected: ScriptedRack;

/** Sends bytes as a hello request and returns the decoded reply; a reply that does not decode fails the case. */
async function ask(data: Uint8Array, rec: PropertyRecord): Promise<HelloReply> {
  let msg: Awaited<ReturnType<NatsConnection["request"]>>;
  try {
    msg = await nc.request(HELLO, data, { timeout: 10_000 });
  } catch (err) {
    rec.hung += 1;
    throw new Error(`hello request got no reply: ${(err as Error).message}`);
  }
  const decoded = decodeHelloReply(msg.data);
  if (!decoded.ok) throw new Error(`hello reply is not a typed reply: ${decoded.error.message}`);
  return decoded.value;
}

/** Expects a refusal with one of `codes` and tallies it. */
function expectRefused(reply: HelloReply, codes: readonly string[], rec: PropertyRecord): void {
  tally(rec, reply.error?.code ?? `status:${reply.status}`);
  expect(reply.status).toBe("refused");
  expect(reply.entity_id).toBeUndefined();
  expect(reply.passport).toBeUndefined();
  expect(codes).toContain(reply.error?.code);
  expect(reply.error?.message.length).toBeGreaterThan(0);
}

/** Runs one property: snapshots before and after, records the outcome, and checks the Mixer is alive. */
function property(
  rec: PropertyRecord,
  body: () => Promise<void>,
  check: (before: MixerState, after: MixerState) => void,
): Promise<void> {
  return runProperty(h, rec, body, async (before) => check(before, await snapshot(h)));
}

/** Nothing enrolled, no row changed, no audit event, no conflict: what any junk hello must leave behind. */
function expectUntouched(before: MixerState, after: MixerState, rec: PropertyRecord): void {
  const changed = changedRows(before.racks, after.racks);
  rec.rows_written_from_invalid_input =
    changed.length + Math.max(0, after.events.length - before.events.length);
  expect(changed).toEqual([]);
  expect(after.events.length).toBe(before.events.length);
  expect(after.conflicts).toEqual(before.conflicts);
  expect(delta(before.counters, after.counters, "hello.enrolled")).toBe(0);
}

/** Every case was refused and counted under `hello.refused.*`. */
function expectCounted(
  before: MixerState,
  after: MixerState,
  rec: PropertyRecord,
  prefix = "hello.refused",
): void {
  expect(delta(before.counters, after.counters, prefix)).toBe(rec.cases);
}

/** The verdict on most junk: nothing touched, and every case refused and counted. */
function untouchedAndCounted(rec: PropertyRecord): (before: MixerState, after: MixerState) => void {
  return (before, after) => {
    expectUntouched(before, after, rec);
    expectCounted(before, after, rec);
  };
}

beforeAll(async () => {
  h = await MixerHarness.create({
    env: {
      // Nobody goes offline while the file runs: presence must not change rows under the comparisons.
      FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: "30m",
      FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false",
    },
  });
  nc = await h.client();
  owner = new ScriptedRack(nc, "fz-owner");
  holders = Array.from({ length: 16 }, (_, i) => new ScriptedRack(nc, `fz-active-${i}`));
  rejected = new ScriptedRack(nc, "fz-rejected");
  for (const r of [owner, ...holders, rejected]) expect((await r.hello()).status).toBe("pending");
  const adopt = await h.api("/api/v1/racks/adopt", { method: "POST", json: { pattern: "fz-active-*" } });
  expect(adopt.status).toBe(200);
  expect((await h.api(`/api/v1/racks/${rejected.name}/reject`, { method: "POST" })).status).toBe(200);
  for (const r of holders) {
    const reply = await r.hello();
    expect(reply.status).toBe("active");
    latest.set(r.name, reply.passport!);
  }
}, 60_000);

afterAll(async () => {
  record.write();
  await h?.[Symbol.asyncDispose]();
});

describe("fluxrig.agent.hello under hostile input", () => {
  record.test(
    "raw bytes: every reply is a refusal with a decode code; nothing is enrolled",
    { property: "hello.raw_bytes", target: HELLO, perCaseMs: 10 },
    async (rec) => {
      await property(
        rec,
        () =>
          batched(rec, rawBytes, record.runs, async (data) => {
            rec.cases += 1;
            expectRefused(await ask(data, rec), DECODE_CODES, rec);
          }),
        untouchedAndCounted(rec),
      );
    },
  );

  record.test(
    "a valid hello with one field changed after signing is refused (schema or bad_signature)",
    { property: "hello.field_mutated_after_signing", target: HELLO, perCaseMs: 10 },
    async (rec) => {
      const paths: string[][] = [
        ["v"],
        ["name"],
        ["public_key"],
        ["version"],
        ["attributes"],
        ["attributes", "hostname"],
        ["attributes", "os"],
        ["attributes", "arch"],
        ["attributes", "mac"],
        ["attributes", "cpus"],
        ["attributes", "__proto__"],
        ["nonce"],
        ["ts"],
        ["sig"],
        ["passport"],
        ["passport", "payload"],
        ["extra"],
      ];
      // Nonce, ts and sig differ per hello, so a template tells whether a mutation changes anything at all.
      const template = owner.buildHello();
      const mutation: fc.Arbitrary<Mutation> = fc
        .record({
          path: fc.constantFrom(...paths),
          value: fc.oneof(
            hostileValue,
            // Values a careful forger would use: well-formed, just not what was signed.
            fc.constantFrom("fz-owner-2", "1.0.0", new Date(Date.now() + 1000).toISOString(), "darwin"),
            fc.uint8Array({ minLength: 16, maxLength: 64 }).map((b) => Buffer.from(b).toString("base64url")),
          ),
          del: fc.boolean(),
        })
        .filter((m) => JSON.stringify(mutate(template, m)) !== JSON.stringify(template));
      await property(
        rec,
        () =>
          batched(rec, mutation, record.runs, async (m) => {
            const forged = mutate(owner.buildHello(), m);
            rec.cases += 1;
            const reply = await ask(encodeMessage(forged, { maxBytes: 1 << 20 }), rec);
            expectRefused(reply, [...DECODE_CODES, "bad_signature"], rec);
          }),
        untouchedAndCounted(rec),
      );
    },
  );

  record.test(
    "hostile field values under a valid signature (SQL, wildcards, traversal, unicode, deep JSON) are schema refusals",
    { property: "hello.hostile_fields_signed", target: HELLO, perCaseMs: 10 },
    async (rec) => {
      const keys = Array.from({ length: 8 }, () => generateKeyPair());
      const template = new ScriptedRack(nc, "fz-hostile", keys[0]).buildHello();
      const { sig: _sig, ...unsignedTemplate } = template;
      const build = (f: string, value: unknown, key: string, base: object): Record<string, unknown> => {
        if (f === "attributes.key")
          return mutate(base, { path: ["attributes", key], value: "x", del: false });
        if (f === "attributes.value")
          return mutate(base, { path: ["attributes", "extra"], value, del: false });
        if (f.startsWith("attributes."))
          return mutate(base, { path: ["attributes", f.slice(11)], value, del: false });
        return mutate(base, { path: [f], value, del: false });
      };
      const input = fc
        .record({
          field: fc.constantFrom(
            "name",
            "version",
            "nonce",
            "ts",
            "public_key",
            "attributes",
            "attributes.hostname",
            "attributes.os",
            "attributes.key",
            "attributes.value",
            "v",
            "passport",
          ),
          value: hostileValue,
          key: hostileString,
          k: fc.integer({ min: 0, max: keys.length - 1 }),
        })
        // Only content the schema refuses: a hostile value that happens to be valid would be a real hello.
        .filter(
          (i) =>
            !HelloRequestSchema.safeParse({
              ...build(i.field, i.value, i.key, unsignedTemplate),
              sig: template.sig,
            }).success,
        );
      await property(
        rec,
        () =>
          batched(rec, input, record.runs, async (i) => {
            const { sig: _s, ...unsigned } = new ScriptedRack(nc, "fz-hostile", keys[i.k]).buildHello();
            const msg = build(i.field, i.value, i.key, unsigned);
            let signed: Record<string, unknown>;
            try {
              signed = signHello(msg as Omit<HelloRequest, "sig">, keys[i.k]!.privateKey);
            } catch {
              // Too deep to canonicalise, so nobody can sign it: any signature will do, the Mixer refuses first.
              signed = { ...msg, sig: randomBytes(64).toString("base64url") };
            }
            rec.cases += 1;
            expectRefused(await ask(encodeMessage(signed, { maxBytes: 1 << 20 }), rec), DECODE_CODES, rec);
          }),
        untouchedAndCounted(rec),
      );
    },
  );

  record.test(
    "forged passports (random sig, other key, edited payload, another Rack's) are refused, counted, never echoed",
    { property: "hello.forged_passport", target: HELLO, perCaseMs: 20 },
    async (rec) => {
      const attacker = generateKeyPair();
      const attackerKid = keyId(attacker.publicKey);
      const thieves = Array.from({ length: 16 }, () => generateKeyPair());
      const forges = [
        "random_sig",
        "other_key_same_kid",
        "other_key_own_kid",
        "payload_edited",
        "payload_random",
        "other_rack",
      ] as const;
      const payloadFields = [
        "entity_id",
        "name",
        "rack_public_key",
        "expires_at",
        "serial",
        "status",
        "cluster",
        "machine_id",
        "type_id",
      ] as const;
      const forgeArb = fc.record({
        other: fc.integer({ min: 1, max: holders.length - 1 }),
        forge: fc.constantFrom(...forges),
        presenter: fc.constantFrom("own_key", "own_key", "thief_key", "other_rack_key"),
        thief: fc.integer({ min: 0, max: thieves.length - 1 }),
        field: fc.constantFrom(...payloadFields),
        value: fc.oneof(
          hostileValue,
          fc.constantFrom("fz-active-1", "2099-01-01T00:00:00.000Z", 999_999, "revoked", 3),
        ),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 600 }),
        sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      });
      type Forgery = typeof forgeArb extends fc.Arbitrary<infer T> ? T : never;
      /** The forged passport, built on the victim's latest genuine one. */
      function forge(f: Forgery, victim: ScriptedRack, other: ScriptedRack): PassportEnvelope {
        const base = latest.get(victim.name)!;
        const bytes = Buffer.from(base.payload, "base64url");
        switch (f.forge) {
          case "random_sig":
            return { ...base, sig: Buffer.from(f.sig).toString("base64url") };
          case "other_key_same_kid":
            return { ...base, sig: signBytes(attacker.privateKey, bytes).toString("base64url") };
          case "other_key_own_kid":
            return {
              ...base,
              kid: attackerKid,
              sig: signBytes(attacker.privateKey, bytes).toString("base64url"),
            };
          case "payload_edited": {
            const original = decodePassportPayload(base);
            const payload = { ...original, [f.field]: f.value };
            let text = Buffer.from(JSON.stringify(payload)).toString("base64url");
            // An "edit" that writes the same value back is the genuine passport: edit the serial too.
            if (text === base.payload) {
              text = Buffer.from(
                JSON.stringify({ ...payload, serial: original.serial + 1_000_000 }),
              ).toString("base64url");
            }
            return { ...base, payload: text };
          }
          case "payload_random":
            return { ...base, payload: Buffer.from(f.bytes).toString("base64url") };
          case "other_rack":
            // Another Rack's genuine passport.
            return latest.get(other.name)!;
        }
      }
      const renewed = new Map<string, number>();
      let turn = 0;
      let schemaRefused = 0;
      const thiefAttempts = new Map<string, number>();
      await property(
        rec,
        () =>
          batched(
            rec,
            forgeArb,
            record.runs,
            async (f) => {
              // Victims in turn, so one batch spreads over the holders (each key's hellos are serialised).
              const v = turn++ % holders.length;
              const victim = holders[v]!;
              const other = holders[(v + f.other) % holders.length]!;
              // For other_rack_key the holder is `other`, so the "other Rack's" passport it presents is the victim's.
              const forged =
                f.presenter === "other_rack_key" && f.forge === "other_rack"
                  ? latest.get(victim.name)!
                  : forge(f, victim, other);
              rec.cases += 1;
              if (!PassportEnvelopeSchema.safeParse(forged).success) {
                // Too big for the envelope schema (an edited payload over 8 KiB): refused before any lookup.
                const t =
                  f.presenter === "thief_key" ? new ScriptedRack(nc, victim.name, thieves[f.thief]) : victim;
                const reply = await ask(
                  encodeMessage(t.buildHello({ passport: forged }), { maxBytes: 1 << 20 }),
                  rec,
                );
                expectRefused(reply, ["schema", "too_large"], rec);
                schemaRefused += 1;
                return;
              }
              if (f.presenter === "thief_key") {
                // A new key claims the victim's name with the forgery: refused by name, never by passport.
                const t = new ScriptedRack(nc, victim.name, thieves[f.thief]);
                const reply = await ask(encodeMessage(t.buildHello({ passport: forged })), rec);
                tally(rec, `thief_key:${reply.error?.code ?? reply.status}`);
                expect(reply).toMatchObject({ status: "refused", error: { code: "name_taken" } });
                expect(reply.passport).toBeUndefined();
                thiefAttempts.set(victim.name, (thiefAttempts.get(victim.name) ?? 0) + 1);
                return;
              }
              // Session recovery: the holder's own key presents the forgery (another holder's, for other_rack_key).
              const holder = f.presenter === "own_key" ? victim : other;
              const reply = await ask(encodeMessage(holder.buildHello({ passport: forged })), rec);
              tally(rec, `${f.presenter}:${reply.status}`);
              // The key proved itself, so the Rack gets a new passport; the forgery is never handed back.
              expect(reply.status).toBe("active");
              expect(reply.entity_id).toBe(holder.entityId);
              expect(reply.passport!.sig).not.toBe(forged.sig);
              const payload = verifyPassport(reply.passport!, {
                clusterPublicKey: publicKeyFromBase64url(reply.cluster_public_key),
                rackPublicKey: holder.publicKey,
                name: holder.name,
              });
              expect(payload.entity_id).toBe(holder.entityId);
              renewed.set(holder.name, (renewed.get(holder.name) ?? 0) + 1);
              const prev = latest.get(holder.name)!;
              if (payload.serial > decodePassportPayload(prev).serial)
                latest.set(holder.name, reply.passport!);
            },
            holders.length,
          ),
        (before, after) => {
          const renewals = [...renewed.values()].reduce((a, b) => a + b, 0);
          const thefts = [...thiefAttempts.values()].reduce((a, b) => a + b, 0);
          rec.notes = [
            `passport refusals by code: ${JSON.stringify(deltas(before.counters, after.counters, "hello.passport_refused"))}`,
            `renewals ${renewals}, thief attempts ${thefts}, envelopes refused by schema ${schemaRefused}`,
          ];
          // Every forgery a Rack's own key presented was refused and counted; thieves were refused by name.
          expect(delta(before.counters, after.counters, "hello.passport_refused")).toBe(renewals);
          expect(delta(before.counters, after.counters, "hello.refused.name_taken")).toBe(thefts);
          expect(delta(before.counters, after.counters, "hello.enrolled")).toBe(0);
          expect(delta(before.counters, after.counters, "hello.refused")).toBe(thefts + schemaRefused);
          // Rows: only the holders' passport serials moved, one per renewal; nothing else about them changed.
          expect(after.racks.size).toBe(before.racks.size);
          for (const name of changedRows(before.racks, after.racks)) expect(renewed.has(name)).toBe(true);
          for (const [name, b] of before.racks) {
            const a = after.racks.get(name)!;
            const strip = (r: typeof a) => ({ ...r, passport: null, last_seen: null, stats: null });
            expect(strip(a)).toEqual(strip(b));
            if (b.passport) expect(a.passport!.serial - b.passport.serial).toBe(renewed.get(name) ?? 0);
          }
          const newEvents = after.events.slice(before.events.length);
          expect(newEvents.every((e) => e.cause === "renewal" && renewed.has(e.name ?? ""))).toBe(true);
          // Thieves leave evidence for the operator (attempts per key and name), never a row.
          for (const [name, n] of thiefAttempts) {
            const sum = (s: MixerState) =>
              s.conflicts.filter((c) => c.name === name).reduce((x, c) => x + c.attempts, 0);
            expect(sum(after) - sum(before)).toBe(n);
          }
        },
      );
    },
  );

  record.test(
    "a hello sent again, byte for byte or re-serialised (key order, whitespace) or re-signed with its nonce, is a replay",
    { property: "hello.replay", target: HELLO, perCaseMs: 15 },
    async (rec) => {
      const variant = fc.record({
        how: fc.constantFrom("identical", "reordered", "whitespace", "resigned_new_ts"),
        seed: fc.integer({ min: 1, max: 1000 }),
        delayTs: fc.integer({ min: 1, max: 30_000 }),
      });
      await property(
        rec,
        () =>
          batched(rec, variant, record.runs, async (v) => {
            const hello = owner.buildHello();
            const first = await ask(encodeMessage(hello), rec);
            expect(first.status).toBe("pending");
            let again: Uint8Array;
            if (v.how === "identical") again = encodeMessage(hello);
            else if (v.how === "whitespace")
              again = utf8.encode(JSON.stringify(hello, null, (v.seed % 4) + 1));
            else if (v.how === "reordered") {
              const keys = Object.keys(hello).sort(
                (a, b) => ((a.length * v.seed) % 7) - ((b.length * v.seed) % 7),
              );
              again = encodeMessage(Object.fromEntries(keys.map((k) => [k, hello[k as keyof HelloRequest]])));
            } else {
              const { sig: _s, ...unsigned } = hello;
              const ts = new Date(Date.parse(hello.ts) + v.delayTs).toISOString();
              again = encodeMessage(signHello({ ...unsigned, ts }, owner.keys.privateKey));
            }
            rec.cases += 1;
            expectRefused(await ask(again, rec), ["replay"], rec);
          }),
        (before, after) => {
          expectUntouched(before, after, rec);
          expect(delta(before.counters, after.counters, "hello.refused.replay")).toBe(rec.cases);
        },
      );
    },
  );

  record.test(
    "name hijack: other keys (new, or another Rack's) claiming a taken name never take the row",
    { property: "hello.name_hijack", target: HELLO, perCaseMs: 15 },
    async (rec) => {
      const claim = fc.record({
        victim: fc.constantFrom("owner", "active", "rejected"),
        // 0: another enrolled Rack's key claims the name; otherwise a fresh key (a new conflict row each time).
        thief: fc.integer({ min: 0, max: 32 }),
        withPassport: fc.boolean(),
      });
      let byNewKeys = 0;
      await property(
        rec,
        () =>
          batched(rec, claim, record.runs, async (c) => {
            const victim = c.victim === "owner" ? owner : c.victim === "active" ? holders[0]! : rejected;
            // thief index == thieves.length: another enrolled Rack's key claims the victim's name.
            const keys: Ed25519KeyPair = c.thief > 0 ? generateKeyPair() : holders[1]!.keys;
            const t = new ScriptedRack(nc, victim.name, keys);
            const passport = c.withPassport ? latest.get(holders[0]!.name) : undefined;
            rec.cases += 1;
            const reply = await ask(encodeMessage(t.buildHello({ passport })), rec);
            const expected = c.thief > 0 ? "name_taken" : "conflict";
            if (expected === "name_taken") byNewKeys += 1;
            expectRefused(reply, [expected], rec);
          }),
        (before, after) => {
          const changed = changedRows(before.racks, after.racks);
          rec.rows_written_from_invalid_input = changed.length;
          expect(changed).toEqual([]);
          expect(after.events.length).toBe(before.events.length);
          expectCounted(before, after, rec);
          // The operator sees the recent claimants of each name, at most MAX_CONFLICTS_PER_NAME of them: a flood
          // of fresh keys cannot grow the table (the first full run of this property grew it to 9,770 rows).
          const attempts = (s: MixerState) => s.conflicts.reduce((n, c) => n + c.attempts, 0);
          expect(attempts(after) - attempts(before)).toBeLessThanOrEqual(byNewKeys);
          const victims = [owner.name, holders[0]!.name, rejected.name];
          for (const name of victims)
            expect(after.conflicts.filter((c) => c.name === name).length).toBeLessThanOrEqual(
              MAX_CONFLICTS_PER_NAME,
            );
          if (byNewKeys > 0) expect(after.conflicts).not.toEqual(before.conflicts);
          const others = (st: MixerState) => st.conflicts.filter((c) => !victims.includes(c.name));
          expect(others(after)).toEqual(others(before));
          rec.notes = [
            `name_conflicts rows: ${before.conflicts.length} before, ${after.conflicts.length} after (${byNewKeys} claims by fresh keys)`,
          ];
        },
      );
    },
  );

  record.test(
    "oversized (over the Mixer's 64 KiB) and deeply nested hellos are refused before parsing",
    { property: "hello.oversized_and_deep", target: HELLO, perCaseMs: 15 },
    async (rec) => {
      await property(
        rec,
        () =>
          batched(rec, oversizedOrDeep, record.runs, async ({ kind, n }) => {
            rec.cases += 1;
            if (kind === "size") {
              const hello = owner.buildHello();
              const text = JSON.stringify({
                ...hello,
                attributes: { hostname: "x".repeat(n), os: "l", arch: "x" },
              });
              expectRefused(await ask(utf8.encode(text), rec), ["too_large"], rec);
            } else {
              const text = `{"v":1,"attributes":${"[".repeat(n)}1${"]".repeat(n)}}`;
              expectRefused(await ask(utf8.encode(text), rec), ["malformed", "too_large"], rec);
            }
          }),
        untouchedAndCounted(rec),
      );
    },
  );

  test("above NATS max_payload: the client refuses to send it, and a raw PUB only costs the sender its connection", async () => {
    const rec = record.property("hello.over_nats_max_payload", HELLO);
    const before = await snapshot(h);
    const big = new Uint8Array(2 * 1024 * 1024).fill(0x7b);
    rec.cases += 1;
    expect(() => nc.publish(HELLO, big)).toThrow();
    tally(rec, "client_refused");
    // A hand-written PUB of 2 MiB: the server answers -ERR and closes that connection; the Mixer never sees it.
    const line = await new Promise<string>((resolve) => {
      const sock = createConnection({ host: "127.0.0.1", port: h.nats.port });
      let seen = "";
      let sent = false;
      sock.on("data", (d) => {
        seen += d.toString("latin1");
        if (!sent && seen.includes("INFO")) {
          sent = true;
          sock.write(`CONNECT {"verbose":false,"pedantic":false}\r\nPUB ${HELLO} ${big.byteLength}\r\n`);
          sock.write(big);
          sock.write("\r\n");
        }
        if (seen.includes("-ERR")) {
          sock.destroy();
          resolve(seen.slice(seen.indexOf("-ERR")).split("\r\n")[0]!);
        }
      });
      // The server may close before the whole upload is written (EPIPE, ECONNRESET): that is the refusal.
      sock.on("error", (err) => resolve(`closed: ${err.message}`));
      sock.on("close", () => resolve("closed"));
    });
    rec.cases += 1;
    tally(rec, "server_refused");
    expect(line).toMatch(/-ERR|closed/);
    rec.notes = [`nats-server answered: ${line.slice(0, 120)}`];
    const after = await snapshot(h);
    expectUntouched(before, after, rec);
    await assertAlive(h);
    rec.ok = true;
  });

  record.test(
    "hellos without a reply subject (junk or valid) are dropped and counted, never enrolled",
    { property: "hello.no_reply_subject", target: HELLO, perCaseMs: 5 },
    async (rec) => {
      const keys = Array.from({ length: 4 }, () => generateKeyPair());
      const input = fc.oneof(
        rawBytes,
        fc
          .integer({ min: 0, max: 3 })
          .map((k) => encodeMessage(new ScriptedRack(nc, `fz-noreply-${k}`, keys[k]).buildHello())),
      );
      const start = await counters(h);
      await property(
        rec,
        async () => {
          await batched(rec, input, record.runs, async (data) => {
            rec.cases += 1;
            nc.publish(HELLO, data);
          });
          await nc.flush();
          // Sentinel: a real request after the junk; the Mixer reads the subscription in order.
          expect((await owner.hello()).status).toBe("pending");
          await waitFor(
            async () => delta(start, await counters(h), "hello.dropped.no_reply_subject") >= rec.cases,
            { timeoutMs: 20_000, message: "every reply-less hello counted" },
          );
        },
        (before, after) => {
          expectUntouched(before, after, rec);
          expect(delta(before.counters, after.counters, "hello.dropped.no_reply_subject")).toBe(rec.cases);
          rec.outcomes["hello.dropped.no_reply_subject"] = rec.cases;
        },
      );
    },
  );

  test("after everything: the owner still gets its pending reply and a new Rack still enrolls", async () => {
    const rec = record.property("hello.still_serving", HELLO);
    rec.cases = 2;
    await assertAlive(h);
    expect(await owner.hello()).toMatchObject({ status: "pending", entity_id: owner.entityId });
    expect((await new ScriptedRack(nc, "fz-after-fuzz").hello()).status).toBe("pending");
    rec.ok = true;
  });
});
