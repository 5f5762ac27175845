// The OpenAPI document: 3.1, made of the zod schemas, and listing exactly the routes the app serves.
import { createHash } from "node:crypto";
import { Script } from "node:vm";
import { WIRE_ERROR_HTTP_STATUS } from "@fluxrig/wire";
import { describe, expect, test } from "vitest";
import { buildTestApi } from "../../test/support/test-api.js";
import { DOCS_PAGE_CSP } from "./docs-page.js";

type Doc = {
  openapi: string;
  info: { version: string };
  paths: Record<
    string,
    Record<string, { operationId: string; security: unknown[]; responses: Record<string, unknown> }>
  >;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, unknown> };
};

async function fetchDoc(): Promise<{ doc: Doc; api: ReturnType<typeof buildTestApi> }> {
  const api = buildTestApi();
  const res = await api.app.request("/api/v1/openapi.json");
  expect(res.status).toBe(200);
  return { doc: (await res.json()) as Doc, api };
}

/** Every `$ref` anywhere in a JSON value. */
function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

describe("GET /api/v1/openapi.json", () => {
  test("is OpenAPI 3.1.0 with the Mixer's version and a bearer scheme", async () => {
    const { doc } = await fetchDoc();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.version).toBe("9.9.9");
    expect(doc.components.securitySchemes).toEqual({ bearerAuth: { type: "http", scheme: "bearer" } });
  });

  test("lists exactly the method+path pairs the Hono app serves", async () => {
    const { doc, api } = await fetchDoc();
    // The console's page and files (`/`, `/console/*`, console-routes.ts) are not API operations.
    const served = api.app.routes
      .filter((r) => r.method !== "ALL" && r.path !== "/" && !r.path.startsWith("/console/"))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([a-z_]+)/g, "{$1}")}`);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m} ${path}`),
    );
    expect(new Set(documented)).toEqual(new Set(served));
    expect(documented).toHaveLength(new Set(served).size);
    for (const path of [
      "/health",
      "/api/v1/health",
      "/api/v1/racks/{ref}/adopt",
      "/v1/metrics",
      "/metrics",
      "/api/v1/docs",
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });

  test("carries the zod schemas as components, and every $ref resolves", async () => {
    const { doc } = await fetchDoc();
    for (const id of [
      "Rack",
      "RackPage",
      "Error",
      "ScenarioImportRequest",
      "ClusterInfo",
      "OtlpExportMetricsRequest",
    ]) {
      expect(doc.components.schemas[id], id).toBeDefined();
    }
    expect(doc.components.schemas.Rack).toMatchObject({
      type: "object",
      properties: { status: { enum: ["pending", "active", "offline", "rejected", "revoked"] } },
    });
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.split("/").pop()!], ref).toBeDefined();
    }
  });

  test("documents auth and error statuses per operation", async () => {
    const { doc } = await fetchDoc();
    expect(doc.paths["/health"]?.get?.security).toEqual([]);
    const show = doc.paths["/api/v1/racks/{ref}"]?.get;
    expect(show?.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(show?.responses ?? {})).toEqual(["200", "400", "401", "403", "404", "500"]);
    expect((show as { "x-fluxrig-role"?: string } | undefined)?.["x-fluxrig-role"]).toBe("viewer");
    const importOp = doc.paths["/api/v1/scenarios"]?.post;
    expect(Object.keys(importOp?.responses ?? {})).toEqual(expect.arrayContaining(["413", "415", "422"]));
    expect(WIRE_ERROR_HTTP_STATUS.schema).not.toBe(422);
  });
});

describe("GET /api/v1/docs", () => {
  test("is a self-contained HTML page under a strict CSP that loads nothing from elsewhere", async () => {
    const { api } = await fetchDoc();
    const res = await api.app.request("/api/v1/docs");
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("Content-Security-Policy")).toBe(DOCS_PAGE_CSP);
    const html = await res.text();
    expect(html).toContain('fetch("openapi.json")');
    expect(html).not.toMatch(/\b(src|href)="https?:/);
    expect(html).not.toContain("innerHTML");
    // The browser runs the inline script and style only if their exact text hashes to what the CSP names.
    for (const [tag, directive] of [
      ["script", "script-src"],
      ["style", "style-src"],
    ] as const) {
      const inline = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html)?.[1] ?? "";
      const hash = createHash("sha256").update(inline, "utf8").digest("base64");
      expect(DOCS_PAGE_CSP).toContain(`${directive} 'sha256-${hash}'`);
      // Compiled, not run: a syntax slip in the page would otherwise only show in a browser.
      if (tag === "script") expect(() => new Script(inline)).not.toThrow();
    }
  });
});
