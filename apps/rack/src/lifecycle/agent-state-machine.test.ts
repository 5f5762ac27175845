// The lifecycle table: every allowed move, every refused one, the effects of entering and leaving `active`.
import { describe, expect, test } from "vitest";
import {
  effectsOf,
  heartbeatStatusOf,
  isPassive,
  LIFECYCLE_EVENTS,
  LIFECYCLE_STATES,
  type LifecycleEventType,
  type LifecycleState,
  runsWorkloads,
  transition,
} from "./agent-state-machine.js";

const ev = (type: LifecycleEventType) => ({ type, reason: `because ${type}` });

function walk(start: LifecycleState, events: LifecycleEventType[]): LifecycleState[] {
  const seen = [start];
  let state = start;
  for (const type of events) {
    const t = transition(state, ev(type));
    if (!t.ok) throw new Error(t.why);
    state = t.to;
    seen.push(state);
  }
  return seen;
}

describe("rack lifecycle", () => {
  test("first start: booting -> enrolling -> pending -> active", () => {
    expect(walk("booting", ["no_passport", "enrollment_pending", "passport_accepted"])).toEqual([
      "booting",
      "enrolling",
      "pending",
      "active",
    ]);
  });

  test("session recovery goes straight from booting to active", () => {
    const t = transition("booting", ev("passport_restored"));
    expect(t).toMatchObject({ ok: true, to: "active", effects: ["start_telemetry", "start_gears"] });
  });

  test("adoption starts telemetry before gears; leaving active stops gears before telemetry", () => {
    expect(transition("pending", ev("passport_accepted"))).toMatchObject({
      ok: true,
      changed: true,
      effects: ["start_telemetry", "start_gears"],
      reason: "because passport_accepted",
    });
    for (const type of ["revoked", "rejected", "enrollment_pending", "passport_lost", "stop"] as const) {
      expect(transition("active", ev(type))).toMatchObject({
        ok: true,
        effects: ["stop_gears", "stop_telemetry"],
      });
    }
  });

  test("a renewal while active is a self-transition without effects", () => {
    expect(transition("active", ev("passport_accepted"))).toMatchObject({
      ok: true,
      changed: false,
      effects: [],
    });
  });

  test("revoked and rejected Racks come back only through the Mixer's word", () => {
    expect(walk("active", ["revoked", "enrollment_pending", "passport_accepted"]).at(-1)).toBe("active");
    expect(walk("pending", ["rejected", "passport_accepted"]).at(-1)).toBe("active");
  });

  test("events that do not apply are refused with a reason and change nothing", () => {
    expect(transition("pending", ev("passport_restored"))).toMatchObject({ ok: false, from: "pending" });
    expect(transition("enrolling", ev("passport_lost"))).toMatchObject({ ok: false });
    for (const type of LIFECYCLE_EVENTS) {
      expect(transition("stopping", ev(type)).ok, `stopping + ${type}`).toBe(false);
    }
  });

  test("stop applies in every state but stopping", () => {
    for (const state of LIFECYCLE_STATES) {
      expect(transition(state, ev("stop")).ok).toBe(state !== "stopping");
    }
  });

  test("only active runs workloads; the heartbeat status mirrors the state once enrolled and not passive", () => {
    expect(LIFECYCLE_STATES.filter(runsWorkloads)).toEqual(["active"]);
    expect(heartbeatStatusOf("booting")).toBeNull();
    expect(heartbeatStatusOf("enrolling")).toBeNull();
    expect(heartbeatStatusOf("pending")).toBe("pending");
    expect(heartbeatStatusOf("active")).toBe("active");
    expect(heartbeatStatusOf("stopping")).toBe("stopping");
    // A refused Rack's heartbeats must never keep a row alive (issue 14): it sends none.
    for (const passive of ["rejected", "revoked", "refused"] as const)
      expect(heartbeatStatusOf(passive)).toBeNull();
  });

  test("rejected, revoked and name taken are the passive states; each stops the workloads of an active Rack", () => {
    expect(LIFECYCLE_STATES.filter(isPassive)).toEqual(["rejected", "revoked", "refused"]);
    for (const [type, to] of [
      ["rejected", "rejected"],
      ["revoked", "revoked"],
      ["name_taken", "refused"],
    ] as const) {
      const t = transition("active", ev(type));
      expect(t).toMatchObject({ ok: true, to, effects: ["stop_gears", "stop_telemetry"] });
    }
    // Resumes fully when adopted again.
    expect(transition("refused", ev("passport_accepted"))).toMatchObject({
      ok: true,
      to: "active",
      effects: ["start_telemetry", "start_gears"],
    });
    expect(transition("pending", ev("name_taken"))).toMatchObject({ ok: true, to: "refused", effects: [] });
  });

  test("effects are empty for moves that do not touch active", () => {
    expect(effectsOf("pending", "rejected")).toEqual([]);
    expect(effectsOf("enrolling", "pending")).toEqual([]);
  });
});
