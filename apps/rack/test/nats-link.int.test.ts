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
