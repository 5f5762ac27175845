// `[nats] url` listing a cluster's nodes: the Mixer reaches a node that is up, whichever place it has in the list
// (nats.js given the list as one string tried the last node only).
import { attachLogsOnFailure, freePort, startNatsServer } from "@fluxrig/testkit";
import { pino } from "pino";
import { beforeEach, expect, test } from "vitest";
import { connectNats } from "../src/runtime/nats-connection.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

test("a list whose last node is down connects to one that is up", async () => {
  const nats = await startNatsServer();
  try {
    const down = `nats://127.0.0.1:${await freePort()}`;
    const nc = await connectNats({
      url: `${nats.url}, ${down}`,
      name: "list-test",
      connectTimeoutMs: 5_000,
      logger: pino({ level: "silent" }),
    });
    try {
      expect(nc.getServer()).toBe(new URL(nats.url).host);
    } finally {
      await nc.close();
    }
  } finally {
    await nats.stop();
  }
});
