// Expected keys in the registry: the plans, and the rule every activation plan asks first.
import { generateKeyPair, keyFingerprint, publicKeyToBase64url } from "@fluxrig/passport";
import { beforeEach, describe, expect, it } from "vitest";
import { emptyRegistry, insertPlan } from "../../test/support/registry-test-harness.js";
import { InvalidInputError, NotFoundError, UnexpectedKeyError } from "./registry-errors.js";
import { assertExpectedKey, planExpectKey, planForgetExpectedKey } from "./write-plans.js";
import { WriteStage } from "./write-stage.js";

const NOW = new Date("2030-01-01T00:00:00.000Z");
const keyOf = () => publicKeyToBase64url(generateKeyPair().publicKey);

describe("expected key plans", () => {
  let stage: WriteStage;
  beforeEach(() => {
    stage = new WriteStage(emptyRegistry().base);
  });

  it("an expected name adopts only its key; other names are free; forgetting frees the name", () => {
    const right = keyOf();
    const wrong = keyOf();
    planExpectKey(stage, "rack-001", keyFingerprint(right), { actor: "alice", now: NOW });
    const good = insertPlan(1, NOW, { publicKey: right })(stage);
    expect(() => assertExpectedKey(stage, good)).not.toThrow();
    // A Rack of the same name with another key (as a record: it could have enrolled before the expectation).
    const impostor = { name: "rack-001", lifecycle: { publicKey: wrong } };
    expect(() => assertExpectedKey(stage, impostor)).toThrow(UnexpectedKeyError);
    expect(() =>
      assertExpectedKey(stage, { name: "rack-002", lifecycle: { publicKey: wrong } }),
    ).not.toThrow();

    planForgetExpectedKey(stage, "rack-001", { actor: "bob", reason: "box replaced", now: NOW });
    expect(() => assertExpectedKey(stage, impostor)).not.toThrow();
    const keyEvents = stage.audits.filter((a) => a.kind.startsWith("key_"));
    expect(keyEvents.map((a) => [a.kind, a.actor, a.name])).toEqual([
      ["key_expected", "alice", "rack-001"],
      ["key_expectation_removed", "bob", "rack-001"],
    ]);
  });

  it("replacing an expectation records the key it replaced; forgetting none is not_found; a bad fingerprint is refused", () => {
    const a = keyFingerprint(keyOf());
    const b = keyFingerprint(keyOf());
    planExpectKey(stage, "rack-001", a, { actor: "alice", now: NOW });
    planExpectKey(stage, "rack-001", b, { actor: "alice", now: NOW });
    expect(stage.expectedKey("rack-001")?.keyFingerprint).toBe(b);
    expect(stage.audits.at(-1)?.details).toEqual({ key_fingerprint: b, replaced: a });
    expect(() => planForgetExpectedKey(stage, "rack-009", { actor: "x", now: NOW })).toThrow(NotFoundError);
    expect(() => planExpectKey(stage, "rack-002", "SHA256:short", { actor: "x", now: NOW })).toThrow(
      InvalidInputError,
    );
  });
});
