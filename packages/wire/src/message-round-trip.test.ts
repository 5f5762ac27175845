// Every message survives encode then decode unchanged, and each schema refuses unknown keys and out-of-bound values.
import { beforeAll, describe, expect, it } from "vitest";
import {
  generateKeyPair,
  messageKinds,
  sampleHeartbeat,
  sampleHelloReply,
  sampleScenarioPush,
  sampleUnsignedHello,
} from "../test/message-fixtures.js";
import type { DecodeResult } from "./bounded-json.js";
import { decodeHeartbeat, decodeHelloRequest, decodeScenarioPush } from "./decoders.js";
import { encodeMessage } from "./encode-message.js";
import { GEAR_STATES } from "./heartbeat-schema.js";
import { signHello } from "./hello-signature.js";
import { WIRE_LIMITS } from "./schema-primitives.js";

const rack = generateKeyPair();
const cluster = generateKeyPair();
const samples = messageKinds({ rack, cluster });
type Sample = (typeof samples)[number];

function decodeObject(sample: Sample, value: unknown): DecodeResult<unknown> {
  return sample.decode(JSON.stringify(value));
}

describe.each(samples)("$name", (sample) => {
  it("round-trips through encodeMessage as bytes and as text", () => {
    const msg = sample.make();
    const bytes = encodeMessage(msg);
    expect(sample.decode(bytes)).toEqual({ ok: true, value: msg });
    expect(sample.decode(Buffer.from(bytes).toString("utf8"))).toEqual({ ok: true, value: msg });
  });

  it("refuses an unknown top-level key", () => {
    const r = decodeObject(sample, { ...sample.make(), extra: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.reason).toBe("schema");
  });

  it("refuses another version", () => {
    const r = decodeObject(sample, { ...sample.make(), v: 2 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.issues?.[0]?.path).toEqual(["v"]);
  });

  it("refuses a missing field", () => {
    const { v: _v, ...rest } = sample.make();
    expect(decodeObject(sample, rest).ok).toBe(false);
  });

  it("refuses JSON that is not an object", () => {
    for (const text of ["[]", "null", "1", '"hello"', "true"]) expect(sample.decode(text).ok).toBe(false);
  });
});

describe("heartbeat bounds", () => {
  const refused = (patch: (h: ReturnType<typeof sampleHeartbeat>) => unknown) => {
    const h = sampleHeartbeat();
    return decodeObject(samples[2]!, patch(h) ?? h).ok === false;
  };

  it("refuses bad stats and counters", () => {
    expect(refused((h) => ({ ...h, stats: { ...h.stats, extra: 1 } }))).toBe(true);
    expect(refused((h) => ({ ...h, stats: { ...h.stats, cpu: { ...h.stats.cpu, host_pct: -1 } } }))).toBe(
      true,
    );
    expect(refused((h) => ({ ...h, stats: { ...h.stats, active_handles: 1.5 } }))).toBe(true);
    expect(
      refused((h) => ({ ...h, stats: { ...h.stats, mem: { ...h.stats.mem, rss_bytes: 2 ** 60 } } })),
    ).toBe(true);
    expect(refused((h) => ({ ...h, seq: 0 }))).toBe(true);
    expect(refused((h) => ({ ...h, status: "offline" }))).toBe(true);
    expect(refused((h) => ({ ...h, session: "short" }))).toBe(true);
  });

  it("takes a per-gear list or none, bounded in length, error text and states", () => {
    const gear = (over: Record<string, unknown> = {}) => ({
      name: "tick",
      type: "ticker",
      state: "running",
      restarts: 0,
      in: 0,
      out: 12,
      ...over,
    });
    const failed = gear({
      state: "restarting",
      restarts: 3,
      last_error: { message: "x".repeat(WIRE_LIMITS.gearErrorChars), at: "2026-01-01T00:00:00.000Z" },
    });
    const withList = {
      ...sampleHeartbeat(),
      stats: { ...sampleHeartbeat().stats, gear_list: [gear(), failed] },
    };
    expect(decodeHeartbeat(JSON.stringify(withList))).toEqual({ ok: true, value: withList });
    // Without the list (an older Rack), the same heartbeat is as valid as before.
    expect(decodeHeartbeat(JSON.stringify(sampleHeartbeat())).ok).toBe(true);
    const listed = (list: unknown[]) => (h: ReturnType<typeof sampleHeartbeat>) => ({
      ...h,
      stats: { ...h.stats, gear_list: list },
    });
    expect(refused(listed([]))).toBe(false);
    expect(refused(listed(Array.from({ length: WIRE_LIMITS.scenarioGears }, () => gear())))).toBe(false);
    expect(refused(listed(Array.from({ length: WIRE_LIMITS.scenarioGears + 1 }, () => gear())))).toBe(true);
    const longError = { message: "x".repeat(WIRE_LIMITS.gearErrorChars + 1), at: "2026-01-01T00:00:00Z" };
    expect(refused(listed([gear({ last_error: longError })]))).toBe(true);
    expect(refused(listed([gear({ last_error: { message: "boom" } })]))).toBe(true);
    expect(refused(listed([gear({ state: "crashed" })]))).toBe(true);
    expect(refused(listed([gear({ in: -1 })]))).toBe(true);
    expect(refused(listed([gear({ name: "Not A Label" })]))).toBe(true);
    expect(refused(listed([gear({ extra: 1 })]))).toBe(true);
    for (const state of GEAR_STATES) expect(refused(listed([gear({ state })]))).toBe(false);
  });

  it("refuses numbers JSON turns into Infinity", () => {
    const text = JSON.stringify(sampleHeartbeat()).replace('"uptime_s":86412.517893402', '"uptime_s":1e400');
    expect(text).toContain("1e400");
    expect(decodeHeartbeat(text).ok).toBe(false);
  });

  it("refuses entity ids that are not canonical decimal strings in range", () => {
    for (const id of ["18446744073709551616", "0x0300640000000000", "-1", "01", "", "1.5"]) {
      expect(refused((h) => ({ ...h, entity_id: id }))).toBe(true);
    }
    expect(refused((h) => ({ ...h, entity_id: Number(216282733276561408n) }))).toBe(true);
    expect(refused((h) => ({ ...h, entity_id: "18446744073709551615" }))).toBe(false);
  });

  it("refuses names that are not DNS labels", () => {
    for (const name of ["a.b", "*", ">", "A", "rack nyc", "a".repeat(64)]) {
      expect(refused((h) => ({ ...h, name }))).toBe(true);
    }
  });
});

describe("hello request bounds", () => {
  let base: Record<string, unknown>;
  let attributes: Record<string, unknown>;
  beforeAll(() => {
    base = signHello(sampleUnsignedHello(rack), rack.privateKey);
    attributes = base.attributes as Record<string, unknown>;
  });
  const refused = (patch: Record<string, unknown>) =>
    !decodeHelloRequest(JSON.stringify({ ...base, ...patch })).ok;

  it("bounds nonce, key and signature lengths", () => {
    expect(refused({ nonce: Buffer.alloc(15).toString("base64url") })).toBe(true);
    expect(refused({ nonce: Buffer.alloc(33).toString("base64url") })).toBe(true);
    expect(refused({ nonce: Buffer.alloc(32).toString("base64url") })).toBe(false);
    expect(refused({ public_key: Buffer.alloc(31).toString("base64url") })).toBe(true);
    expect(refused({ sig: Buffer.alloc(63).toString("base64url") })).toBe(true);
    expect(refused({ sig: `${(base.sig as string).slice(0, 85)}=` })).toBe(true);
  });

  it("bounds attributes and refuses prototype keys instead of dropping them", () => {
    expect(refused({ attributes: { ...attributes, hostname: "h".repeat(254) } })).toBe(true);
    expect(refused({ attributes: { ...attributes, mac: ["02:42:AC:11:00:02"] } })).toBe(true);
    expect(refused({ attributes: { ...attributes, nested: { a: 1 } } })).toBe(true);
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    expect(refused({ attributes: { ...attributes, ...many } })).toBe(true);
    const proto = JSON.stringify({ ...base }).replace('"hostname":', '"__proto__":"x","hostname":');
    expect(proto).toContain("__proto__");
    expect(decodeHelloRequest(proto).ok).toBe(false);
    expect(refused({ attributes: { ...attributes, "Bad-Key": 1 } })).toBe(true);
    expect(refused({ attributes: { ...attributes, extra_info: "ok", cores: 8, virt: true } })).toBe(false);
  });

  it("takes up to 16 IP addresses the Rack reports, without zone ids", () => {
    expect(
      refused({ attributes: { ...attributes, addresses: ["10.0.0.5", "fd00::5", "::ffff:1.2.3.4"] } }),
    ).toBe(false);
    expect(refused({ attributes: { ...attributes, addresses: ["fe80::1%eth0"] } })).toBe(true);
    expect(refused({ attributes: { ...attributes, addresses: ["edge-1.local"] } })).toBe(true);
    expect(refused({ attributes: { ...attributes, addresses: Array(17).fill("10.0.0.1") } })).toBe(true);
  });

  it("refuses a passport envelope of another format or with unknown keys", () => {
    const passport = sampleHelloReply(cluster).passport!;
    expect(refused({ passport })).toBe(false);
    expect(refused({ passport: { ...passport, format: "other" } })).toBe(true);
    expect(refused({ passport: { ...passport, extra: 1 } })).toBe(true);
    expect(refused({ passport: { ...passport, kid: "rsa:abc" } })).toBe(true);
  });
});

describe("scenario push", () => {
  it("refuses a wire whose subject is not its own data subject", () => {
    const push = sampleScenarioPush();
    push.wires[0]!.subject = "fluxrig.agent.hello";
    const r = decodeScenarioPush(JSON.stringify(push));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.issues?.[0]?.path).toEqual(["wires", 0, "subject"]);
  });

  it("refuses gear names and ports that could not be subject tokens", () => {
    const push = sampleScenarioPush();
    push.gears[0]!.name = "temp.sensor";
    expect(decodeScenarioPush(JSON.stringify(push)).ok).toBe(false);
    const bad = sampleScenarioPush();
    bad.wires[0]!.from = "temp-sensor";
    expect(decodeScenarioPush(JSON.stringify(bad)).ok).toBe(false);
  });
});

describe("scenario gear config", () => {
  it("refuses __proto__ keys nested anywhere", () => {
    const text = JSON.stringify(sampleScenarioPush()).replace(
      '"retry":{',
      '"retry":{"__proto__":{"admin":true},',
    );
    expect(text).toContain("__proto__");
    expect(decodeScenarioPush(text).ok).toBe(false);
    const arrayed = JSON.stringify(sampleScenarioPush()).replace(
      '"tags":["a","b"]',
      '"tags":["a",{"__proto__":1}]',
    );
    expect(arrayed).toContain("__proto__");
    expect(decodeScenarioPush(arrayed).ok).toBe(false);
  });
});
