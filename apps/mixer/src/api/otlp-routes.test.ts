// The OTLP receiver over HTTP: JSON accepted and readable per Rack, protobuf and junk refused, token required.
import { gzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { fakeRack } from "../../test/support/fake-fleet.js";
import { RACK_100_ID, rackExport } from "../../test/support/otlp-fixtures.js";
import { authed, buildTestApi, errorOf, TELEMETRY_TOKEN } from "../../test/support/test-api.js";

function post(
  body: string | Uint8Array,
  headers: Record<string, string> = { "Content-Type": "application/json" },
) {
  return authed({ method: "POST", body, headers, token: TELEMETRY_TOKEN });
}

function apiWithRack() {
  const api = buildTestApi();
  api.fleet.rackRows.set("rack-nyc-01", fakeRack("rack-nyc-01", 100, "active"));
  return api;
}

describe("POST /v1/metrics", () => {
  test("accepts an OTLP JSON export with the OTLP success shape, then serves it per Rack and in the list", async () => {
    const { app } = apiWithRack();
    const res = await app.request("/v1/metrics", post(JSON.stringify(rackExport())));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});

    for (const ref of ["rack-nyc-01", RACK_100_ID, "0x0300640000000000"]) {
      const one = await app.request(`/api/v1/racks/${ref}/metrics`, authed());
      expect(one.status, ref).toBe(200);
      expect(await one.json()).toMatchObject({
        entity_id: RACK_100_ID,
        rack_name: "rack-nyc-01",
        machine_id: 100,
        received_at: "2025-06-01T12:00:00.000Z",
        truncated: false,
        metrics: [
          {
            name: "fluxrig.rack.heartbeats.sent",
            type: "sum",
            unit: "",
            points: [{ attributes: {}, value: 42 }],
          },
          {
            name: "fluxrig.rack.process.memory",
            type: "gauge",
            unit: "By",
            points: [
              { attributes: { "process.memory.type": "rss" }, value: 5.5e7 },
              { attributes: { "process.memory.type": "heap_used" }, value: 123 },
            ],
          },
          {
            name: "fluxrig.rack.gear.latency",
            type: "histogram",
            points: [
              { attributes: { "fluxrig.gear.name": "tick" }, value: { count: 3, sum: 12.5, min: 1, max: 9 } },
            ],
          },
        ],
      });
    }
    const all = (await (await app.request("/api/v1/metrics", authed())).json()) as { items: unknown[] };
    expect(all.items).toHaveLength(1);
  });

  test("a newer export replaces the Rack's previous one", async () => {
    const { app, store } = apiWithRack();
    await app.request("/v1/metrics", post(JSON.stringify(rackExport())));
    const next = rackExport();
    next.resourceMetrics![0]!.scopeMetrics![0]!.metrics = [
      { name: "only.this", gauge: { dataPoints: [{ asInt: 1 }] } },
    ];
    await app.request("/v1/metrics", post(JSON.stringify(next)));
    expect(store.get(RACK_100_ID)?.metrics.map((m) => m.name)).toEqual(["only.this"]);
  });

  test("accepts a gzip-encoded export", async () => {
    const { app, store } = apiWithRack();
    const body = gzipSync(JSON.stringify(rackExport()));
    const res = await app.request(
      "/v1/metrics",
      post(body, { "Content-Type": "application/json", "Content-Encoding": "gzip" }),
    );
    expect(res.status).toBe(200);
    expect(store.get(RACK_100_ID)).toBeDefined();
  });

  test("a resource without a Rack identity is a partial success; the others are kept", async () => {
    const { app, store } = apiWithRack();
    const body = rackExport();
    const stranger = rackExport({ entityId: "not-an-id" }).resourceMetrics![0]!;
    body.resourceMetrics!.push(stranger);
    const res = await app.request("/v1/metrics", post(JSON.stringify(body)));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      partialSuccess: {
        rejectedDataPoints: "4",
        errorMessage: expect.stringContaining("not a Rack entity id"),
      },
    });
    expect(store.size).toBe(1);
  });

  test.each([
    ["not JSON", "{resourceMetrics:", "malformed"],
    ["empty", "", "malformed"],
    ["a JSON array", "[]", "schema"],
    ["resourceMetrics as an object", '{"resourceMetrics":{}}', "schema"],
    [
      "a metric without a name",
      '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{}}]}]}]}',
      "schema",
    ],
    [
      "an asInt that is not an integer",
      JSON.stringify({
        resourceMetrics: [
          { scopeMetrics: [{ metrics: [{ name: "m", sum: { dataPoints: [{ asInt: "1.5" }] } }] }] },
        ],
      }),
      "schema",
    ],
    ["no Rack identity anywhere", JSON.stringify(rackExport({ entityId: "1" })), "schema"],
    ["nesting 10 000 deep", `${"[".repeat(10_000)}${"]".repeat(10_000)}`, "malformed"],
  ])("%s is refused 400 %s with a reason, and stores nothing", async (_what, body, code) => {
    const { app, store } = apiWithRack();
    const res = await app.request("/v1/metrics", post(body));
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(5);
    expect(store.size).toBe(0);
  });

  test("not UTF-8, and a gzip header on a plain body, are 400 malformed", async () => {
    const { app } = apiWithRack();
    expect((await app.request("/v1/metrics", post(new Uint8Array([0x7b, 0xff, 0x7d])))).status).toBe(400);
    const lying = post("{}", { "Content-Type": "application/json", "Content-Encoding": "gzip" });
    expect((await app.request("/v1/metrics", lying)).status).toBe(400);
  });

  test.each([
    ["application/x-protobuf", /protobuf/],
    ["text/plain", /application\/json/],
  ])("%s is answered 415 with a clear message", async (type, message) => {
    const { app } = apiWithRack();
    const res = await app.request(
      "/v1/metrics",
      post(new Uint8Array([0x0a, 0x00]), { "Content-Type": type }),
    );
    expect(res.status).toBe(415);
    expect((await errorOf(res)).message).toMatch(message);
  });

  test("an unknown Content-Encoding is 415", async () => {
    const { app } = apiWithRack();
    const res = await app.request(
      "/v1/metrics",
      post("{}", { "Content-Type": "application/json", "Content-Encoding": "br" }),
    );
    expect(res.status).toBe(415);
  });

  test("an export over maxBodyBytes is 413, and so is a gzip bomb", async () => {
    const { app } = buildTestApi({ maxBodyBytes: 4096 });
    const big = JSON.stringify({ resourceMetrics: [], pad: "x".repeat(8192) });
    expect((await app.request("/v1/metrics", post(big))).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(1 << 20, 0x20));
    expect(bomb.byteLength).toBeLessThan(4096);
    const res = await app.request(
      "/v1/metrics",
      post(bomb, { "Content-Type": "application/json", "Content-Encoding": "gzip" }),
    );
    expect(res.status).toBe(413);
  });

  test("needs a token", async () => {
    const { app, store } = apiWithRack();
    const res = await app.request("/v1/metrics", {
      method: "POST",
      body: JSON.stringify(rackExport()),
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(401);
    expect(store.size).toBe(0);
  });
});

describe("reading metrics", () => {
  test("a known Rack that has not exported is 404 not_found; an unknown Rack too", async () => {
    const { app } = apiWithRack();
    const silent = await app.request("/api/v1/racks/rack-nyc-01/metrics", authed());
    expect(silent.status).toBe(404);
    expect((await errorOf(silent)).message).toMatch(/no metrics/);
    expect((await app.request("/api/v1/racks/rack-nope/metrics", authed())).status).toBe(404);
  });

  test("GET /api/v1/metrics is empty before any export", async () => {
    const { app } = buildTestApi();
    expect(await (await app.request("/api/v1/metrics", authed())).json()).toEqual({ items: [] });
  });
});
