// Every route in the table, driven from its own example: it succeeds, and each code it documents maps to its status.
import { WIRE_ERROR_HTTP_STATUS } from "@fluxrig/wire";
import { describe, expect, test } from "vitest";
import { FAKE_SCENARIO, fakeRack } from "../../test/support/fake-fleet.js";
import { authed, buildTestApi, errorOf, type TestApi } from "../../test/support/test-api.js";
import type { ApiRoute } from "./route-spec.js";

const table = buildTestApi().routes;

/** The example request of a route, with the test token. */
function exampleRequest(route: ApiRoute): [string, RequestInit] {
  const params = route.example?.params ?? {};
  let path = route.path.replace(/\{([a-z_]+)\}/g, (_, name: string) =>
    encodeURIComponent(params[name] ?? ""),
  );
  const query = new URLSearchParams(route.example?.query ?? {}).toString();
  if (query !== "") path += `?${query}`;
  const body = route.example?.body;
  return [
    path,
    authed({ method: route.method.toUpperCase(), ...(body === undefined ? {} : { json: body }) }),
  ];
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

const viaOperations = table.filter((r) => r.auth === "api");

describe("the route table", () => {
  test("operation ids and method+path pairs are unique", () => {
    expect(new Set(table.map((r) => r.operationId)).size).toBe(table.length);
    expect(new Set(table.map((r) => `${r.method} ${r.path}`)).size).toBe(table.length);
  });

  test.each(viaOperations.map((r) => [r.operationId, r] as const))(
    "%s succeeds with its example",
    async (_id, route) => {
      const { app } = exampleApi();
      const res = await app.request(...exampleRequest(route));
      expect(res.status, await res.clone().text()).toBe(200);
      expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    },
  );

  const refusals = viaOperations.flatMap((route) =>
    (route.errors ?? []).map((code) => [route.operationId, code, route] as const),
  );
  test.each(refusals)("%s answers OperationError(%s) with its status and code", async (_id, code, route) => {
    const { app, fleet } = exampleApi();
    fleet.failNext(code, { hint: "kept" });
    const res = await app.request(...exampleRequest(route));
    expect(res.status).toBe(route.errorStatus?.[code] ?? WIRE_ERROR_HTTP_STATUS[code]);
    expect(await errorOf(res)).toEqual({ code, message: `fake refusal: ${code}`, details: { hint: "kept" } });
  });

  test.each(table.filter((r) => r.auth !== "none").map((r) => [r.operationId, r] as const))(
    "%s refuses a request without a token",
    async (_id, route) => {
      const { app, fleet } = exampleApi();
      const [path, init] = exampleRequest(route);
      const headers = new Headers(init.headers);
      headers.delete("Authorization");
      const res = await app.request(path, { ...init, headers });
      expect(res.status).toBe(401);
      expect(fleet.calls).toHaveLength(0);
    },
  );
});
