// The signature gate: only bytes the pinned Cluster Key signed pass; the rest is counted and logged, rate-limited.
import { generateKeyPair, keyId, publicKeyToBase64url, signControlMessage } from "@fluxrig/passport";
import { pino } from "pino";
import { describe, expect, test } from "vitest";
import { ControlGate, REFUSAL_LOG_INTERVAL_MS } from "./control-gate.js";

const cluster = generateKeyPair();
const kid = keyId(cluster.publicKey);
const bytes = new TextEncoder().encode('{"v":1,"kind":"issued"}');

function gate() {
  const lines: { level: number; msg: string; reason?: string }[] = [];
  let now = 0;
  const logger = pino({ level: "debug" }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const g = new ControlGate({ logger, now: () => now });
  return { g, lines, tick: (ms: number) => (now += ms) };
}

describe("ControlGate", () => {
  test("accepts the pinned key's signature, as a KeyObject or as the base64url of the reply", () => {
    const { g } = gate();
    const header = signControlMessage(cluster.privateKey, kid, bytes);
    expect(g.accept("passport push", cluster.publicKey, bytes, header)).toBe(true);
    expect(g.accept("hello reply", publicKeyToBase64url(cluster.publicKey), bytes, header)).toBe(true);
    expect(g.refusedTotal).toBe(0);
  });

  test("refuses unsigned, forged, other-key and altered messages, and anything before a pin", () => {
    const { g, lines } = gate();
    const other = generateKeyPair();
    const header = signControlMessage(cluster.privateKey, kid, bytes);
    const altered = new TextEncoder().encode('{"v":1,"kind":"revoked"}');
    expect(g.accept("scenario push", cluster.publicKey, bytes, "")).toBe(false);
    expect(g.accept("scenario push", cluster.publicKey, bytes, undefined)).toBe(false);
    expect(g.accept("scenario push", cluster.publicKey, bytes, "garbage")).toBe(false);
    expect(
      g.accept(
        "scenario push",
        cluster.publicKey,
        bytes,
        signControlMessage(other.privateKey, keyId(other.publicKey), bytes),
      ),
    ).toBe(false);
    // A forger naming the right key id still cannot sign.
    expect(
      g.accept("scenario push", cluster.publicKey, bytes, signControlMessage(other.privateKey, kid, bytes)),
    ).toBe(false);
    expect(g.accept("scenario push", cluster.publicKey, altered, header)).toBe(false);
    expect(g.accept("passport push", undefined, bytes, header)).toBe(false);
    expect(g.refused).toEqual({ "hello reply": 0, "passport push": 1, "scenario push": 6, "rack state": 0 });
    expect(lines.map((l) => l.reason)).toEqual([
      "missing",
      "missing",
      "malformed",
      "wrong_key",
      "invalid",
      "invalid",
      "no_pin",
    ]);
  });

  test("warns once per interval per kind; the rest go to debug", () => {
    const { g, lines, tick } = gate();
    for (let i = 0; i < 5; i++) g.accept("scenario push", cluster.publicKey, bytes, undefined);
    g.accept("passport push", cluster.publicKey, bytes, undefined);
    tick(REFUSAL_LOG_INTERVAL_MS);
    g.accept("scenario push", cluster.publicKey, bytes, undefined);
    const warns = lines.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warns).toEqual([
      "scenario push: dropped (not signed by the pinned Cluster Key)",
      "passport push: dropped (not signed by the pinned Cluster Key)",
      "scenario push: dropped (not signed by the pinned Cluster Key)",
    ]);
    expect(lines.filter((l) => l.level === 20)).toHaveLength(4);
    expect(g.refusedTotal).toBe(7);
  });
});
