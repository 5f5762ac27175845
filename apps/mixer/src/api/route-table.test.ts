// Every documented operation, driven from its own examples in the OpenAPI document: it succeeds, and each code its
// operations may refuse with is answered with the status the document gives it.
import { WIRE_ERROR_HTTP_STATUS, type WireErrorCode } from "@fluxrig/wire";
import { describe, expect, test } from "vitest";
import { FAKE_SCENARIO, FAKE_TOKENS, fakeRack } from "../../test/support/fake-fleet.js";
import { authed, buildTestApi, errorOf, type TestApi } from "../../test/support/test-api.js";

interface Operation {
  method: string;
  path: string;
  operationId: string;
  summary?: string;
  tags?: string[];
  security: unknown[];
  "x-fluxrig-auth"?: string;
  "x-fluxrig-role"?: string;
  parameters?: Array<{ name: string; in: "path" | "query"; example?: string | number }>;
  requestBody?: { content: Record<string, { example?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, unknown> }>;
}

/** The codes the HTTP layer answers by itself (auth, input checks, body cap, bugs), not the operations. */
const HTTP_LAYER: ReadonlySet<string> = new Set([
  "unauthorized",
  "forbidden",
  "internal",
  "malformed",
  "too_large",
]);

async function documentedOperations(): Promise<Operation[]> {
  const res = await buildTestApi().app.request("/api/v1/openapi.json");
  const doc = (await res.json()) as {
    paths: Record<string, Record<string, Omit<Operation, "method" | "path">>>;
  };
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ ...op, method, path })),
  );
}

const operations = await documentedOperations();

/** The codes an error response lists, from its description `error.code: a, b`. */
function codesOf(response: { description: string }): WireErrorCode[] {
  const match = /^error\.code: (.+)$/.exec(response.description);
  return (match?.[1]?.split(", ") ?? []) as WireErrorCode[];
}

/** The example request of an operation, with the test token. */
function exampleRequest(op: Operation): [string, RequestInit] {
  const example = (where: string, name: string) =>
    String(op.parameters?.find((p) => p.in === where && p.name === name)?.example ?? "");
  let path = op.path.replace(/\{([a-z_]+)\}/g, (_, name: string) =>
    encodeURIComponent(example("path", name)),
  );
  const query = new URLSearchParams(
    (op.parameters ?? [])
      .filter((p) => p.in === "query" && p.example !== undefined)
      .map((p): [string, string] => [p.name, String(p.example)]),
  ).toString();
  if (query !== "") path += `?${query}`;
  const body = op.requestBody?.content["application/json"]?.example;
  return [path, authed({ method: op.method.toUpperCase(), ...(body === undefined ? {} : { json: body }) })];
}

/** An API whose fakes know every name and id the examples use. */
function exampleApi(): TestApi {
  const api = buildTestApi();
  api.fleet.rackRows.set("rack-nyc-01", fakeRack("rack-nyc-01", 100, "pending"));
  api.fleet.activeScenario = { ...FAKE_SCENARIO, active: true, yaml: "meta: {}" };
  api.store.put({
    entity_id: fakeRack("rack-nyc-01", 100).entity_id,
    rack_name: "rack-nyc-01",
    machine_id: 100,
    received_at: "2025-06-01T12:00:00.000Z",
    truncated: false,
    metrics: [],
  });
  return api;
}

/** Behind the API token, so through the operations (the OTLP receiver has its own tests). */
const viaOperations = operations.filter((op) => op.security.length > 0 && op["x-fluxrig-auth"] === undefined);

describe("the documented operations", () => {
  test("operation ids and method+path pairs are unique; each has a summary, a tag and a 200", () => {
    expect(new Set(operations.map((op) => op.operationId)).size).toBe(operations.length);
    expect(new Set(operations.map((op) => `${op.method} ${op.path}`)).size).toBe(operations.length);
    for (const op of operations) {
      expect(op.summary, op.operationId).toBeTruthy();
      expect(op.tags, op.operationId).toHaveLength(1);
      expect(op.responses["200"]?.content, op.operationId).toBeDefined();
    }
    expect(viaOperations.length).toBeGreaterThan(15);
  });

  test.each(viaOperations.map((op) => [op.operationId, op] as const))(
    "%s succeeds with its example",
    async (_id, op) => {
      const { app } = exampleApi();
      const res = await app.request(...exampleRequest(op));
      expect(res.status, await res.clone().text()).toBe(200);
      // The media type it documents: JSON everywhere but the event stream.
      const documented = Object.keys(op.responses["200"]?.content ?? {})[0] ?? "";
      expect(res.headers.get("Content-Type")?.split(";")[0]).toBe(documented);
    },
  );

  const refusals = viaOperations.flatMap((op) => {
    const byCode = new Map<WireErrorCode, number[]>();
    for (const [status, response] of Object.entries(op.responses)) {
      for (const code of codesOf(response)) byCode.set(code, [...(byCode.get(code) ?? []), Number(status)]);
    }
    return [...byCode]
      .filter(([code]) => !HTTP_LAYER.has(code))
      .map(([code, statuses]) => {
        // Where a route documents its own status for a code (422 for an invalid scenario), that one applies.
        const status =
          statuses.find((s) => s !== WIRE_ERROR_HTTP_STATUS[code]) ?? WIRE_ERROR_HTTP_STATUS[code];
        return [op.operationId, code, status, op] as const;
      });
  });

  test("the operations' codes are documented (a sample)", () => {
    const listed = new Set(refusals.map(([id, code, status]) => `${id} ${code} ${status}`));
    for (const expected of [
      "showRack not_found 404",
      "importScenario schema 422",
      "replaceRack registry_full 503",
    ]) {
      expect(listed).toContain(expected);
    }
  });

  test.each(refusals)("%s answers OperationError(%s) with status %i", async (_id, code, status, op) => {
    const { app, fleet } = exampleApi();
    fleet.failNext(code, { hint: "kept" });
    const res = await app.request(...exampleRequest(op));
    expect(res.status).toBe(status);
    expect(await errorOf(res)).toEqual({ code, message: `fake refusal: ${code}`, details: { hint: "kept" } });
  });

  test.each(operations.filter((op) => op.security.length > 0).map((op) => [op.operationId, op] as const))(
    "%s refuses a request without a token",
    async (_id, op) => {
      const { app, fleet } = exampleApi();
      const [path, init] = exampleRequest(op);
      const headers = new Headers(init.headers);
      headers.delete("Authorization");
      const res = await app.request(path, { ...init, headers });
      expect(res.status).toBe(401);
      expect(fleet.calls).toHaveLength(0);
    },
  );
});

/**
 * The least role of every operation: the one table of who may do what (docs/api.md shows it). A route added without
 * a row here fails the first test, so nobody adds a route without deciding its role.
 */
const LEAST_ROLE: Record<string, "viewer" | "operator" | "admin"> = {
  clusterInfo: "viewer",
  session: "viewer",
  listRacks: "viewer",
  showRack: "viewer",
  listConflicts: "viewer",
  listEvents: "viewer",
  streamEvents: "viewer",
  verifyEvents: "viewer",
  listScenarios: "viewer",
  showActiveScenario: "viewer",
  planScenario: "viewer",
  scenarioHistory: "viewer",
  listMetrics: "viewer",
  showRackMetrics: "viewer",
  showRackStats: "viewer",
  mixerMetrics: "viewer",
  adoptRack: "operator",
  rejectRack: "operator",
  adoptRacks: "operator",
  importScenario: "operator",
  activateScenario: "operator",
  rollbackScenario: "operator",
  exportMetrics: "operator",
  listExpectedKeys: "viewer",
  expectKey: "operator",
  forgetExpectedKey: "operator",
  listEnrollmentTokens: "operator",
  createEnrollmentToken: "operator",
  revokeEnrollmentToken: "operator",
  revokeRack: "admin",
  removeRack: "admin",
  replaceRack: "admin",
  listTokens: "admin",
  createToken: "admin",
  revokeToken: "admin",
};
const RANK = ["viewer", "operator", "admin"] as const;
const secretOf = (role: (typeof RANK)[number]) =>
  Object.values(FAKE_TOKENS).find((t) => t.role === role)?.secret ?? "";

describe("roles", () => {
  const guarded = operations.filter((op) => op.security.length > 0);

  test("every operation behind a token has its least role in the table, and the document agrees", () => {
    const documented = Object.fromEntries(guarded.map((op) => [op.operationId, op["x-fluxrig-role"]]));
    expect(documented).toEqual(LEAST_ROLE);
  });

  // Each role against each operation: at or above the least role it passes the check, below it 403 with the role
  // needed named, and the operation is never called.
  const cases = viaOperations.flatMap((op) => RANK.map((role) => [op.operationId, role, op] as const));
  test.each(cases)("%s with a %s token", async (id, role, op) => {
    const { app, fleet } = exampleApi();
    const [path, init] = exampleRequest(op);
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${secretOf(role)}`);
    const res = await app.request(path, { ...init, headers });
    const needed = LEAST_ROLE[id]!;
    if (RANK.indexOf(role) >= RANK.indexOf(needed)) {
      expect(res.status, await res.clone().text()).toBe(200);
      return;
    }
    expect(res.status).toBe(403);
    const error = await errorOf(res);
    expect(error.code).toBe("forbidden");
    expect(error.message).toContain(`needs the ${needed} role`);
    expect(error.details).toEqual({ needed_role: needed, role });
    expect(fleet.calls).toHaveLength(0);
  });
});
