// The browser helper catches what the console tests rely on it to catch: a request to another origin (aborted before
// it leaves), a console error, an uncaught exception, a CSP violation, a URL holding a secret; axe finds a real
// violation. Served by a throwaway node:http server on a free port, driven by the real headless Chromium.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  BrowserProblemsError,
  ChromiumMissingError,
  chromiumPath,
  runAxe,
  seriousViolations,
  TestBrowser,
} from "@fluxrig/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'";

const PAGES: Record<string, string> = {
  "/clean": `<!doctype html><html lang="en"><head><title>clean</title></head>
    <body><main><h1>Clean</h1><p>Nothing wrong here.</p></main></body></html>`,
  // A script from elsewhere, an inline script the CSP refuses, a console error and a throw from our own script.
  "/bad": `<!doctype html><html lang="en"><head><title>bad</title>
    <script src="http://203.0.113.9/tracker.js"></script>
    <script>window.inlineRan = true;</script>
    <script src="/bad.js"></script></head><body><main><h1>Bad</h1></main></body></html>`,
  // Without a CSP the browser would fetch it: the helper's route aborts it first.
  "/open": `<!doctype html><html lang="en"><head><title>open</title>
    <script src="http://203.0.113.9/tracker.js"></script></head><body><main><h1>Open</h1></main></body></html>`,
  "/bad.js": `console.error("something broke"); setTimeout(() => { throw new Error("boom"); }, 0);`,
  // A page that fetches what is not there: Chromium logs the 404 as a console error.
  "/fetch404": `<!doctype html><html lang="en"><head><title>404</title><script src="/fetch404.js"></script></head>
    <body><main><h1>Fetch</h1></main></body></html>`,
  "/fetch404.js": `fetch("/missing").then((r) => { document.title = "fetched " + r.status; });`,
  // An image without alt text and a button without a name: axe calls both out.
  "/inaccessible": `<!doctype html><html lang="en"><head><title>axe</title></head>
    <body><main><h1>Axe</h1><img src="/clean"><button></button></main></body></html>`,
};

let server: Server;
let origin: string;
let browser: TestBrowser;

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = PAGES[req.url ?? ""];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": req.url?.endsWith(".js") ? "text/javascript" : "text/html; charset=utf-8",
      ...(req.url === "/open" ? {} : { "content-security-policy": CSP }),
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await TestBrowser.launch();
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

describe("TestBrowser", () => {
  test("CHROMIUM_BIN names the browser; a missing one is a clear error", () => {
    expect(chromiumPath({ CHROMIUM_BIN: process.execPath })).toBe(process.execPath);
    expect(() => chromiumPath({ CHROMIUM_BIN: "/nonexistent/chromium" })).toThrow(ChromiumMissingError);
    expect(() => chromiumPath({ CHROMIUM_BIN: "/nonexistent/chromium" })).toThrow(/tooling\/setup\.sh/);
  });

  test("a clean page has no problems, and every request is recorded", async () => {
    await using tab = await browser.newTab({ origin });
    await tab.page.goto(`${origin}/clean#/somewhere`);
    expect(tab.problems()).toEqual([]);
    // A request carries no fragment; the URL the page shows does.
    expect(tab.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`GET ${origin}/clean`]);
    expect(tab.urlsContaining("somewhere")).toContain(`${origin}/clean#/somewhere`);
    expect(tab.urlsContaining("frt_secret")).toEqual([]);
  });

  test("a request to another origin is aborted before it leaves, and reported", async () => {
    await using tab = await browser.newTab({ origin });
    await tab.page.goto(`${origin}/open`);
    expect(tab.foreignRequests).toEqual(["GET http://203.0.113.9/tracker.js"]);
    expect(tab.problems()).toContainEqual(
      "request to another origin (aborted): GET http://203.0.113.9/tracker.js",
    );
    expect(() => tab.assertClean()).toThrow(BrowserProblemsError);
  });

  test("console errors, exceptions and CSP violations are problems", async () => {
    await using tab = await browser.newTab({ origin });
    await tab.page.goto(`${origin}/bad`);
    // The exception is thrown from a timer, after the rest: wait for it.
    await expect
      .poll(() => tab.problems().some((p) => p.startsWith("uncaught exception: Error: boom")), {
        timeout: 5_000,
      })
      .toBe(true);
    const problems = tab.problems();
    expect(problems.some((p) => p.startsWith("CSP violation: script-src"))).toBe(true);
    expect(problems.some((p) => p.startsWith("console error: something broke"))).toBe(true);
    expect(problems.some((p) => p.startsWith("uncaught exception: Error: boom"))).toBe(true);
    expect(await tab.page.evaluate("window.inlineRan === true")).toBe(false);
    expect(() => tab.assertClean()).toThrow(BrowserProblemsError);

    tab.allowConsoleError(/something broke/);
    expect(tab.problems().some((p) => p.includes("something broke"))).toBe(false);
  });

  test("allowHttpError accepts one status of one path, nothing else", async () => {
    await using tab = await browser.newTab({ origin });
    await tab.page.goto(`${origin}/fetch404`);
    await expect.poll(() => tab.page.title(), { timeout: 5_000 }).toBe("fetched 404");
    await expect
      .poll(() => tab.problems(), { timeout: 5_000 })
      .toEqual([expect.stringMatching(/^console error: Failed to load resource: .* 404 .*\/missing:/)]);
    tab.allowHttpError(404, "/other");
    tab.allowHttpError(500, "/missing");
    expect(tab.problems()).toHaveLength(1);
    tab.allowHttpError(404, "/missing");
    expect(tab.problems()).toEqual([]);
  });

  test("axe needs bypassCSP, and finds serious violations", async () => {
    await using strict = await browser.newTab({ origin });
    await strict.page.goto(`${origin}/inaccessible`);
    await expect(runAxe(strict.page)).rejects.toThrow(/bypassCSP/);

    await using tab = await browser.newTab({ origin, bypassCSP: true });
    await tab.page.goto(`${origin}/inaccessible`);
    const ids = seriousViolations(await runAxe(tab.page)).map((v) => v.id);
    expect(ids).toEqual(expect.arrayContaining(["image-alt", "button-name"]));

    await tab.page.goto(`${origin}/clean`);
    expect(seriousViolations(await runAxe(tab.page))).toEqual([]);
  });
});
