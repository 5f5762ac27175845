// The revocation push's own rules, apart from the status changes that call it: an open bus pushes nothing, a closed
// sync stops retrying, a prune that cannot write is counted and never thrown at its timer.
import { generateKeyPair, publicKeyToBase64url } from "@fluxrig/passport";
import { waitFor } from "@fluxrig/testkit";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DAY, openLifecycleHarness } from "../../test/support/lifecycle-test-harness.js";
import { type BusCredentials, OPEN_BUS } from "../bus-auth/bus-credentials.js";
import { Counters } from "../runtime/counters.js";
import { LeaderFlag } from "../runtime/leader-gate.js";
import { RevocationSync } from "./revocation-sync.js";

let h: Awaited<ReturnType<typeof openLifecycleHarness>>;
let counters: Counters;

beforeEach(async () => {
  h = await openLifecycleHarness();
  counters = new Counters();
});

afterEach(async () => {
  await h.close();
});

function sync(credentials: BusCredentials, retryMs = 10): RevocationSync {
  return new RevocationSync({
    credentials,
    writer: h.writer,
    clock: h.t.clock.now,
    logger: pino({ level: "silent" }),
    counters,
    horizonMs: 86_400_000,
    retryMs,
  });
}

/** Credentials whose every push fails, counting the attempts. */
function failing(): BusCredentials & { attempts: number } {
  return {
    mode: "jwt",
    attempts: 0,
    issue: () => null,
    async pushRevocations() {
      this.attempts++;
      throw new Error("no system-account link");
    },
    close: async () => {},
  };
}

describe("RevocationSync", () => {
  it("pushes nothing on an open bus", async () => {
    const open = { ...OPEN_BUS, pushRevocations: () => Promise.reject(new Error("must not be called")) };
    expect(await sync(open).push()).toBe(true);
    expect(counters.snapshot()).toEqual({});
  });

  it("retries a failed push with backoff until closed, then stops; a push after close is refused", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const credentials = failing();
      const s = sync(credentials);
      expect(await s.push()).toBe(false);
      // 10 ms, then 20 ms (doubled): one retry each.
      await vi.advanceTimersByTimeAsync(10);
      expect(credentials.attempts).toBe(2);
      await vi.advanceTimersByTimeAsync(19);
      expect(credentials.attempts).toBe(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(credentials.attempts).toBe(3);
      expect(counters.get("bus.revocation_push_failed")).toBe(3);
      await s.close();
      expect(await s.push()).toBe(false);
      await vi.advanceTimersByTimeAsync(120_000);
      expect(credentials.attempts).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a prune that cannot write is counted and logged, not thrown", async () => {
    const s = sync(OPEN_BUS);
    await h.writer.close();
    expect(await s.prune()).toBe(0);
    expect(counters.get("bus.revocation_prune_failed")).toBe(1);
  });
});

describe("RevocationSync under a leader gate (cluster mode)", () => {
  /** Credentials whose pushes succeed, recording the number of revoked keys each one sent. */
  function recording(): BusCredentials & { pushed: number[] } {
    return {
      mode: "jwt",
      pushed: [],
      issue: () => null,
      async pushRevocations() {
        this.pushed.push(h.revocations.size);
      },
      close: async () => {},
    };
  }

  it("prunes on its timer only while leading; a Mixer that becomes leader prunes and pushes at once", async () => {
    // One revocation, past its horizon: a rejected pending Rack's key.
    const { rack } = await h.lifecycle.enroll({
      name: "rack-1",
      publicKey: publicKeyToBase64url(generateKeyPair().publicKey),
      version: "1.0.0",
      attributes: {},
      source: "test",
      machineIdRange: { min: 1, max: 65_535 },
    });
    await h.lifecycle.setStatus(rack, "rejected", { cause: "operator", actor: "alice" });
    expect(h.revocations.size).toBe(1);
    h.t.clock.advance(DAY + 2_000);

    const leader = new LeaderFlag(false);
    const credentials = recording();
    const s = new RevocationSync({
      credentials,
      writer: h.writer,
      clock: h.t.clock.now,
      logger: pino({ level: "silent" }),
      counters,
      horizonMs: DAY,
      pruneEveryMs: 1_000,
      leader,
    });
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      s.start();
      // Ten prune periods without the lease: nothing pruned, nothing pushed.
      await vi.advanceTimersByTimeAsync(10_000);
    } finally {
      vi.useRealTimers();
    }
    // Writes are serial: once this no-op commits, a prune started by the timers would have committed too.
    await h.writer.submit(() => 0);
    expect(h.revocations.size).toBe(1);
    expect(credentials.pushed).toEqual([]);
    expect(counters.get("bus.revocation_pruned")).toBe(0);

    leader.set(true);
    await waitFor(() => credentials.pushed.length === 1, {
      timeoutMs: 5_000,
      message: "the new leader pushed",
    });
    expect(h.revocations.size).toBe(0);
    expect(credentials.pushed).toEqual([0]);
    expect(counters.get("bus.revocation_pruned")).toBe(1);

    // Nothing left to prune: becoming leader again still pushes the list as committed (it repairs a push the last
    // leader may have died before making).
    leader.set(false);
    leader.set(true);
    await waitFor(() => credentials.pushed.length === 2, { timeoutMs: 5_000, message: "pushed again" });
    await s.close();
    leader.set(false);
    leader.set(true);
    expect(credentials.pushed).toEqual([0, 0]);
  });
});
