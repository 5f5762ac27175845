// GET /api/v1/session: who the presented token is, for each kind of token.
import { describe, expect, test } from "vitest";
import { FAKE_TOKENS } from "../../test/support/fake-fleet.js";
import {
  authed,
  buildTestApi,
  errorOf,
  METRICS_TOKEN,
  TELEMETRY_TOKEN,
} from "../../test/support/test-api.js";

describe("GET /api/v1/session", () => {
  test("the bootstrap token is the admin named bootstrap", async () => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/session", authed());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: "bootstrap", role: "admin" });
  });

  test.each(Object.entries(FAKE_TOKENS))(
    "the named token %s answers its name and role",
    async (name, token) => {
      const { app } = buildTestApi();
      const res = await app.request("/api/v1/session", authed({ token: token.secret }));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ name, role: token.role });
    },
  );

  test.each([
    ["no token", undefined],
    ["a wrong token", "Bearer not-a-token"],
    ["the metrics token", `Bearer ${METRICS_TOKEN}`],
    ["the telemetry token", `Bearer ${TELEMETRY_TOKEN}`],
  ])("%s is 401", async (_what, header) => {
    const { app } = buildTestApi();
    const res = await app.request(
      "/api/v1/session",
      header === undefined ? {} : { headers: { Authorization: header } },
    );
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe("unauthorized");
    expect(res.headers.get("WWW-Authenticate")).toContain("Bearer");
  });

  test("a revoked named token is 401 at once", async () => {
    const { app, fleet } = buildTestApi();
    const [name, token] = Object.entries(FAKE_TOKENS)[0]!;
    await fleet.tokens.revoke(name, { actor: "api" });
    expect((await app.request("/api/v1/session", authed({ token: token.secret }))).status).toBe(401);
  });

  test("with auth disabled every request is an admin", async () => {
    const { app } = buildTestApi({ auth: { token: null, disabled: true } });
    expect(await (await app.request("/api/v1/session")).json()).toEqual({
      name: "auth-disabled",
      role: "admin",
    });
  });

  test("the route is in the OpenAPI document with its least role", async () => {
    const { app } = buildTestApi();
    const doc = (await (await app.request("/api/v1/openapi.json")).json()) as {
      paths: Record<string, { get?: { "x-fluxrig-role"?: string } }>;
    };
    expect(doc.paths["/api/v1/session"]?.get?.["x-fluxrig-role"]).toBe("viewer");
  });
});
