// The lease as a leader gate, over an in-memory compare-and-set store whose clients can be cut off (a partition): the
// work stops the moment the lease can no longer be counted on, before any contender may take over. On a real
// nats-server: apps/mixer/test/kv/lease-gate.int.test.ts.
import { waitFor } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import type { KvBucket, KvRecord } from "./kv-bucket.js";
import { KvKeyExistsError, KvRevisionConflictError, KvUnavailableError } from "./kv-errors.js";
import { LeaseGate } from "./lease-gate.js";

/** One bucket's keys, shared by its clients; each client may be cut off, as by a partition. */
class SharedStore {
  readonly keys = new Map<string, { revision: number; value: unknown; writer: string }>();
  #seq = 0;

  client(writer: string): { bucket: KvBucket; cut: boolean } {
    const store = this;
    const c = { cut: false, bucket: undefined as unknown as KvBucket };
    /**
     * A cut-off client's request gets no answer: as with the real bucket, one attempt waits its request timeout, past
     * the caller's retry window, before the call gives up.
     */
    const unreachable = async (key: string, op: "get" | "create" | "update", windowMs = 0) => {
      const waited = Math.max(windowMs, REQUEST_TIMEOUT_MS);
      await new Promise((r) => setTimeout(r, waited));
      return new KvUnavailableError("t_leases", key, op, "unknown", waited, 1);
    };
    const record = <T>(key: string): KvRecord<T> | null => {
      const v = store.keys.get(key);
      return v
        ? {
            key,
            revision: v.revision,
            value: v.value as T,
            writer: v.writer,
            nonce: "n",
            created: new Date(),
          }
        : null;
    };
    const fake = {
      async get<T>(key: string, opts: { retryWindowMs?: number } = {}) {
        if (c.cut) throw await unreachable(key, "get", opts.retryWindowMs);
        return record<T>(key);
      },
      async create<T>(key: string, value: T, opts: { retryWindowMs?: number } = {}) {
        if (c.cut) throw await unreachable(key, "create", opts.retryWindowMs);
        const now = store.keys.get(key);
        if (now) throw new KvKeyExistsError("t_leases", key, now.revision, now.writer);
        store.keys.set(key, { revision: ++store.#seq, value, writer });
        return record<T>(key)!;
      },
      async update<T>(key: string, value: T, revision: number, opts: { retryWindowMs?: number } = {}) {
        if (c.cut) throw await unreachable(key, "update", opts.retryWindowMs);
        const now = store.keys.get(key);
        if (now?.revision !== revision) {
          throw new KvRevisionConflictError("t_leases", key, revision, now?.revision ?? 0);
        }
        store.keys.set(key, { revision: ++store.#seq, value, writer });
        return record<T>(key)!;
      },
    };
    c.bucket = fake as unknown as KvBucket;
    return c;
  }
}

const TTL = 600;
/** As the real bucket's default: 2 s per request. */
const REQUEST_TIMEOUT_MS = 2_000;

function gate(client: { bucket: KvBucket }, holder: string, events: string[]) {
  const g = new LeaseGate({ bucket: client.bucket, name: "leader", holder, ttlMs: TTL });
  g.onChange((leading) => events.push(`${holder} ${leading ? "leads" : "stops"}`));
  return g;
}

describe("LeaseGate", () => {
  test("renewals that stop getting through: leading ends at the lease's validity, before a contender takes over", async () => {
    const store = new SharedStore();
    const a = store.client("a");
    const b = store.client("b");
    const events: string[] = [];
    const ga = gate(a, "a", events);
    const gb = gate(b, "b", events);
    let aLeadingWhenBTookOver: boolean | undefined;
    gb.onChange((leading) => {
      if (leading) aLeadingWhenBTookOver = ga.leading;
    });
    ga.start();
    try {
      await waitFor(() => ga.leading, { timeoutMs: 5_000, message: "a leads" });
      gb.start();
      // a renews several times while b contends: one leader.
      const rev = store.keys.get("leader")!.revision;
      await waitFor(() => store.keys.get("leader")!.revision >= rev + 3, {
        timeoutMs: 5_000,
        message: "a renewed three times",
      });
      expect([ga.leading, gb.leading]).toEqual([true, false]);

      const cutAt = performance.now();
      a.cut = true;
      await waitFor(() => !ga.leading, { timeoutMs: 5_000, intervalMs: 5, message: "a stops leading" });
      const stoppedAfterMs = performance.now() - cutAt;
      // Its last renewal went out before the cut: valid until then + ttl - ttl/10 at most.
      expect(stoppedAfterMs).toBeLessThanOrEqual(TTL - TTL / 10 + 150);
      // Its listeners hear it from the timer on that instant: the renewal under way gives up only after its request
      // timeout (2 s from the cut at the earliest), after the contender may have taken over.
      await waitFor(() => events.includes("a stops"), { timeoutMs: 5_000, intervalMs: 5, message: "a told" });
      expect(performance.now() - cutAt).toBeLessThan(REQUEST_TIMEOUT_MS);
      await waitFor(() => gb.leading, { timeoutMs: gb.lease.takeoverBoundMs, message: "b took over" });
      expect(aLeadingWhenBTookOver).toBe(false);
      // (Listeners may hear a's end a moment after b's start when a's timer runs late; `leading` itself never overlaps.)
      expect([...events].sort()).toEqual(["a leads", "a stops", "b leads"]);
    } finally {
      await ga.stop();
      await gb.stop();
    }
  });

  test("a lease taken over (the renewal's compare-and-set lost) stops leading at once; stop() stops and releases", async () => {
    const store = new SharedStore();
    const a = store.client("a");
    const events: string[] = [];
    const ga = gate(a, "a", events);
    ga.start();
    try {
      await waitFor(() => ga.leading, { timeoutMs: 5_000, message: "a leads" });
      // Another holder wrote the next revision (as a contender that saw a silent holder would).
      const now = store.keys.get("leader")!;
      store.keys.set("leader", { revision: now.revision + 100, value: { holder: "x" }, writer: "x" });
      await waitFor(() => events.includes("a stops"), {
        timeoutMs: ga.lease.renewEveryMs + 1_000,
        message: "a stops at its next renewal",
      });
      expect(ga.leading).toBe(false);
      // x stops renewing: after its ttl, a leads again.
      await waitFor(() => ga.leading, { timeoutMs: ga.lease.takeoverBoundMs, message: "a leads again" });
      const leading: boolean[] = [];
      ga.onChange((l) => leading.push(l));
      await ga.stop();
      expect(leading).toEqual([false]);
      expect(store.keys.get("leader")?.value).toEqual({ holder: "a", released: true });
      expect(events).toEqual(["a leads", "a stops", "a leads", "a stops"]);
    } finally {
      await ga.stop();
    }
  });
});
