// A Rack whose clock is off, against the real Mixer: inside the Mixer's hello window ([enrollment] clock_skew,
// default 2 minutes) it enrolls and is adopted; beyond it (5 minutes off) it is refused `stale` with a reason naming
// the offset, and nothing is written for it.
//
// The agent runs in-process (createRack) with its injected clock set off: the fluxrig-rack binary has no way to
// fake its clock, and adding one to the product would weaken its security.
import { type LogEntry, MixerHarness, openFaultScenario, tempDir, waitFor } from "@fluxrig/testkit";
import { afterAll, beforeEach, describe, expect, onTestFinished, test } from "vitest";
import { clusterCounter, fastMixerEnv, listRacks, waitForRack } from "../e2e/support/real-fleet.js";
import { startRack, type TestRack } from "../support/in-process-rack.js";

const MINUTE = 60_000;

const { report } = openFaultScenario(import.meta.url, { afterAll, beforeEach }, { once: true, tail: 40 });

async function skewedRack(h: MixerHarness, name: string, offsetMs: number): Promise<TestRack> {
  const state = tempDir(name);
  const t = await startRack({
    name,
    stateDir: state.path,
    nc: await h.client(),
    clock: { now: () => new Date(Date.now() + offsetMs) },
  });
  onTestFinished(async () => {
    await t.rack.stop("test done");
    await state.remove();
  });
  return t;
}

function offsetText(ms: number): string {
  return `${ms < 0 ? "-" : "+"}${Math.abs(ms) / 1000}s`;
}

describe("a Rack's clock off", () => {
  test("default window (2 min): 90 s off enrolls and is adopted; 5 min off is refused stale, nothing written", async () => {
    await using h = await MixerHarness.create({
      env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" }),
    });

    for (const offset of [-90_000, 90_000]) {
      const name = `skew-in${offset < 0 ? "-behind" : "-ahead"}`;
      const t = await skewedRack(h, name, offset);
      await t.waitForState("active");
      await waitForRack(h, name, (r) => r.status === "active" && r.passport !== null, {
        message: `adopted with a clock ${offsetText(offset)}`,
      });
      report.count("inside_window_adopted");
    }

    for (const offset of [5 * MINUTE, -5 * MINUTE]) {
      const name = `skew-out${offset < 0 ? "-behind" : "-ahead"}`;
      const staleBefore = await clusterCounter(h, "hello.refused.stale");
      const t = await skewedRack(h, name, offset);
      const refused = await t.waitForLog(
        (e: LogEntry) => e.code === "stale" && typeof e.msg === "string" && e.msg.includes("hello refused"),
        `${name}: a stale refusal`,
      );
      // The Mixer names the offset and its allowance; the Rack adds what to check.
      expect(refused.msg).toMatch(
        new RegExp(
          `hello timestamp is 300s ${offset < 0 ? "behind" : "ahead of"} the Mixer's clock \\(allowed 120s\\)`,
        ),
      );
      expect(refused.msg).toMatch(/is this host's clock right\?/);
      expect(refused.level).toBe(50);
      // It keeps asking (paced), and each ask is refused the same way; it never enrolls, pins or activates.
      await waitFor(async () => (await clusterCounter(h, "hello.refused.stale")) >= staleBefore + 2, {
        timeoutMs: 10_000,
        message: `${name}: asks again and is refused again`,
      });
      expect(t.rack.state).toBe("enrolling");
      const rows = await listRacks(h);
      const admitted = rows.filter((r) => r.name === name).length;
      report.record.wronglyAdmitted += admitted;
      expect(admitted, `${name} must have no row`).toBe(0);
      report.count("beyond_window_refused");
    }
    report.note(
      "default [enrollment] clock_skew 2m: Racks at -90 s/+90 s enrolled and adopted; at -5 min/+5 min refused stale with the offset named",
    );
  });

  test("window widened to 10 min: Racks 5 min ahead and 5 min behind both enroll and run", async () => {
    await using h = await MixerHarness.create({
      env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true", FLUXRIG_ENROLLMENT_CLOCK_SKEW: "10m" }),
    });

    const ahead = await skewedRack(h, "skew-wide-ahead", 5 * MINUTE);
    await ahead.waitForState("active");
    await waitForRack(h, "skew-wide-ahead", (r) => r.status === "active", { message: "adopted 5 min ahead" });

    // Behind by 5 minutes: the Rack accepts a passport at most 120 s before its issue time, so a Mixer with a wider
    // window dates its passports back by the difference (this fault test first found the Rack stranded here, refusing
    // every passport as not yet valid while the Mixer signed a new one at each hello).
    const behind = await skewedRack(h, "skew-wide-behind", -5 * MINUTE);
    await behind.waitForState("active");
    const row = await waitForRack(h, "skew-wide-behind", (r) => r.status === "active", {
      message: "adopted 5 min behind",
    });
    expect(row.machine_id).toBeGreaterThan(0);
    expect(behind.logs.some((e: LogEntry) => e.msg === "passport: refused (not-yet-valid)")).toBe(false);
    expect(row.passport?.serial).toBe(1);
    report.note(
      "clock_skew 10m: Racks 5 min ahead and 5 min behind adopted and running, one passport each (passports are dated back by clock_skew - 120 s, the part of the window the Rack's own allowance does not cover)",
    );
  });
});
