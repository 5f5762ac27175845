// A Rack whose OTLP endpoint is down still stops cleanly within Docker's default 10 s: the final telemetry flush is
// bounded, whether the endpoint refuses connections or accepts them and never answers.
import { createServer, type Server, type Socket } from "node:net";
import { freePort, MixerHarness, type SpawnedProcess, tempDir, waitFor } from "@fluxrig/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  activateScenario,
  fastMixerEnv,
  spawnRack,
  tickerScenario,
  waitForRack,
} from "./support/real-fleet.js";

const REFUSED = "rack-otlp-refused";
const SILENT = "rack-otlp-silent";
// Docker sends SIGKILL 10 s after SIGTERM by default; a Rack still running after this long would be killed there.
const DOCKER_STOP_GRACE_MS = 10_000;

let h: MixerHarness;
let silent: { server: Server; url: string; connections: number; sockets: Set<Socket> };

beforeAll(async () => {
  h = await MixerHarness.create({ env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" }) });
  await activateScenario(h, tickerScenario("otlp-down", [REFUSED, SILENT]), "otlp-down");
  // An endpoint that takes the connection and never answers: the worst case for a final export.
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    silent.connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  silent = { server, url: `http://127.0.0.1:${port}/v1/metrics`, connections: 0, sockets };
});
afterAll(async () => {
  for (const socket of silent?.sockets ?? []) socket.destroy();
  await new Promise<void>((resolve) => (silent ? silent.server.close(() => resolve()) : resolve()));
  await h?.[Symbol.asyncDispose]();
});

async function stopWithEndpoint(
  name: string,
  endpoint: string,
  exported: (rack: SpawnedProcess) => Promise<unknown>,
): Promise<void> {
  await using state = tempDir(name);
  const rack = spawnRack(h, {
    name,
    stateDir: state.path,
    env: { FLUXRIG_TELEMETRY_OTLP_ENDPOINT: endpoint },
  });
  await waitForRack(h, name, (r) => r.status === "active" && r.stats?.gears?.running === 2, {
    message: "active with gears",
  });
  await rack.waitForJson({ msg: "telemetry: started" });
  await exported(rack);
  // The process is SIGKILLed (and the test fails on the signal) if it has not exited within Docker's grace.
  const status = await rack.stop({ graceMs: DOCKER_STOP_GRACE_MS });
  expect(status).toEqual({ code: 0, signal: null });
  expect(rack.json().some((e) => e.msg === "telemetry: stopped")).toBe(true);
  expect(rack.json().some((e) => e.msg === "rack: stopped")).toBe(true);
}

describe("shutdown with the telemetry endpoint down (real Rack, real Mixer)", () => {
  test("an endpoint that refuses connections", async () => {
    const port = await freePort();
    await stopWithEndpoint(REFUSED, `http://127.0.0.1:${port}/v1/metrics`, (rack) =>
      rack.waitForJson({ msg: "telemetry: export failed" }),
    );
  });

  test("an endpoint that accepts and never answers", async () => {
    await stopWithEndpoint(SILENT, silent.url, () =>
      waitFor(() => silent.connections > 0, { message: "an export attempt against the silent endpoint" }),
    );
  });
});
