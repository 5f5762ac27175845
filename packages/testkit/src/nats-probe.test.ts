// The readiness probe: an INFO greeting passes, silence or a refused port fails by the deadline.
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "./free-port.js";
import { waitForInfoGreeting } from "./nats-probe.js";

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

function fakeServer(greeting: string | undefined): Promise<number> {
  return new Promise((resolve) => {
    server = createServer((socket) => {
      if (greeting !== undefined) socket.write(greeting);
    });
    server.listen(0, "127.0.0.1", () => {
      const address = server?.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });
}

const probe = (port: number, ms: number, isRunning = () => true) =>
  waitForInfoGreeting({ host: "127.0.0.1", port, deadline: Date.now() + ms, isRunning });

describe("waitForInfoGreeting", () => {
  it("resolves on an INFO greeting", async () => {
    const port = await fakeServer('INFO {"server_id":"x"}\r\n');
    await expect(probe(port, 5_000)).resolves.toBeUndefined();
  });

  it("fails at the deadline when the port says nothing or refuses", async () => {
    const silent = await fakeServer(undefined);
    await expect(probe(silent, 200)).rejects.toThrow(/no INFO greeting .*no greeting within/);
    const closed = await freePort();
    await expect(probe(closed, 200)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("fails at once when the server is no longer running", async () => {
    await expect(probe(1, 5_000, () => false)).rejects.toThrow(/exited while being probed/);
  });
});
