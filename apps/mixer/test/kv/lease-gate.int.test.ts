// Leader gates over the Mixer's lease bucket on a real nats-server with JetStream: exactly one leads; a holder that
// stops renewing without releasing (as a Mixer killed with SIGKILL) is replaced within the stated bound, and never
// while it still leads; a clean stop hands over without waiting the ttl.
import { attachLogsOnFailure, startNatsServer, waitFor } from "@fluxrig/testkit";
import type { NatsConnection } from "@nats-io/transport-node";
import { beforeEach, describe, expect, test } from "vitest";
import { LeaseGate } from "../../src/kv/lease-gate.js";
import { openRegistryBuckets } from "../../src/kv/registry-buckets.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

const TTL_MS = 2_000;

describe("leader gates on a real nats-server", { timeout: 60_000 }, () => {
  test("exactly one leads; SIGKILL-like stop of the holder: the other leads within the bound; a clean stop hands over at once", async ({
    annotate,
  }) => {
    await using nats = await startNatsServer();
    const connections: NatsConnection[] = [];
    const gates: LeaseGate[] = [];
    const timeline: string[] = [];
    /** A Mixer's side: its own connection, the registry's lease bucket, the gate on the lease `leader`. */
    const member = async (name: string) => {
      const nc = await nats.connect({ name });
      connections.push(nc);
      const kv = await openRegistryBuckets(nc, { replicas: 1, writerId: name });
      const gate = new LeaseGate({ bucket: kv.leases, name: "leader", holder: name, ttlMs: TTL_MS });
      gate.onChange((leading) => timeline.push(`${name} ${leading ? "leads" : "stops"}`));
      gates.push(gate);
      return { nc, gate, kv };
    };
    /** Never two at once: sampled at every poll of every wait below (waitFor retries a throw, so it is recorded). */
    const twoAtOnce: string[] = [];
    const atMostOne = () => {
      const now = gates.filter((g) => g.leading).map((g) => g.lease.holder);
      if (now.length > 1) twoAtOnce.push(now.join(" and "));
      return now;
    };
    try {
      const a = await member("mixer-a");
      const b = await member("mixer-b");
      a.gate.start();
      b.gate.start();
      await waitFor(() => atMostOne().length === 1, {
        timeoutMs: 10_000,
        intervalMs: 10,
        message: "one leads",
      });
      const [holderName] = atMostOne();
      const holder = holderName === "mixer-a" ? a : b;
      const other = holder === a ? b : a;

      // Four renewals by the holder while the other contends: still exactly one, the same.
      const probeNc = await nats.connect({ name: "probe" });
      connections.push(probeNc);
      const probe = (await openRegistryBuckets(probeNc, { replicas: 1, writerId: "probe" })).leases;
      const first = (await probe.get<{ holder: string }>("leader"))!;
      expect(first.value.holder).toBe(holderName);
      await waitFor(
        async () => {
          if (atMostOne()[0] !== holderName) throw new Error(`the lease moved from ${holderName}`);
          return ((await probe.get("leader"))?.revision ?? 0) >= first.revision + 4;
        },
        { timeoutMs: 20_000, intervalMs: 50, message: "the holder renewed four times" },
      );

      // SIGKILL-like: the holder's link is gone, its lease is not released.
      const killedAt = performance.now();
      await holder.nc.close();
      // Its next renewal finds the connection closed: it stops at once, long before anyone may take over.
      await waitFor(() => !holder.gate.leading, {
        timeoutMs: TTL_MS,
        intervalMs: 5,
        message: "holder stops",
      });
      const tookOver = await waitFor(
        () => (atMostOne()[0] === other.gate.lease.holder ? performance.now() - killedAt : undefined),
        {
          timeoutMs: other.gate.lease.takeoverBoundMs + 10_000,
          intervalMs: 10,
          message: "the other took over",
        },
      );
      // ttl + 2 polls + one write (Lease.takeoverBoundMs): 2,000 + 800 + 2,000 ms.
      expect(tookOver, `took over in ${Math.round(tookOver)} ms`).toBeLessThanOrEqual(
        other.gate.lease.takeoverBoundMs,
      );
      // Not early: a contender waits a full ttl from when it saw the last renewal, which went out at most one renewal
      // period before the kill.
      expect(tookOver).toBeGreaterThan(TTL_MS - other.gate.lease.renewEveryMs - 100);
      await annotate(
        `SIGKILL-like takeover ${Math.round(tookOver)} ms (bound ${other.gate.lease.takeoverBoundMs} ms, ttl ${TTL_MS} ms)`,
      );

      // A third member contends; the leader stops cleanly: released, taken over without waiting the ttl.
      const c = await member("mixer-c");
      c.gate.start();
      const stoppedAt = performance.now();
      await other.gate.stop();
      expect(other.gate.leading).toBe(false);
      const handedOver = await waitFor(
        () => (atMostOne()[0] === "mixer-c" ? performance.now() - stoppedAt : undefined),
        { timeoutMs: 10_000, intervalMs: 10, message: "c took over" },
      );
      expect(handedOver, `handed over in ${Math.round(handedOver)} ms`).toBeLessThan(TTL_MS);
      await annotate(`clean stop handed over in ${Math.round(handedOver)} ms`);

      expect(twoAtOnce).toEqual([]);
      expect(timeline).toEqual([
        `${holderName} leads`,
        `${holderName} stops`,
        `${other.gate.lease.holder} leads`,
        `${other.gate.lease.holder} stops`,
        "mixer-c leads",
      ]);
    } finally {
      for (const gate of gates) await gate.stop();
      for (const nc of connections) await nc.close().catch(() => undefined);
    }
  });
});
