// The revocation push's own rules, apart from the status changes that call it: an open bus pushes nothing, a closed
// sync stops retrying, a prune that cannot write is counted and never thrown at its timer.
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openLifecycleHarness } from "../../test/support/lifecycle-test-harness.js";
import { type BusCredentials, OPEN_BUS } from "../bus-auth/bus-credentials.js";
import { Counters } from "../runtime/counters.js";
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
