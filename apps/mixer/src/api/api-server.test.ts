// The HTTP server: binds, serves the API, reports a taken port, and closes gracefully (drain, then stop).
import { request } from "node:http";
import { Hono } from "hono";
import { pino } from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { buildTestApi, TOKEN } from "../../test/support/test-api.js";
import {
  ApiListenAddressError,
  ApiListenError,
  type ApiServer,
  parseListen,
  startApiServer,
} from "./api-server.js";

const logger = pino({ level: "silent" });
const started: ApiServer[] = [];

async function start(app: { fetch: (r: Request) => Response | Promise<Response> }, listen = "127.0.0.1:0") {
  const server = await startApiServer({ app, listen, logger });
  started.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

describe("parseListen", () => {
  test.each([
    ["127.0.0.1:8090", { host: "127.0.0.1", port: 8090 }],
    ["localhost:0", { host: "localhost", port: 0 }],
    ["[::1]:8090", { host: "::1", port: 8090 }],
  ])("%s", (listen, expected) => {
    expect(parseListen(listen)).toEqual(expected);
  });

  test.each(["8090", "host:", ":8090", "a:99999", "http://x:1", "[::1:80"])("refuses %s", (listen) => {
    expect(() => parseListen(listen)).toThrow(ApiListenAddressError);
  });
});

describe("startApiServer", () => {
  test("serves the API over HTTP on the port it was given (0: any free one)", async () => {
    const server = await start(buildTestApi().app);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const health = await fetch(`${server.url}/health`);
    expect(await health.json()).toEqual({ status: "ok" });
    expect((await fetch(`${server.url}/api/v1/racks`)).status).toBe(401);
    const racks = await fetch(`${server.url}/api/v1/racks`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(racks.status).toBe(200);
  });

  test("a taken port is an ApiListenError that says so", async () => {
    const first = await start(buildTestApi().app);
    const second = startApiServer({ app: buildTestApi().app, listen: `127.0.0.1:${first.port}`, logger });
    await expect(second).rejects.toThrow(ApiListenError);
    await expect(second).rejects.toThrow(/port is taken/);
  });

  test("close() stops accepting, lets the request in flight finish, then resolves", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inFlight = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const app = new Hono();
    app.get("/slow", async (c) => {
      entered();
      await gate;
      return c.text("finished");
    });
    app.get("/fast", (c) => c.text("ok"));
    const server = await start(app);

    const slow = fetch(`${server.url}/slow`);
    await inFlight;
    const closed = server.close();
    await expect(fetch(`${server.url}/fast`)).rejects.toThrow();
    release();
    const res = await slow;
    expect(await res.text()).toBe("finished");
    await closed;
    expect(server.close()).toBe(closed);
  });

  test("close() cuts requests still running after the grace period", async () => {
    let entered!: () => void;
    const inFlight = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const app = new Hono();
    app.get("/stuck", async () => {
      entered();
      return new Promise<Response>(() => {});
    });
    const server = await startApiServer({ app, listen: "127.0.0.1:0", logger, closeGraceMs: 1 });
    const stuck = fetch(`${server.url}/stuck`).catch((err: unknown) => err);
    await inFlight;
    await server.close();
    expect(await stuck).toBeInstanceOf(Error);
  });

  // Found by apps/mixer/test/fuzz/api.fuzz.test.ts: the adapter refused these before the app with an empty 400.
  test("a request target the adapter refuses (a backslash in the path) still gets the JSON error body", async () => {
    const server = await start(buildTestApi().app);
    const res = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: server.port, path: "/api/v1/racks/..\\..\\x" }, (r) => {
        let body = "";
        r.on("data", (c: Buffer) => {
          body += c.toString();
        });
        r.on("end", () =>
          resolve({ status: r.statusCode ?? 0, type: String(r.headers["content-type"]), body }),
        );
      });
      req.on("error", reject);
      req.end();
    });
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/application\/json/);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: "malformed" } });
  });

  test("a request Node's parser refuses (URL over its header limit) gets the JSON error body too", async () => {
    const server = await start(buildTestApi().app);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: server.port, path: `/api/v1/racks?x=${"a".repeat(40_000)}` },
        (r) => {
          let body = "";
          r.on("data", (c: Buffer) => {
            body += c.toString();
          });
          r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(res.status).toBe(431);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: "too_large" } });
  });
});
