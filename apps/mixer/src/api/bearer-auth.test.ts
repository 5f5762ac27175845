// Auth: missing, wrong and right tokens, the telemetry and metrics tokens' reach, disabled auth, open health.
import { describe, expect, test } from "vitest";
import { FAKE_TOKENS } from "../../test/support/fake-fleet.js";
import {
  authed,
  buildTestApi,
  errorOf,
  FAKE_EXPOSITION,
  METRICS_TOKEN,
  TELEMETRY_TOKEN,
  TOKEN,
} from "../../test/support/test-api.js";
import { ApiAuthMissingError } from "../runtime/errors.js";

const OTLP_EMPTY = { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" };

describe("bearer token", () => {
  test("a request without a token is refused 401 unauthorized with a Bearer challenge", async () => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/racks");
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer /);
    expect(await errorOf(res)).toMatchObject({
      code: "unauthorized",
      message: expect.stringMatching(/missing/),
    });
  });

  test.each([
    ["a wrong token", `Bearer ${TOKEN}x`],
    ["a prefix of the token", `Bearer ${TOKEN.slice(0, 5)}`],
    ["another scheme", `Basic ${Buffer.from(`u:${TOKEN}`).toString("base64")}`],
    ["a scheme without a token", "Bearer"],
    ["two tokens", `Bearer ${TOKEN} ${TOKEN}`],
  ])("%s is refused 401 unauthorized", async (_what, header) => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/racks", { headers: { Authorization: header } });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer /);
    expect((await errorOf(res)).code).toBe("unauthorized");
  });

  test("the right token is let through, with the scheme in any case", async () => {
    const { app } = buildTestApi();
    expect((await app.request("/api/v1/racks", authed())).status).toBe(200);
    const res = await app.request("/api/v1/racks", { headers: { Authorization: `bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
  });

  test("the token never reaches the log, even when it is wrong", async () => {
    const api = buildTestApi();
    await api.app.request("/api/v1/racks", authed());
    await api.app.request("/api/v1/racks", authed({ token: "wrong-secret-value" }));
    expect(api.logText()).not.toContain(TOKEN);
    expect(api.logText()).not.toContain("wrong-secret-value");
    expect(api.counters.get("api.unauthorized.invalid")).toBe(1);
  });

  test("the telemetry token opens the OTLP receiver and nothing else", async () => {
    const { app } = buildTestApi();
    const otlp = await app.request("/v1/metrics", authed({ ...OTLP_EMPTY, token: TELEMETRY_TOKEN }));
    expect(otlp.status).toBe(200);
    const racks = await app.request("/api/v1/racks", authed({ token: TELEMETRY_TOKEN }));
    expect(racks.status).toBe(401);
    const withApiToken = await app.request("/v1/metrics", authed(OTLP_EMPTY));
    expect(withApiToken.status).toBe(200);
  });

  test("the metrics token opens GET /metrics and nothing else; the API token opens it too", async () => {
    const { app } = buildTestApi();
    const scrape = await app.request("/metrics", authed({ token: METRICS_TOKEN }));
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get("Content-Type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await scrape.text()).toBe(FAKE_EXPOSITION);
    expect((await app.request("/metrics", authed())).status).toBe(200);
    expect((await app.request("/api/v1/racks", authed({ token: METRICS_TOKEN }))).status).toBe(401);
    expect((await app.request("/api/v1/cluster", authed({ token: METRICS_TOKEN }))).status).toBe(401);
    const otlp = await app.request("/v1/metrics", authed({ ...OTLP_EMPTY, token: METRICS_TOKEN }));
    expect(otlp.status).toBe(401);
    expect((await app.request("/metrics", authed({ token: TELEMETRY_TOKEN }))).status).toBe(401);
    const wrong = await app.request("/metrics", authed({ token: `${METRICS_TOKEN}x` }));
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).code).toBe("unauthorized");
    expect((await app.request("/metrics")).status).toBe(401);
  });

  test.each(["/health", "/api/v1/health"])("GET %s needs no token", async (path) => {
    const { app } = buildTestApi();
    const res = await app.request(path);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  test("the OpenAPI document and the docs page need no token", async () => {
    const { app } = buildTestApi();
    expect((await app.request("/api/v1/openapi.json")).status).toBe(200);
    expect((await app.request("/api/v1/docs")).status).toBe(200);
  });
});

describe("auth configuration", () => {
  test("disabled auth lets every request through and warns once at start", async () => {
    const api = buildTestApi({ auth: { token: null, disabled: true } });
    expect((await api.app.request("/api/v1/racks")).status).toBe(200);
    expect(
      (await api.app.request("/api/v1/racks", { headers: { Authorization: "Bearer junk" } })).status,
    ).toBe(200);
    expect(api.logs.filter((l) => String(l.msg).includes("authentication is disabled"))).toHaveLength(1);
  });

  test.each([null, ""])("createApi refuses to build an API with token %j and auth enabled", (token) => {
    expect(() => buildTestApi({ auth: { token, disabled: false } })).toThrow(ApiAuthMissingError);
  });
});

describe("named tokens", () => {
  const OPERATOR = FAKE_TOKENS.alice!.secret;
  const VIEWER = FAKE_TOKENS.dashboard!.secret;

  test("a named token's name is the actor; the actor header cannot change it", async () => {
    const { app, fleet } = buildTestApi();
    const res = await app.request(
      "/api/v1/racks/rack-a/adopt",
      authed({ method: "POST", token: OPERATOR, headers: { "X-Fluxrig-Actor": "mallory" } }),
    );
    expect(res.status).toBe(200);
    expect(fleet.calls[0]?.args).toEqual(["rack-a", { actor: "alice", reason: undefined }]);
  });

  test("the bootstrap token stays an admin whose actor is api, or api:<header>", async () => {
    const { app, fleet } = buildTestApi();
    await app.request(
      "/api/v1/tokens",
      authed({ method: "POST", json: { name: "grafana", role: "viewer" } }),
    );
    await app.request(
      "/api/v1/tokens/grafana",
      authed({ method: "DELETE", headers: { "X-Fluxrig-Actor": "carol" } }),
    );
    expect(fleet.calls.map((c) => c.args.at(-1))).toEqual([{ actor: "api" }, { actor: "api:carol" }]);
  });

  test("a revoked token stops working at once", async () => {
    const { app } = buildTestApi();
    expect((await app.request("/api/v1/racks", authed({ token: VIEWER }))).status).toBe(200);
    const revoked = await app.request("/api/v1/tokens/dashboard", authed({ method: "DELETE" }));
    expect(revoked.status).toBe(200);
    const after = await app.request("/api/v1/racks", authed({ token: VIEWER }));
    expect(after.status).toBe(401);
    expect((await errorOf(after)).code).toBe("unauthorized");
  });

  test("the telemetry and metrics tokens keep their reach; a viewer may scrape but not export", async () => {
    const { app } = buildTestApi();
    expect((await app.request("/metrics", authed({ token: VIEWER }))).status).toBe(200);
    const otlp = await app.request("/v1/metrics", {
      ...OTLP_EMPTY,
      headers: { ...OTLP_EMPTY.headers, Authorization: `Bearer ${VIEWER}` },
    });
    expect(otlp.status).toBe(403);
    expect((await errorOf(otlp)).message).toContain("needs the operator role");
    const telemetry = await app.request("/v1/metrics", {
      ...OTLP_EMPTY,
      headers: { ...OTLP_EMPTY.headers, Authorization: `Bearer ${TELEMETRY_TOKEN}` },
    });
    expect(telemetry.status).toBe(200);
    // The special-purpose tokens open nothing else.
    expect((await app.request("/api/v1/racks", authed({ token: TELEMETRY_TOKEN }))).status).toBe(401);
    expect((await app.request("/api/v1/racks", authed({ token: METRICS_TOKEN }))).status).toBe(401);
  });

  test("a new token's secret is in its one answer and never in the log or a later answer", async () => {
    const api = buildTestApi();
    const res = await api.app.request(
      "/api/v1/tokens",
      authed({ method: "POST", json: { name: "grafana", role: "viewer" } }),
    );
    const created = (await res.json()) as { secret: string };
    expect(created.secret).toMatch(/^frt_/);
    const list = await (await api.app.request("/api/v1/tokens", authed())).text();
    expect(list).toContain("grafana");
    expect(list).not.toContain(created.secret);
    await api.app.request("/api/v1/racks", authed({ token: created.secret }));
    expect(api.logText()).not.toContain(created.secret);
  });

  test("a bad name or an unknown role is refused 400", async () => {
    const { app } = buildTestApi();
    const bad = await app.request(
      "/api/v1/tokens",
      authed({ method: "POST", json: { name: "Bad Name", role: "viewer" } }),
    );
    expect(bad.status).toBe(400);
    const role = await app.request(
      "/api/v1/tokens",
      authed({ method: "POST", json: { name: "x", role: "root" } }),
    );
    expect(role.status).toBe(400);
  });
});
