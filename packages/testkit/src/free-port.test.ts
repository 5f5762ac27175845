// freePort hands out ports that can really be bound, and different ones while they are held.
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "./free-port.js";

const held: Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => resolve(server));
  });
}

describe("freePort", () => {
  it("returns a port in the valid range that can be listened on", async () => {
    const port = await freePort();
    expect(Number.isInteger(port)).toBe(true);
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
    held.push(await listenOn(port));
  });

  it("does not hand out a port that is currently held", async () => {
    const first = await freePort();
    held.push(await listenOn(first));
    const others = await Promise.all([freePort(), freePort(), freePort()]);
    expect(others).not.toContain(first);
  });
});
