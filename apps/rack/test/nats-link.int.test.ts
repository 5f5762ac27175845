// NATS down: the first connect is retried with backoff until the server is up, and survives later outages.
import { type LogEntry, matchesEntry, startNatsServer, tempDir, waitFor } from "@fluxrig/testkit";
import { pino } from "pino";
import { describe, expect, test } from "vitest";
import { connectWithRetry } from "../src/nats-link.js";
import { startRack } from "./support/in-process-rack.js";
import { ScriptedMixer } from "./support/scripted-mixer.js";

const FAST = { initialMs: 50, maxMs: 200, factor: 2, jitter: 0.2 };

function memoryLogger() {
  const logs: LogEntry[] = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => logs.push(JSON.parse(line) as LogEntry) },
  );
  return { logs, logger, has: (m: Record<string, unknown>) => logs.some((e) => matchesEntry(e, m)) };
}

describe("connecting to NATS", () => {
  test("the first connect is retried until the server comes up", async () => {
    await using nats = await startNatsServer({ jetstream: false });
    await nats.stopForNow();
    const { logger, has } = memoryLogger();
    const connecting = connectWithRetry({ url: nats.url, clientName: "test", logger, policy: FAST });
    await waitFor(() => has({ msg: "nats: cannot connect, retrying" }), { message: "a logged failure" });
    await nats.start();
    const nc = await connecting;
    expect(nc.isClosed()).toBe(false);
    expect(has({ msg: "nats: connected after retrying" })).toBe(true);
    await nc.close();
  });

  test("a first connect still in progress gives up when aborted (shutdown before NATS came up)", async () => {
    await using nats = await startNatsServer({ jetstream: false });
    await nats.stopForNow();
    const abort = new AbortController();
    const connecting = connectWithRetry({
      url: nats.url,
      clientName: "test",
      logger: pino({ level: "silent" }),
      policy: FAST,
      signal: abort.signal,
    });
    abort.abort(new Error("SIGTERM"));
    await expect(connecting).rejects.toThrow("SIGTERM");
  });

  test("after the link drops, the first redial waits its draw from reconnect_spread, then connects", async () => {
    await using nats = await startNatsServer({ jetstream: false });
    const { logger, logs } = memoryLogger();
    const spreadMs = 2_000;
    // Every draw 0.8: the first redial comes 1,600 ms after the drop (backoff jitter draws are 0.8 too).
    const nc = await connectWithRetry({
      url: nats.url,
      clientName: "test",
      logger,
      policy: FAST,
      reconnectSpreadMs: spreadMs,
      random: () => 0.8,
    });
    const events: Array<{ type: string; at: number }> = [];
    void (async () => {
      for await (const s of nc.status()) events.push({ type: s.type, at: performance.now() });
    })();
    await nats.restart();
    const up = performance.now();
    await waitFor(() => events.some((e) => e.type === "reconnect"), {
      timeoutMs: 10_000,
      message: "reconnected",
    });
    const dropped = events.find((e) => e.type === "disconnect")!.at;
    const back = events.find((e) => e.type === "reconnect")!.at - dropped;
    // Not before its draw (without the spread it redials at once, and again within FAST's 50-200 ms)...
    expect(back).toBeGreaterThanOrEqual(1_600 - 50);
    // ...and within its stated bound: the spread or the outage, whichever ends later, then a backoff step (here
    // at most 200 ms) and one handshake.
    expect(back).toBeLessThan(Math.max(spreadMs, up - dropped) + 1_000);
    expect(logs.filter((e) => e.msg?.toString().startsWith("nats: link dropped"))).toMatchObject([
      { first_redial_in_ms: 1_600, reconnect_spread_ms: spreadMs },
    ]);

    // Dropped again: spread again (armed by the reconnect).
    events.length = 0;
    await nats.restart();
    await waitFor(() => events.some((e) => e.type === "reconnect"), { timeoutMs: 10_000, message: "again" });
    const again =
      events.find((e) => e.type === "reconnect")!.at - events.find((e) => e.type === "disconnect")!.at;
    expect(again).toBeGreaterThanOrEqual(1_600 - 50);
    await nc.close();
  });

  test("a redial refused while the server is still down waits at least the spread, keeping the Rack's place", async () => {
    await using nats = await startNatsServer({ jetstream: false });
    const spreadMs = 2_000;
    // Every draw 0.25: the first redial 500 ms after the drop, while the server is still down for 1,200 ms.
    const nc = await connectWithRetry({
      url: nats.url,
      clientName: "test",
      logger: pino({ level: "silent" }),
      policy: FAST,
      reconnectSpreadMs: spreadMs,
      random: () => 0.25,
    });
    const events: Array<{ type: string; at: number }> = [];
    void (async () => {
      for await (const s of nc.status()) events.push({ type: s.type, at: performance.now() });
    })();
    const downAt = performance.now();
    await nats.stopForNow();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await nats.start();
    const up = performance.now() - downAt;
    await waitFor(() => events.some((e) => e.type === "reconnect"), { timeoutMs: 10_000, message: "back" });
    const dropped = events.find((e) => e.type === "disconnect")!.at;
    const back = events.find((e) => e.type === "reconnect")!.at - dropped;
    // Refused at 500 ms; with FAST's 50-200 ms steps alone it would be back within ~0.2 s of the server.
    expect(back).toBeGreaterThanOrEqual(500 + spreadMs - 50);
    expect(back).toBeLessThan(Math.max(up, 500) + spreadMs + 1_000);
    await nc.close();
  });

  test("a reconnect the Rack forces (a new credential to present) is not spread", async () => {
    await using nats = await startNatsServer({ jetstream: false });
    const spreadMs = 20_000;
    const nc = await connectWithRetry({
      url: nats.url,
      clientName: "test",
      logger: pino({ level: "silent" }),
      policy: FAST,
      reconnectSpreadMs: spreadMs,
      random: () => 0.9,
    });
    const t0 = performance.now();
    const back = (async () => {
      for await (const s of nc.status()) if (s.type === "reconnect") return performance.now() - t0;
      return Number.NaN;
    })();
    await nc.reconnect();
    // Spread, it would wait 18 s.
    expect(await back).toBeLessThan(5_000);
    await nc.close();
  });

  test("an active Rack keeps running through a NATS outage and heartbeats again after it", async () => {
    await using nats = await startNatsServer({ jetstream: false });
    await using dir = tempDir("rack-outage");
    const [nc, mixerNc] = await Promise.all([nats.connect(), nats.connect()]);
    const mixer = await ScriptedMixer.start(mixerNc, { mode: "active" });
    const t = await startRack({ name: "rack-outage", stateDir: dir.path, nc });
    await t.waitForState("active");
    await mixer.pushScenario("rack-outage", {
      v: 1,
      scenario: { name: "outage", version: "1" },
      gears: [{ name: "tick", type: "ticker", config: { interval: "50ms" } }],
      wires: [{ name: "ticks", from: "tick.out", to: "sink.in", subject: "fluxrig.msg.outage.ticks" }],
      ts: new Date().toISOString(),
    });
    await waitFor(() => t.rack.snapshot().gears?.[0]?.state === "running", { message: "gears running" });

    await nats.stopForNow();
    await t.waitForLog({ msg: "nats: disconnected, reconnecting" });
    expect(t.rack.state).toBe("active");
    expect(t.rack.snapshot().gears?.[0]?.state).toBe("running");

    await nats.start();
    await t.waitForLog({ msg: "nats: reconnected" });
    const before = mixer.beats("active").length;
    await waitFor(() => mixer.beats("active").length > before + 1, {
      message: "heartbeats after the outage",
    });
    expect(t.rack.state).toBe("active");
    await t.rack.stop("test done");
    mixer.stop();
  });
});
