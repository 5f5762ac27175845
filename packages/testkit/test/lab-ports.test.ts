// The lab's ports: a chosen port stays held until the process that binds it is about to start.
import { connect, createServer, type Server } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { holdPort } from "../../../tooling/lab/lab-ports.js";

const HOST = "127.0.0.1";
const open: Server[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => new Promise((done) => s.close(done))));
});

/** Whether another listener can take `port` now (it is closed again at once). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: HOST, port }, () => server.close(() => resolve(true)));
  });
}

function listenAnywhere(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    open.push(server);
    server.listen({ host: HOST, port: 0 }, () => resolve((server.address() as { port: number }).port));
  });
}

describe("holdPort", () => {
  test("holds a free port until released: nobody else can listen on it meanwhile", async () => {
    const held = await holdPort({ host: HOST, requested: 0, preferred: 1, what: "t", flag: "--x" });
    expect(held.note).toBeUndefined();
    expect(await canListen(held.port)).toBe(false);
    await held.release();
    await held.release();
    expect(await canListen(held.port)).toBe(true);
  });

  test("closes a connection made to a held port at once, so releasing it never waits for the peer", async () => {
    const held = await holdPort({ host: HOST, requested: 0, preferred: 1, what: "t", flag: "--x" });
    const peer = connect({ host: HOST, port: held.port });
    const closed = new Promise<void>((resolve) => peer.once("close", () => resolve()));
    peer.on("error", () => undefined);
    await closed;
    // The peer never closes its side itself (as a nats-server dialling a route would not): release must not wait for it.
    await held.release();
    expect(await canListen(held.port)).toBe(true);
  });

  test("falls back from a taken preferred port with a note, and refuses a taken port asked for by number", async () => {
    const taken = await listenAnywhere();
    const fallback = await holdPort({
      host: HOST,
      requested: undefined,
      preferred: taken,
      what: "svc",
      flag: "--x",
    });
    try {
      expect(fallback.port).not.toBe(taken);
      expect(fallback.note).toBe(`port ${taken} is taken: svc uses ${HOST}:${fallback.port} instead`);
    } finally {
      await fallback.release();
    }
    await expect(
      holdPort({ host: HOST, requested: taken, preferred: 1, what: "svc", flag: "--x" }),
    ).rejects.toThrow(`svc: port ${taken} on ${HOST} is taken (--x)`);
  });
});
