// Scenario routes: YAML as text or JSON, the dry-run and activate flags, 422 with issues, the size cap, 404 when none.
import { describe, expect, test } from "vitest";
import { FAKE_SCENARIO } from "../../test/support/fake-fleet.js";
import { authed, buildTestApi, errorOf } from "../../test/support/test-api.js";
import { MAX_SCENARIO_BYTES } from "../scenarios/scenario-spec.js";

const YAML = "meta: { name: edge-demo, version: 1 }\nracks: [{ name: rack-a }]\n";

function postYaml(body: string, type = "application/yaml", query = ""): [string, RequestInit] {
  return [`/api/v1/scenarios${query}`, authed({ method: "POST", body, headers: { "Content-Type": type } })];
}

describe("POST /api/v1/scenarios", () => {
  test.each([
    "application/yaml",
    "text/yaml",
    "text/plain",
    "application/x-yaml",
    "text/yaml; charset=utf-8",
  ])("takes the YAML as %s", async (type) => {
    const { app, fleet } = buildTestApi();
    const res = await app.request(...postYaml(YAML, type));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ dry_run: false, scenario: FAKE_SCENARIO });
    expect(fleet.calls[0]).toEqual({
      op: "scenarios.import",
      args: [YAML, { actor: "api", reason: undefined, dryRun: false, activate: false }],
    });
  });

  test("takes JSON {yaml, dry_run, activate, reason}", async () => {
    const { app, fleet } = buildTestApi();
    const body = { yaml: YAML, dry_run: true, activate: true, reason: "rollout" };
    const res = await app.request("/api/v1/scenarios", authed({ method: "POST", json: body }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ dry_run: true, activation: { adopted: ["rack-a"] } });
    expect(fleet.calls[0]?.args[1]).toEqual({
      actor: "api",
      reason: "rollout",
      dryRun: true,
      activate: true,
    });
  });

  test("takes ?dry_run=true&activate=1 with a YAML body; a JSON field wins over the query", async () => {
    const { app, fleet } = buildTestApi();
    await app.request(...postYaml(YAML, "application/yaml", "?dry_run=true&activate=1"));
    expect(fleet.calls[0]?.args[1]).toMatchObject({ dryRun: true, activate: true });
    const json = authed({ method: "POST", json: { yaml: YAML, dry_run: false } });
    await app.request("/api/v1/scenarios?dry_run=true", json);
    expect(fleet.calls[1]?.args[1]).toMatchObject({ dryRun: false, activate: false });
  });

  test("?dry_run=maybe is refused 400 malformed", async () => {
    const { app } = buildTestApi();
    const res = await app.request(...postYaml(YAML, "application/yaml", "?dry_run=maybe"));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("malformed");
  });

  test("an invalid scenario is 422 schema with the operations' issues, lines included", async () => {
    const { app, fleet } = buildTestApi();
    const issues = [
      { path: "gears.0.type", message: "expected one of ticker, transform, counter", line: 4, column: 11 },
    ];
    fleet.failNext("schema", { issues });
    const res = await app.request(...postYaml(YAML));
    expect(res.status).toBe(422);
    expect(await errorOf(res)).toEqual({
      code: "schema",
      message: "fake refusal: schema",
      details: { issues },
    });
  });

  test(`YAML over ${MAX_SCENARIO_BYTES} bytes is 413 too_large, as text or inside JSON`, async () => {
    const { app, fleet } = buildTestApi({ maxBodyBytes: 4 * MAX_SCENARIO_BYTES });
    const big = `# ${"x".repeat(MAX_SCENARIO_BYTES)}\n${YAML}`;
    const text = await app.request(...postYaml(big));
    expect(text.status).toBe(413);
    expect((await errorOf(text)).code).toBe("too_large");
    const json = await app.request("/api/v1/scenarios", authed({ method: "POST", json: { yaml: big } }));
    expect(json.status).toBe(413);
    expect(fleet.calls).toHaveLength(0);
  });

  test("a body over the route's cap is refused before it is read", async () => {
    const { app } = buildTestApi({ maxBodyBytes: 8 * MAX_SCENARIO_BYTES });
    const res = await app.request(...postYaml("x".repeat(3 * MAX_SCENARIO_BYTES)));
    expect(res.status).toBe(413);
    expect((await errorOf(res)).message).toMatch(/limit/);
  });

  test("an unsupported media type is 415 naming the accepted ones", async () => {
    const { app } = buildTestApi();
    const res = await app.request(...postYaml(YAML, "application/x-www-form-urlencoded"));
    expect(res.status).toBe(415);
    const error = await errorOf(res);
    expect(error.code).toBe("malformed");
    expect(error.message).toMatch(/application\/yaml/);
  });

  test.each([
    ["no body", { method: "POST" }, 400, "malformed"],
    ["JSON without yaml", { method: "POST", json: { dry_run: true } }, 400, "schema"],
    ["JSON with an empty yaml", { method: "POST", json: { yaml: "" } }, 400, "schema"],
  ] as const)("%s is refused %i %s", async (_what, init, status, code) => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/scenarios", authed(init));
    expect(res.status).toBe(status);
    expect((await errorOf(res)).code).toBe(code);
  });

  test("a body that is not UTF-8 is 400 malformed", async () => {
    const { app } = buildTestApi();
    const body = new Uint8Array([0x6d, 0x65, 0xff, 0xfe]);
    const res = await app.request(
      "/api/v1/scenarios",
      authed({ method: "POST", body, headers: { "Content-Type": "text/yaml" } }),
    );
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/UTF-8/);
  });
});

describe("reading and activating scenarios", () => {
  test("GET /scenarios lists them", async () => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/scenarios", authed());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: [FAKE_SCENARIO] });
  });

  test("GET /scenarios/active is 404 not_found when none is active, the scenario with its YAML otherwise", async () => {
    const { app, fleet } = buildTestApi();
    const none = await app.request("/api/v1/scenarios/active", authed());
    expect(none.status).toBe(404);
    expect((await errorOf(none)).code).toBe("not_found");
    fleet.activeScenario = { ...FAKE_SCENARIO, active: true, yaml: YAML };
    const some = await app.request("/api/v1/scenarios/active", authed());
    expect(some.status).toBe(200);
    expect(await some.json()).toMatchObject({ name: "edge-demo", active: true, yaml: YAML });
  });

  test("POST /scenarios/{name}/activate passes the name, actor and reason", async () => {
    const { app, fleet } = buildTestApi();
    const res = await app.request(
      "/api/v1/scenarios/edge-demo/activate",
      authed({ method: "POST", json: { reason: "go" }, headers: { "X-Fluxrig-Actor": "ops@site" } }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ scenario: { name: "edge-demo", active: true } });
    expect(fleet.calls[0]?.args).toEqual(["edge-demo", { actor: "api:ops@site", reason: "go" }]);
  });

  test("activating a name that is not a DNS label is 400 malformed", async () => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/scenarios/Edge_Demo/activate", authed({ method: "POST" }));
    expect(res.status).toBe(400);
  });
});
