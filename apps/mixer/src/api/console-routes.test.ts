// The console as the API serves it: the page under its strict policy, its script and style with their types and
// revalidation, a missing file 404, and a Mixer whose console was not built saying so. The console is built for
// real, by tooling/build-console.mjs, into a temporary directory.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RACK_EVENT_KINDS } from "../../console/src/format.js";
import { buildTestApi } from "../../test/support/test-api.js";
import { AuditKind } from "../registry/audit-log.js";
import type { ConsoleAssets } from "./api-deps.js";
import { CONSOLE_CSP, loadConsoleAssets } from "./console-routes.js";

let dir: string;
let assets: ConsoleAssets;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fluxrig-console-"));
  execFileSync(
    process.execPath,
    [resolve(import.meta.dirname, "../../../../tooling/build-console.mjs"), dir],
    {
      stdio: "pipe",
    },
  );
  assets = loadConsoleAssets(dir);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("GET / and /console/*", () => {
  test("/ is the console's HTML under the strict policy, no token needed", async () => {
    const { app } = buildTestApi({ console: assets });
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toBe(CONSOLE_CSP);
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "img-src 'self' data:",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ]) {
      expect(csp.split("; ")).toContain(directive);
    }
    expect(csp).not.toContain("unsafe");
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Cache-Control")).toBe("no-cache");
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/console/app.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/console/app.css">');
  });

  test("the page loads nothing from another origin and has no inline script or style", async () => {
    const { app } = buildTestApi({ console: assets });
    const html = await (await app.request("/")).text();
    // Every src/href is same-origin (a path) or the data: favicon.
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]*)"/g)) expect(url).toMatch(/^(\/|data:)/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style="/);
    const js = await (await app.request("/console/app.js")).text();
    // No absolute URL the script could fetch: the page talks to its own origin only.
    expect(js).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  test.each([
    ["/console/app.js", "text/javascript; charset=utf-8"],
    ["/console/app.css", "text/css; charset=utf-8"],
  ])("%s is served as %s with an ETag, and revalidates to a 304", async (path, type) => {
    const { app } = buildTestApi({ console: assets });
    const res = await app.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe(type);
    expect(res.headers.get("Cache-Control")).toBe("no-cache");
    const etag = res.headers.get("ETag");
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    const again = await app.request(path, { headers: { "If-None-Match": etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    const stale = await app.request(path, { headers: { "If-None-Match": '"other"' } });
    expect(stale.status).toBe(200);
  });

  test.each(["/console/missing.js", "/console/", "/console/../index.html", "/index.html"])(
    "%s is the API's 404",
    async (path) => {
      const { app } = buildTestApi({ console: assets });
      const res = await app.request(path);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    },
  );

  test("POST / is not the page", async () => {
    const { app } = buildTestApi({ console: assets });
    expect((await app.request("/", { method: "POST" })).status).toBe(404);
  });

  test("a Mixer without a built console answers / with 503 saying how to build it", async () => {
    const { app } = buildTestApi({ console: null });
    const res = await app.request("/");
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("pnpm build");
    expect((await app.request("/console/app.js")).status).toBe(404);
  });

  test("loadConsoleAssets of a directory without a console is null", () => {
    expect(loadConsoleAssets(tmpdir())).toBeNull();
  });
});

describe("GET /api/v1/racks/{ref}/stats", () => {
  test("answers the Rack's samples from the history, by name or id", async () => {
    const { RackStatsHistory } = await import("../telemetry/rack-stats-history.js");
    const { authed, NOW } = await import("../../test/support/test-api.js");
    const history = new RackStatsHistory({ windowMs: 60_000, stepMs: 10_000 });
    const { app, fleet } = buildTestApi({ statsHistory: history });
    const rack = fleet.rackRows.get("rack-b")!;
    history.record(BigInt(rack.entity_id), NOW.getTime() - 10_000, {
      cpu: { process_pct: 4 },
      mem: { rss_bytes: 5e7 },
    });
    history.record(BigInt(rack.entity_id), NOW.getTime(), {
      cpu: { process_pct: 6 },
      mem: { rss_bytes: 6e7 },
    });
    for (const ref of ["rack-b", rack.entity_id, rack.entity_id_hex]) {
      const res = await app.request(`/api/v1/racks/${ref}/stats`, authed());
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        name: string;
        window_seconds: number;
        samples: Array<{ cpu_pct: number }>;
      };
      expect(body).toMatchObject({
        name: "rack-b",
        entity_id: rack.entity_id,
        window_seconds: 60,
        step_seconds: 10,
      });
      expect(body.samples.map((s) => s.cpu_pct)).toEqual([4, 6]);
    }
    const other = await (await app.request("/api/v1/racks/rack-a/stats", authed())).json();
    expect(other).toMatchObject({ name: "rack-a", samples: [] });
    expect((await app.request("/api/v1/racks/rack-zz/stats", authed())).status).toBe(404);
  });
});

describe("the console's Rack event kinds", () => {
  test("are each a kind the registry writes (the registry's AuditKind owns them)", () => {
    const kinds = new Set<string>(Object.values(AuditKind));
    expect([...RACK_EVENT_KINDS].filter((k) => !kinds.has(k))).toEqual([]);
  });
});
