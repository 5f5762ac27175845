// Failures everywhere get one JSON shape: bad JSON, oversized bodies, unknown routes, bugs (500, never leaked).

import type { RackView, WireErrorCode } from "@fluxrig/wire";
import { describe, expect, test } from "vitest";
import { authed, buildTestApi, errorOf } from "../../test/support/test-api.js";
import { OperationError } from "../errors/wire-refusal.js";
import { QueryFailedError } from "../registry/registry-errors.js";

describe("request bodies", () => {
  test.each([
    ["truncated JSON", '{"reason": "x"'],
    ["not JSON at all", "reason=x"],
    ["a lone string", "'x'"],
  ])("%s is 400 malformed", async (_what, body) => {
    const { app, fleet } = buildTestApi();
    const init = authed({ method: "POST", body, headers: { "Content-Type": "application/json" } });
    const res = await app.request("/api/v1/racks/rack-a/adopt", init);
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("malformed");
    expect(error.message).toMatch(/not JSON/);
    expect(fleet.calls).toHaveLength(0);
  });

  test("a body over maxBodyBytes is 413 too_large, by Content-Length, before auth-protected work", async () => {
    const { app, fleet } = buildTestApi({ maxBodyBytes: 2048 });
    const body = JSON.stringify({ reason: "x".repeat(4096) });
    const headers = { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)) };
    const res = await app.request("/api/v1/racks/rack-a/adopt", authed({ method: "POST", body, headers }));
    expect(res.status).toBe(413);
    expect(await errorOf(res)).toMatchObject({ code: "too_large", message: expect.stringMatching(/2048/) });
    expect(fleet.calls).toHaveLength(0);
  });

  test("a streamed body without Content-Length is counted and cut at the cap", async () => {
    const { app } = buildTestApi({ maxBodyBytes: 2048 });
    const chunk = new TextEncoder().encode("x".repeat(1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 64) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const init = authed({ method: "POST", body, headers: { "Content-Type": "application/json" } });
    const res = await app.request("/api/v1/racks/rack-a/adopt", { ...init, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(64);
  });

  test("an unauthenticated oversized body is answered 401, not read", async () => {
    const { app } = buildTestApi({ maxBodyBytes: 2048 });
    const body = "x".repeat(10_000);
    const res = await app.request("/api/v1/racks/rack-a/adopt", { method: "POST", body });
    expect(res.status).toBe(401);
  });
});

describe("unknown routes and methods", () => {
  test.each([
    ["GET", "/api/v1/nothing-here"],
    ["POST", "/"],
    ["GET", "/console/nothing.js"],
    ["PUT", "/api/v1/racks"],
    ["GET", "/api/v2/racks"],
    ["GET", "/api/v1/racks/rack-a/adopt"],
  ])("%s %s is 404 not_found in JSON", async (method, path) => {
    const { app } = buildTestApi();
    const res = await app.request(path, authed({ method }));
    expect(res.status).toBe(404);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await errorOf(res)).toMatchObject({ code: "not_found", message: expect.stringContaining(path) });
  });
});

describe("unexpected errors", () => {
  test("a crash is 500 internal: the detail goes to the log under the request id, not to the client", async () => {
    const api = buildTestApi();
    api.fleet.crashNext("duckdb: secret table path /var/lib/x");
    const res = await api.app.request("/api/v1/racks/rack-a", authed());
    expect(res.status).toBe(500);
    const requestId = res.headers.get("X-Request-Id");
    const error = await errorOf(res);
    expect(error.code).toBe("internal");
    expect(error.message).not.toContain("duckdb");
    expect(error.message).toContain(String(requestId));
    const logged = api.logs.find((l) => l.msg === "api: unexpected error");
    expect(logged).toMatchObject({
      req_id: requestId,
      err: { message: "duckdb: secret table path /var/lib/x" },
    });
    expect(api.counters.get("api.errors.internal")).toBe(1);
  });

  test("a registry that cannot be written (full or read-only disk) is 503 unavailable with the cause, never the SQL", async () => {
    const api = buildTestApi();
    api.fleet.racks.adopt = async () => {
      throw new QueryFailedError("INSERT INTO audit_events SELECT secret", {
        cause: new Error(
          'IO Error: Could not write file "registry.duckdb.wal": No space left on device\nmore',
        ),
      });
    };
    const res = await api.app.request("/api/v1/racks/rack-a/adopt", authed({ method: "POST" }));
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("5");
    const error = await errorOf(res);
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("No space left on device");
    expect(error.message).toContain("nothing was changed");
    expect(error.message).not.toContain("INSERT");
    expect(error.message).not.toContain("more");
  });

  test("an OperationError with a code outside the wire table is a 500, not a response without a status", async () => {
    const api = buildTestApi();
    api.fleet.racks.show = async () => {
      throw new OperationError("teapot" as WireErrorCode, "no such code");
    };
    const res = await api.app.request("/api/v1/racks/rack-a", authed());
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe("internal");
  });

  test("a response that fails its own schema is a 500, not a leak of whatever came back", async () => {
    const api = buildTestApi();
    api.fleet.racks.show = async () => ({ name: "rack-a", status: "sideways" }) as unknown as RackView;
    const res = await api.app.request("/api/v1/racks/rack-a", authed());
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe("internal");
    const logged = api.logs.find((l) => l.msg === "api: unexpected error") as { err: { type: string } };
    expect(logged.err.type).toBe("ResponseSchemaError");
  });
});

describe("every response", () => {
  test("gets one log line with method, path, status, duration and request id", async () => {
    const api = buildTestApi();
    await api.app.request("/api/v1/racks?limit=5", authed());
    await api.app.request("/api/v1/racks/rack-zz", authed());
    const lines = api.logs.filter((l) => l.msg === "request");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      method: "GET",
      path: "/api/v1/racks",
      status: 200,
      ms: expect.any(Number),
    });
    expect(lines[1]).toMatchObject({
      path: "/api/v1/racks/rack-zz",
      status: 404,
      req_id: expect.any(String),
    });
  });

  test("carries X-Request-Id: the client's when it is sane, a fresh one otherwise", async () => {
    const { app } = buildTestApi();
    const kept = await app.request("/health", { headers: { "X-Request-Id": "abc-123" } });
    expect(kept.headers.get("X-Request-Id")).toBe("abc-123");
    const replaced = await app.request("/health", { headers: { "X-Request-Id": "a b<script>" } });
    expect(replaced.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("carries the secure headers, errors included", async () => {
    const { app } = buildTestApi();
    for (const res of [await app.request("/health"), await app.request("/api/v1/racks")]) {
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("X-Frame-Options")).toBe("DENY");
      expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    }
  });
});
