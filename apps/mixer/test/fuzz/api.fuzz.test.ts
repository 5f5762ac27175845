// Hostile input on every REST endpoint of a real Mixer, sent byte for byte with node:http (fetch would clean up
// `..` and `%2e%2e`): missing and wrong tokens, hostile refs, query strings, JSON bodies, scenario YAML (broken,
// mutated, deeply nested), OTLP exports, bodies over the cap (with and without Content-Length), unknown routes and
// methods. Every answer must be a typed error (`{ error: { code, message } }`, a 4xx) or a documented 200, never a
// 5xx or a hung request; no Rack row, audit event, conflict, scenario or stored metric may change.
//
// Already covered in unit tests beside the routes (apps/mixer/src/api/*.test.ts, in-process): examples of each
// error shape, one bad ref, one oversized body per route, protobuf 415. Here the same surfaces get fast-check.
import { MixerHarness, ScriptedRack, TEST_TOKEN } from "@fluxrig/testkit";
import { WIRE_ERROR_CODE_LIST } from "@fluxrig/wire";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseDocument } from "yaml";
import { rackExport } from "../support/otlp-fixtures.js";
import { hostileString, hostileValue, mutate, NASTY_STRINGS } from "./support/arbitraries.js";
import { batched, FuzzRecord, type PropertyRecord, tally } from "./support/fuzz-record.js";
import { assertAlive, changedRows, type MixerState, runProperty, snapshot } from "./support/mixer-state.js";
import { RawHttp, type RawResponse } from "./support/raw-http.js";

const record = new FuzzRecord("api", { sample: 250 });
/** The body cap of this Mixer: small, so thousands of over-the-cap uploads stay cheap. */
const MAX_BODY = 64 * 1024;
const AUTH = { authorization: `Bearer ${TEST_TOKEN}` };
const CODES: ReadonlySet<string> = new Set(WIRE_ERROR_CODE_LIST);

let h: MixerHarness;
let http: RawHttp;
/** Every operation in the Mixer's OpenAPI document: the fuzz target list follows the API as it grows. */
let routes: Array<{ method: string; path: string; open: boolean; body: boolean }>;
let metricsBefore: unknown;

/** Percent-encodes the UTF-8 bytes of `s` that `keep` does not allow (lone surrogates become U+FFFD first). */
function pct(s: string, keep: RegExp): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && keep.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
/** What Node sends raw in a path: visible ASCII. */
const RAW = /[\x21-\x7e]/;
/** encodeURIComponent's unreserved set. */
const UNRESERVED = /[A-Za-z0-9\-_.!~*'()]/;

/** A concrete path for a route template, with every `{param}` replaced by `value` (raw: the caller encodes). */
function fill(template: string, value: string): string {
  return template.replace(/\{[a-z_]+\}/g, value);
}

/**
 * Checks one answer: a response arrived (no hang, no reset), below 500, in `allowed`, and an error is the JSON
 * shape with a code from the closed table. Tallies status and code.
 */
function expectTyped(res: RawResponse, allowed: readonly number[], rec: PropertyRecord, what: string): void {
  if (res.hung) rec.hung += 1;
  // A retried reset is counted where the report shows it, not hidden (see RawHttp.send).
  if (res.retriedAfter !== undefined) tally(rec, `retried after ${res.retriedAfter}`);
  if (res.status >= 500) rec.status_5xx += 1;
  const code = (res.body as { error?: { code?: unknown } } | null)?.error?.code;
  tally(rec, `${res.status}${typeof code === "string" ? ` ${code}` : ""}`);
  expect(res.error, `${what}: transport`).toBeUndefined();
  expect(res.status, `${what}: ${JSON.stringify(res.body)?.slice(0, 300)}`).toBeLessThan(500);
  expect(allowed, `${what}: status ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`).toContain(
    res.status,
  );
  if (res.status >= 400) {
    const err = (res.body as { error?: { code: string; message: string } } | null)?.error;
    expect(err, `${what}: a JSON error body, got ${JSON.stringify(res.body)}`).toBeDefined();
    expect(CODES.has(err!.code), `${what}: code ${err!.code}`).toBe(true);
    expect(typeof err!.message).toBe("string");
  }
}

/** Rows, events, conflicts, scenarios and stored metrics are exactly as before. */
async function expectUnchanged(before: MixerState, rec: PropertyRecord): Promise<void> {
  const after = await snapshot(h);
  const changed = changedRows(before.racks, after.racks);
  const presence = [...after.racks.values()].filter(
    (r) => JSON.stringify(before.racks.get(r.name)?.last_seen) !== JSON.stringify(r.last_seen),
  );
  rec.rows_written_from_invalid_input +=
    changed.length +
    presence.length +
    Math.max(0, after.events.length - before.events.length) +
    Math.max(0, after.scenarios.length - before.scenarios.length);
  expect(changed).toEqual([]);
  expect(presence).toEqual([]);
  expect(after.events.length).toBe(before.events.length);
  expect(after.conflicts).toEqual(before.conflicts);
  expect(after.scenarios).toEqual(before.scenarios);
  const metrics = await http.send({ method: "GET", path: "/api/v1/metrics", headers: AUTH });
  expect(metrics.body).toEqual(metricsBefore);
}

function property(rec: PropertyRecord, body: () => Promise<void>): Promise<void> {
  return runProperty(h, rec, body, (before) => expectUnchanged(before, rec));
}

const SCENARIO = `meta:
  name: fz-scn
  version: 1
racks:
  - name: fz-api-a1
gears:
  - name: tick
    type: ticker
    deploy: fz-api-a1
    config: { interval: 1s }
wires: []
`;

beforeAll(async () => {
  h = await MixerHarness.create({
    env: {
      FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: "30m",
      FLUXRIG_API_MAX_BODY_BYTES: String(MAX_BODY),
    },
  });
  http = new RawHttp("127.0.0.1", h.apiPort);
  const nc = await h.client();
  // Two active Racks and a rejected one: no pending or revoked Rack exists, so even a valid bulk adopt changes
  // nothing, and with no name conflicts a replace has nobody to hand a name to.
  const racks = ["fz-api-a1", "fz-api-a2", "fz-api-r1"].map((n) => new ScriptedRack(nc, n));
  for (const r of racks) expect((await r.hello()).status).toBe("pending");
  for (const ref of ["fz-api-a1", "fz-api-a2"]) {
    expect((await h.api(`/api/v1/racks/${ref}/adopt`, { method: "POST" })).status).toBe(200);
  }
  expect((await h.api("/api/v1/racks/fz-api-r1/reject", { method: "POST" })).status).toBe(200);
  const imported = await h.api("/api/v1/scenarios", { method: "POST", json: { yaml: SCENARIO } });
  expect(imported.status).toBe(200);
  const doc = await h.api<{
    paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown }>>;
  }>("/api/v1/openapi.json");
  expect(doc.status).toBe(200);
  routes = Object.entries(doc.body.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      open: Array.isArray(op.security) && op.security.length === 0,
      body: op.requestBody !== undefined,
    })),
  );
  expect(routes.length).toBeGreaterThanOrEqual(22);
  metricsBefore = (await http.send({ method: "GET", path: "/api/v1/metrics", headers: AUTH })).body;
}, 60_000);

afterAll(async () => {
  record.write();
  http?.close();
  await h?.[Symbol.asyncDispose]();
});

/** Header values Node will send (latin1 without controls or DEL). */
const headerText = fc.string({
  unit: fc
    .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
    .map((c) => String.fromCharCode(c)),
  maxLength: 200,
});

describe("REST API under hostile input", () => {
  test("the route table under test is the OpenAPI document's, and only health and the docs are open", () => {
    const open = routes.filter((r) => r.open).map((r) => `${r.method} ${r.path}`);
    expect(open.sort()).toEqual(
      ["GET /api/v1/docs", "GET /api/v1/health", "GET /api/v1/openapi.json", "GET /health"].sort(),
    );
    record.property("api.route_table", "GET /api/v1/openapi.json").ok = true;
  });

  record.test(
    "missing and wrong tokens on every protected endpoint: 401 unauthorized, body never read",
    { property: "api.auth", target: "every route but GET /health and the docs", perCaseMs: 10 },
    async (rec) => {
      const header = fc.oneof(
        fc.constant<string | undefined>(undefined),
        fc.constantFrom("", "Bearer", "Bearer ", "bearer", "Basic dGVzdDp0ZXN0", `Token ${TEST_TOKEN}`),
        fc.constantFrom(
          `Bearer ${TEST_TOKEN}x`,
          `Bearer x${TEST_TOKEN}`,
          `Bearer ${TEST_TOKEN.toUpperCase()}`,
        ),
        fc.constantFrom(`Bearer ${TEST_TOKEN} extra`, `Bearer ${TEST_TOKEN.slice(0, -1)}`, `${TEST_TOKEN}`),
        headerText.map((t) => `Bearer ${t}`),
        headerText,
      );
      const input = fc
        .record({
          route: fc.integer({ min: 0, max: 1000 }),
          header,
          withBody: fc.boolean(),
          // Mostly small; sometimes past the cap, which must not matter (the body is never read).
          size: fc.oneof(
            { weight: 9, arbitrary: fc.nat(4096) },
            { weight: 1, arbitrary: fc.integer({ min: MAX_BODY, max: 2 * MAX_BODY }) },
          ),
        })
        // A header the API must accept (the bearer regex allows extra spaces and any case of "Bearer").
        .filter((i) => /^Bearer +(\S+) *$/i.exec(i.header ?? "")?.[1] !== TEST_TOKEN);
      await property(rec, () =>
        batched(rec, input, record.runs, async (i) => {
          const protectedRoutes = routes.filter((r) => !r.open);
          const route = protectedRoutes[i.route % protectedRoutes.length]!;
          const headers: Record<string, string> = { "content-type": "application/json" };
          if (i.header !== undefined) headers.authorization = i.header;
          rec.cases += 1;
          const res = await http.send({
            method: route.method,
            path: fill(route.path, "fz-api-a1"),
            headers,
            ...(i.withBody && route.method !== "GET" ? { body: "x".repeat(i.size) } : {}),
          });
          expectTyped(res, [401], rec, `${route.method} ${route.path} with ${JSON.stringify(i.header)}`);
          expect((res.body as { error: { code: string } }).error.code).toBe("unauthorized");
          expect(res.headers["www-authenticate"]).toBe('Bearer realm="fluxrig"');
        }),
      );
    },
  );

  record.test(
    "hostile refs (traversal, encoded, SQL, wildcards, unicode, ids out of range, node ids) on every {ref} route",
    { property: "api.refs", target: "every route with {ref} or {name}", perCaseMs: 10 },
    async (rec) => {
      const id = fc.oneof(
        fc.bigInt({ min: 0n, max: 2n ** 70n }).map((n) => n.toString()),
        fc.bigInt({ min: 0n, max: 2n ** 68n }).map((n) => `0x${n.toString(16)}`),
        // The Mixer's and the Snake Tunnel's own rows (types 2 and 8) and Racks with unallocated MachineIDs.
        fc
          .tuple(
            fc.constantFrom(0n, 1n, 2n, 3n, 8n, 9n, 255n),
            fc.integer({ min: 0, max: 65_535 }),
            fc.bigInt({ min: 0n, max: 3n }),
          )
          .map(
            ([t, m, seq]) =>
              `0x${((t << 56n) | (BigInt(m >= 1 && m <= 64 && t === 3n ? m + 1000 : m) << 40n) | seq).toString(16).padStart(16, "0")}`,
          ),
      );
      const ref = fc.oneof(
        hostileString,
        id,
        fc.stringMatching(/^[a-z0-9-]{1,80}$/).filter((s) => !s.startsWith("fz-")),
      );
      const encode = fc.constantFrom("raw", "component", "double", "dots");
      const input = fc.record({ route: fc.integer({ min: 0, max: 1000 }), ref, encode, body: fc.boolean() });
      await property(rec, () =>
        batched(rec, input, record.runs, async (i) => {
          const withRef = routes.filter((r) => /\{(ref|name)\}/.test(r.path));
          const route = withRef[i.route % withRef.length]!;
          const text =
            i.encode === "raw"
              ? pct(i.ref, RAW)
              : i.encode === "component"
                ? pct(i.ref, UNRESERVED)
                : i.encode === "double"
                  ? pct(pct(i.ref, UNRESERVED), UNRESERVED)
                  : pct(i.ref.replace(/\./g, "%2e").replace(/\//g, "%2f"), RAW);
          rec.cases += 1;
          const res = await http.send({
            method: route.method,
            path: fill(route.path, text),
            headers: { ...AUTH, "content-type": "application/json" },
            ...(i.body && route.body ? { body: JSON.stringify({ reason: "fuzz" }) } : {}),
          });
          // A GET may land on another read route (e.g. a ref with `?` becomes a query); a write never succeeds.
          // 431: a URL over Node's header limit (refs up to 10,000 characters, percent-encoded twice).
          const allowed = route.method === "GET" ? [200, 400, 404, 431] : [400, 404, 405, 431];
          expectTyped(res, allowed, rec, `${route.method} ${fill(route.path, text)}`);
        }),
      );
    },
  );

  record.test(
    "hostile query strings on every GET route: 200 or 400 malformed, never 5xx",
    { property: "api.query", target: "every GET route", perCaseMs: 10 },
    async (rec) => {
      const key = fc.oneof(
        fc.constantFrom("status", "prefix", "limit", "after", "rack", "since", "name", "dry_run", "activate"),
        hostileString,
      );
      const value = fc.oneof(
        hostileString,
        fc.constantFrom(
          "active",
          "pending",
          "0",
          "1",
          "1000",
          "1001",
          "-1",
          "1e3",
          "0x10",
          "2025-13-45T99:99:99Z",
        ),
        fc.constantFrom(
          "2025-01-01T00:00:00Z",
          "9999-12-31T23:59:59+14:00",
          "0000-01-01T00:00:00Z",
          "fz-api-a1",
        ),
        fc.integer().map(String),
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      );
      const input = fc.record({
        route: fc.integer({ min: 0, max: 1000 }),
        params: fc.array(fc.tuple(key, value, fc.boolean()), { maxLength: 5 }),
      });
      await property(rec, () =>
        batched(rec, input, record.runs, async (i) => {
          const gets = routes.filter((r) => r.method === "GET");
          const route = gets[i.route % gets.length]!;
          const qs = i.params
            .map(([k, v, raw]) =>
              raw
                ? `${pct(k, /[\x21-\x22\x24-\x7e]/)}=${pct(v, /[\x21-\x22\x24-\x7e]/)}`
                : `${pct(k, UNRESERVED)}=${pct(v, UNRESERVED)}`,
            )
            .join("&");
          rec.cases += 1;
          const res = await http.send({
            method: "GET",
            path: `${fill(route.path, "fz-api-a1")}?${qs}`,
            headers: AUTH,
          });
          expectTyped(res, [200, 400, 404, 431], rec, `GET ${route.path}?${qs}`);
        }),
      );
    },
  );

  record.test(
    "hostile JSON bodies (wrong types, huge strings, deep nesting, invalid UTF-8, wrong media types) on every body route",
    { property: "api.json_bodies", target: "every POST/DELETE route with a body", perCaseMs: 10 },
    async (rec) => {
      const deep = fc
        .tuple(fc.integer({ min: 10, max: 30_000 }), fc.constantFrom("[", "{"))
        .map(([d, o]) =>
          o === "[" ? `${"[".repeat(d)}${"]".repeat(d)}` : `${'{"a":'.repeat(d)}1${"}".repeat(d)}`,
        );
      const otlp = fc
        .record({
          path: fc.constantFrom(
            ["resourceMetrics"],
            ["resourceMetrics", "0"],
            ["resourceMetrics", "0", "resource"],
            ["resourceMetrics", "0", "scopeMetrics"],
            ["resourceMetrics", "0", "resource", "attributes"],
            ["extra"],
          ),
          value: hostileValue,
          del: fc.boolean(),
        })
        // An export naming the Mixer's own id (type 2): never a Rack, so no mutation makes it storable.
        .map((m) =>
          JSON.stringify(mutate(rackExport({ entityId: "144116287587483648" }), { ...m, path: [...m.path] })),
        );
      const body = fc.oneof(
        fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
        fc
          .dictionary(
            fc.oneof(
              fc.constantFrom(
                "reason",
                "refs",
                "pattern",
                "dry_run",
                "yaml",
                "activate",
                "public_key",
                "keep_machine_id",
                "__proto__",
              ),
              hostileString,
            ),
            hostileValue,
            { maxKeys: 5 },
          )
          .map((o) => JSON.stringify(o)),
        fc.constantFrom(
          `{"reason":"${"r".repeat(5000)}"}`,
          '{"refs":[]}',
          '{"refs":["*"],"pattern":"*"}',
          '{"pattern":"*","dry_run":false}',
          '{"pattern":"fz-*"}',
          '{"__proto__":{"admin":true}}',
          '{"yaml":""}',
          '{"yaml":"meta: {name: x}","dry_run":"yes"}',
          "{not json",
          "null",
          "[]",
          '"string"',
        ),
        deep,
        otlp,
        fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("latin1")),
      );
      const contentType = fc.constantFrom(
        "application/json",
        "application/json; charset=utf-8",
        "application/merge-patch+json",
        "text/plain",
        "application/yaml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/x-protobuf",
        "",
      );
      const input = fc.record({
        route: fc.integer({ min: 0, max: 1000 }),
        body,
        contentType,
        invalidUtf8: fc.boolean(),
        actor: fc.option(headerText, { nil: undefined }),
        ref: fc.constantFrom("fz-nobody", "fz-api-a1", "fz-api-r1", "0x0300ffff00000000"),
      });
      await property(rec, () =>
        batched(rec, input, record.runs, async (i) => {
          const withBody = routes.filter((r) => r.body);
          const route = withBody[i.route % withBody.length]!;
          // Real Racks only behind routes where no body can do harm (bulk adopt has nobody to adopt, replace has
          // no claimant, the scenario import runs dry); single-Rack changes go to a Rack that does not exist.
          const single = /\{ref\}/.test(route.path);
          const ref = single ? "fz-nobody" : i.ref;
          let path = fill(route.path, ref);
          if (route.path === "/api/v1/scenarios") path += "?dry_run=true";
          let data: Buffer = Buffer.from(i.body, "utf8");
          if (i.invalidUtf8) data = Buffer.concat([data, Buffer.from([0xff, 0xfe, 0xc3])]);
          const headers: Record<string, string> = { ...AUTH };
          if (i.contentType !== "") headers["content-type"] = i.contentType;
          if (i.actor !== undefined) headers["x-fluxrig-actor"] = i.actor;
          rec.cases += 1;
          const res = await http.send({ method: route.method, path, headers, body: data });
          // 200: a bulk adopt that found nothing to adopt, a dry-run import of a valid scenario, an OTLP partial.
          const allowed = [200, 400, 404, 409, 413, 415, 422];
          expectTyped(res, allowed, rec, `${route.method} ${path} ${i.contentType} ${i.body.slice(0, 120)}`);
          if (res.status === 200 && route.path === "/api/v1/racks/adopt") {
            expect((res.body as { adopted: unknown[] }).adopted).toEqual([]);
          }
          if (res.status === 200 && route.path === "/api/v1/scenarios") {
            expect((res.body as { dry_run: boolean }).dry_run).toBe(true);
          }
        }),
      );
    },
  );

  record.test(
    "scenario YAML: broken, mutated or deeply nested documents get 400/422 with line numbers, never a crash",
    { property: "api.scenario_yaml", target: "POST /api/v1/scenarios", perCaseMs: 20 },
    async (rec) => {
      const lines = SCENARIO.split("\n");
      const mutated = fc
        .record({
          line: fc.integer({ min: 0, max: lines.length - 1 }),
          how: fc.constantFrom("replace", "insert", "tab", "delete_char", "duplicate_key", "unbalance"),
          text: fc.oneof(
            hostileString,
            fc.constantFrom(...NASTY_STRINGS),
            fc.constantFrom(
              "&a [*a, *a]",
              "*b",
              "!!js/function x",
              "? [a]: b",
              "--- !!binary x",
              "%YAML 9.9",
            ),
          ),
          at: fc.nat(),
        })
        .map(({ line, how, text, at }) => {
          const copy = [...lines];
          const l = copy[line] ?? "";
          if (how === "replace") copy[line] = text;
          else if (how === "insert") copy.splice(line, 0, text);
          else if (how === "tab") copy[line] = `\t${l}`;
          else if (how === "delete_char")
            copy[line] = l.slice(0, at % (l.length + 1)) + l.slice((at % (l.length + 1)) + 1);
          else if (how === "duplicate_key") copy.splice(1, 0, "meta: {name: dup, version: 1}");
          else copy[line] = `${l} [`;
          const yaml = copy.join("\n");
          // The yaml library itself says whether this is a syntax error (only for these small, shallow texts).
          return { yaml, broken: parseDocument(yaml, { uniqueKeys: true }).errors.length > 0 };
        });
      const deep = fc
        .tuple(
          fc.integer({ min: 64, max: 20_000 }),
          fc.constantFrom("flow_seq", "flow_map", "block_seq", "mixed"),
        )
        .map(([n, kind]) => {
          const at = "    config: { interval: 1s }";
          const deepConfig =
            kind === "flow_seq"
              ? `    config: { x: ${"[".repeat(n)}${"]".repeat(n)} }`
              : kind === "flow_map"
                ? `    config: { x: ${"{a: ".repeat(n)}1${"}".repeat(n)} }`
                : kind === "block_seq"
                  ? `    config:\n      x:\n        ${"- ".repeat(n)}x`
                  : `    config: { x: ${"[{a: ".repeat(n >> 1)}1${"}]".repeat(n >> 1)} }`;
          return { yaml: SCENARIO.replace(at, deepConfig), broken: false };
        });
      const junk = fc.string({ maxLength: 400 }).map((yaml) => ({ yaml: `${yaml}\n:`, broken: false }));
      const input = fc.record({
        doc: fc.oneof(
          { weight: 4, arbitrary: mutated },
          { weight: 2, arbitrary: deep },
          { weight: 1, arbitrary: junk },
        ),
        asJson: fc.boolean(),
      });
      await property(rec, () =>
        batched(
          rec,
          input,
          record.runs,
          async ({ doc, asJson }) => {
            rec.cases += 1;
            const res = await http.send({
              method: "POST",
              path: "/api/v1/scenarios?dry_run=true",
              headers: { ...AUTH, "content-type": asJson ? "application/json" : "application/yaml" },
              body: asJson ? JSON.stringify({ yaml: doc.yaml, dry_run: true }) : doc.yaml,
            });
            // 409: a mutation that still parses, under the stored scenario's name and version (a stored version is
            // never changed, and a dry run says so too).
            expectTyped(
              res,
              [200, 400, 409, 413, 422],
              rec,
              `import of ${JSON.stringify(doc.yaml.slice(0, 200))}`,
            );
            if (res.status === 409)
              expect((res.body as { error: { code: string } }).error.code).toBe("conflict");
            if (res.status === 200) expect((res.body as { dry_run: boolean }).dry_run).toBe(true);
            if (doc.broken && res.status !== 413) {
              // A syntax error names its line.
              expect(res.status).toBeGreaterThanOrEqual(400);
              const issues = (res.body as { error: { details?: { issues?: Array<{ line?: number }> } } })
                .error.details?.issues;
              expect(issues?.some((x) => typeof x.line === "number" && x.line >= 1)).toBe(true);
            }
          },
          8,
        ),
      );
    },
  );

  record.test(
    "bodies over the cap, with and without Content-Length, on every body route: 413 too_large",
    { property: "api.huge_bodies", target: "every route with a body", perCaseMs: 15 },
    async (rec) => {
      const input = fc.record({
        route: fc.integer({ min: 0, max: 1000 }),
        size: fc.integer({ min: MAX_BODY + 1, max: MAX_BODY + 32 * 1024 }),
        chunked: fc.boolean(),
        fill: fc.constantFrom("json", "yaml", "zero"),
      });
      await property(rec, () =>
        batched(rec, input, record.runs, async (i) => {
          const withBody = routes.filter((r) => r.body);
          const route = withBody[i.route % withBody.length]!;
          const body =
            i.fill === "json"
              ? `{"reason":"${"r".repeat(i.size)}"}`
              : i.fill === "yaml"
                ? `meta: {name: x}\n# ${"y".repeat(i.size)}`
                : Buffer.alloc(i.size);
          rec.cases += 1;
          const res = await http.send({
            method: route.method,
            path: fill(route.path, "fz-nobody"),
            headers: { ...AUTH, "content-type": i.fill === "yaml" ? "application/yaml" : "application/json" },
            body,
            chunked: i.chunked,
          });
          expectTyped(
            res,
            [413],
            rec,
            `${route.method} ${route.path} ${i.size} bytes${i.chunked ? " chunked" : ""}`,
          );
          expect((res.body as { error: { code: string } }).error.code).toBe("too_large");
        }),
      );
    },
  );

  record.test(
    "unknown routes and methods answer the JSON error shape, never 5xx",
    { property: "api.unknown_routes", target: "any method, any path", perCaseMs: 10 },
    async (rec) => {
      const input = fc.record({
        method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
        path: fc.oneof(
          fc
            .array(
              hostileString.map((x) => pct(x, UNRESERVED)),
              { minLength: 1, maxLength: 5 },
            )
            .map((p) => `/api/v1/${p.join("/")}`),
          fc.constantFrom(
            "/",
            "/api",
            "/api/v1",
            "/api/v2/racks",
            "/v1/traces",
            "/v1/logs",
            "/api/v1/racks/fz-api-a1/metrics/x",
            "//",
            "/api/v1//racks",
          ),
          fc.constantFrom(
            "/api/v1/racks/../cluster",
            "/api/v1/racks/%2e%2e/cluster",
            "/api/v1/racks/..%2fcluster",
            "/./health",
            "/health/..",
          ),
        ),
      });
      await property(rec, () =>
        batched(rec, input, record.runs, async (i) => {
          rec.cases += 1;
          const res = await http.send({ method: i.method, path: i.path, headers: AUTH });
          const known = routes.some(
            (r) =>
              r.method === i.method &&
              new RegExp(`^${r.path.replace(/\{[a-z_]+\}/g, "[^/]+")}$`).test(i.path),
          );
          // 431: a URL over Node's header limit. A GET may land on a real read route; writes need a real Rack.
          const allowed = known || i.method === "GET" ? [200, 400, 404, 405, 431] : [400, 404, 405, 431];
          expectTyped(res, allowed, rec, `${i.method} ${i.path}`);
        }),
      );
    },
  );

  test("after everything: health, a real read and a real write still work", async () => {
    const rec = record.property("api.still_serving", "GET /health, GET /api/v1/racks, POST reject");
    await assertAlive(h);
    const list = await http.send({ method: "GET", path: "/api/v1/racks", headers: AUTH });
    expect(list.status).toBe(200);
    expect((list.body as { items: unknown[] }).items).toHaveLength(3);
    const again = await http.send({ method: "POST", path: "/api/v1/racks/fz-api-r1/reject", headers: AUTH });
    expect(again.status).toBe(200);
    rec.cases = 3;
    rec.ok = true;
  });
});
