// The console's pages in headless Chromium against the real Mixer, a real nats-server and real fluxrig-rack
// processes: a scenario checked, planned, then activated (and rolled back); the fleet's filter and search; a Rack's
// page; the audit log following live with its chain verified; axe-core on every main page; the layout at phone
// width; and, with FLUXRIG_SCREENSHOTS=1, the pictures of docs/console/:
//   FLUXRIG_SCREENSHOTS=1 pnpm exec vitest run --project integration apps/mixer/test/console/console-pages.int.test.ts
import { createHash, randomBytes } from "node:crypto";
import {
  MixerHarness,
  runAxe,
  ScriptedRack,
  seriousViolations,
  TEST_TOKEN,
  TestBrowser,
} from "@fluxrig/testkit";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  apiStatus,
  chartPoints,
  consoleMixerEnv,
  createToken,
  documentLoads,
  HEARTBEAT_MS,
  LAPTOP,
  openTab,
  PHONE,
  pageText,
  rackRow,
  route,
  SCREENSHOTS,
  screenshot,
  shownText,
  signIn,
  spawnRack,
  UI_TIMEOUT_MS,
  visible,
  waitForApiStatus,
  waitForRowStatus,
} from "./support/console-session.js";

const SCENARIO = "console-demo";

/** A ticker wired to a counter on one Rack; `interval` changes the ticker's config between versions. */
function scenarioYaml(version: number, interval: string, tickType = "ticker"): string {
  return [
    "meta:",
    `  name: ${SCENARIO}`,
    `  version: ${version}`,
    "racks:",
    "  - name: rack-north-01",
    "gears:",
    "  - name: tick",
    `    type: ${tickType}`,
    "    deploy: rack-north-01",
    "    config:",
    `      interval: ${interval}`,
    "  - name: count",
    "    type: counter",
    "    deploy: rack-north-01",
    "    config:",
    "      every: 1000",
    "wires:",
    "  - from: tick.out",
    "    to: count.in",
    "",
  ].join("\n");
}

let h: MixerHarness;
let browser: TestBrowser;
let operator: string;
const north = ["rack-north-01", "rack-north-02"];
let heartbeats: ReturnType<typeof setInterval> | undefined;

beforeAll(async () => {
  [h, browser] = await Promise.all([MixerHarness.create({ env: consoleMixerEnv() }), TestBrowser.launch()]);
  operator = await createToken(h, "alice", "operator");
  const procs = north.map((name) => spawnRack(h, name));
  // Pending Racks with their evidence, for the pending page (scripted: they need no process).
  const nc = await h.client();
  const south = ["rack-south-01", "rack-south-02", "rack-south-03"].map((name) =>
    new ScriptedRack(nc, name).listen(),
  );
  for (const rack of south) {
    const reply = await rack.hello();
    if (reply.status !== "pending") throw new Error(`${rack.name}: ${reply.status}`);
  }
  // They heartbeat like waiting Racks do, so the pending page does not call them stale.
  heartbeats = setInterval(() => {
    for (const rack of south) {
      try {
        rack.heartbeat({ status: "pending" });
      } catch {
        // The connection is closing with the file; nothing to send on.
      }
    }
  }, HEARTBEAT_MS);
  // Evidence worth a look: rack-south-02's name expects another key, and an enrollment token covers rack-south-*.
  const otherKey = `SHA256:${createHash("sha256").update(randomBytes(32)).digest("base64").replace(/=+$/, "")}`;
  const expectKey = await h.api("/api/v1/expected-keys/rack-south-02", {
    method: "POST",
    json: { key: otherKey, reason: "shipped with another disk" },
  });
  expect(expectKey.status, JSON.stringify(expectKey.body)).toBe(200);
  const enrollToken = await h.api("/api/v1/enrollment-tokens", {
    method: "POST",
    json: { pattern: "rack-south-*", uses: 10, expires_in_seconds: 86_400 },
  });
  expect(enrollToken.status, JSON.stringify(enrollToken.body)).toBe(200);
  await waitForApiStatus(h, north, "pending");
  // rack-north-02 is adopted by hand; rack-north-01 waits for the scenario.
  expect((await h.api("/api/v1/racks/rack-north-02/adopt", { method: "POST" })).status).toBe(200);
  await procs[1]!.waitForJson({ msg: "passport: stored state.flux" }, { timeoutMs: 15_000 });
});

afterAll(async () => {
  clearInterval(heartbeats);
  await browser?.close();
  await h?.[Symbol.asyncDispose]();
});

describe("console: scenarios", () => {
  test("errors at their lines, a plan before anything changes, then activate; a second version rolls back", async () => {
    const tab = await openTab(browser, h);
    const { page } = tab;
    // Invalid YAML is answered 422 by the API on purpose.
    tab.allowHttpError(422, "/api/v1/scenarios/plan");
    await signIn(tab, operator);
    await route(page, "#/scenarios");
    const yaml = page.getByLabel("Scenario YAML");
    await visible(yaml);

    // Errors at the lines the server gives.
    const invalid = scenarioYaml(1, "200ms", "tickr");
    const answer = await h.api<{ error: { details: { issues: Array<{ line: number }> } } }>(
      "/api/v1/scenarios/plan",
      { method: "POST", body: invalid, headers: { "content-type": "application/yaml" } },
    );
    expect(answer.status).toBe(422);
    const line = answer.body.error.details.issues[0]!.line;
    await yaml.fill(invalid);
    await page.getByRole("button", { name: "Check" }).click();
    await expect
      .poll(() => pageText(page), { timeout: UI_TIMEOUT_MS })
      .toMatch(new RegExp(`line ${line}: .*tickr`));

    // The plan says what would change; nothing is stored or activated yet.
    expect(await pageText(page)).not.toContain("rack-north-01");
    await yaml.fill(scenarioYaml(1, "200ms"));
    await page.getByRole("button", { name: "Check" }).click();
    await expect.poll(() => pageText(page), { timeout: UI_TIMEOUT_MS }).not.toMatch(/line \d+: .*tickr/);
    await page.getByRole("button", { name: "Plan" }).click();
    await expect.poll(() => pageText(page), { timeout: UI_TIMEOUT_MS }).toContain("rack-north-01");
    const plan = await pageText(page);
    expect(plan).toMatch(/adopt/i);
    expect(plan).toContain("tick");
    expect(plan).toContain("count");
    expect((await h.api("/api/v1/scenarios/active")).status).toBe(404);
    expect(await apiStatus(h, "rack-north-01")).toBe("pending");

    // Activate, confirmed: the Rack is adopted and runs the gears.
    await page.getByRole("button", { name: "Activate" }).click();
    let dialog = await visible(page.getByRole("dialog"));
    expect(await shownText(dialog)).toContain(SCENARIO);
    await dialog.getByRole("button", { name: /^Activate/ }).click();
    await visible(page.getByRole("status").filter({ hasText: SCENARIO }));
    const active = await h.api<{ name: string; version: string }>("/api/v1/scenarios/active");
    expect(active.body).toMatchObject({ name: SCENARIO, version: "1" });
    await waitForApiStatus(h, ["rack-north-01"], "active");

    // Version 2 changes the ticker: the plan says it restarts; then roll back to version 1 from the history.
    await yaml.fill(scenarioYaml(2, "300ms"));
    await page.getByRole("button", { name: "Plan" }).click();
    await expect.poll(() => pageText(page), { timeout: UI_TIMEOUT_MS }).toMatch(/restart/i);
    await page.getByRole("button", { name: "Activate" }).click();
    dialog = await visible(page.getByRole("dialog"));
    await dialog.getByRole("button", { name: /^Activate/ }).click();
    await expect
      .poll(async () => (await h.api<{ version: string }>("/api/v1/scenarios/active")).body.version, {
        timeout: UI_TIMEOUT_MS,
      })
      .toBe("2");
    const rollBack = page.getByRole("button", { name: /^Roll back/ });
    await visible(rollBack);
    await rollBack.first().click();
    dialog = await visible(page.getByRole("dialog"));
    await dialog.getByRole("button", { name: /^Roll back/ }).click();
    await expect
      .poll(async () => (await h.api<{ version: string }>("/api/v1/scenarios/active")).body.version, {
        timeout: UI_TIMEOUT_MS,
      })
      .toBe("1");
    expect(documentLoads(tab)).toBe(1);
  });
});

describe("console: fleet and a Rack's page", () => {
  test("the fleet filters by status and searches by name, with the count of what matches", async () => {
    const tab = await openTab(browser, h);
    const { page } = tab;
    await signIn(tab, operator);
    await route(page, "#/fleet");
    const total = (await h.api<{ items: unknown[] }>("/api/v1/racks?limit=1000")).body.items.length;
    await expect.poll(() => pageText(page), { timeout: UI_TIMEOUT_MS }).toContain(`${total} Racks`);

    await page.getByLabel("Status").selectOption("pending");
    await expect.poll(() => pageText(page), { timeout: UI_TIMEOUT_MS }).toMatch(/\b3 Racks\b/);
    await visible(rackRow(page, "rack-south-01"));
    expect(await rackRow(page, "rack-north-02").count()).toBe(0);

    await page.getByLabel("Status").selectOption({ index: 0 });
    await page.getByLabel("Search").fill("north");
    await expect.poll(() => pageText(page), { timeout: UI_TIMEOUT_MS }).toMatch(/\b2 Racks\b/);
    await waitForRowStatus(page, "rack-north-02", "active");
    expect(await rackRow(page, "rack-south-01").count()).toBe(0);

    // A row leads to the Rack's page.
    await rackRow(page, "rack-north-02").getByRole("link").first().click();
    await visible(page.getByRole("heading", { level: 1, name: "rack-north-02" }));
    expect(new URL(page.url()).hash).toBe("#/racks/rack-north-02");
  });

  test("a Rack's page shows identity, passport, a stats chart and gears; an admin revokes it, confirmed", async () => {
    const tab = await openTab(browser, h);
    const { page } = tab;
    await signIn(tab, TEST_TOKEN);
    const rack = await h.api<{ entity_id: string; machine_id: number; passport: { serial: number } }>(
      "/api/v1/racks/rack-north-01",
    );
    await route(page, "#/racks/rack-north-01");
    await visible(page.getByRole("heading", { level: 1, name: "rack-north-01" }));
    await expect.poll(() => pageText(page), { timeout: UI_TIMEOUT_MS }).toContain(rack.body.entity_id);
    const text = await pageText(page);
    expect(text).toContain(String(rack.body.machine_id));
    expect(text).toMatch(/SHA256:/);
    expect(text).toContain(String(rack.body.passport.serial));
    await visible(page.locator('svg[role="img"][aria-label]'));
    // The chart draws the Rack's stats as the page reads them (every 2 s at most).
    await expect.poll(() => chartPoints(page), { timeout: UI_TIMEOUT_MS }).toBeGreaterThanOrEqual(2);
    // The scenario's gears, as the Rack reports them.
    await expect
      .poll(() => page.getByRole("table").allInnerTexts(), { timeout: UI_TIMEOUT_MS })
      .toEqual(expect.arrayContaining([expect.stringMatching(/tick[\s\S]*count|count[\s\S]*tick/)]));
    for (const action of ["Revoke", "Replace", "Remove"]) {
      await visible(page.getByRole("button", { name: new RegExp(`^${action}`) }));
    }

    // Revoke rack-north-02 from its page.
    await route(page, "#/racks/rack-north-02");
    await visible(page.getByRole("heading", { level: 1, name: "rack-north-02" }));
    await page.getByRole("button", { name: /^Revoke/ }).click();
    const dialog = await visible(page.getByRole("dialog"));
    expect(await shownText(dialog)).toContain("rack-north-02");
    await dialog.getByRole("button", { name: /^Revoke/ }).click();
    await visible(page.getByRole("status").filter({ hasText: "rack-north-02" }));
    await waitForApiStatus(h, ["rack-north-02"], "revoked");
    await expect.poll(() => pageText(page), { timeout: UI_TIMEOUT_MS }).toMatch(/revoked/i);
  });
});

describe("console: events", () => {
  test("the audit log, newest first, with its chain verified, follows live", async () => {
    const tab = await openTab(browser, h);
    const { page } = tab;
    await signIn(tab, operator);
    await route(page, "#/events");
    await visible(page.getByText("Chain verified"));
    const seqs = async (): Promise<number[]> =>
      (
        await page.evaluate<string[]>(
          '[...document.querySelectorAll("[data-event-seq]")].map((row) => row.dataset.eventSeq)',
        )
      ).map(Number);
    await expect.poll(async () => (await seqs()).length, { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(3);
    const before = await seqs();
    expect(before).toEqual([...before].sort((a, b) => b - a));

    // An adoption through the API appears at the top without a reload.
    expect((await h.api("/api/v1/racks/rack-south-03/reject", { method: "POST" })).status).toBe(200);
    await expect.poll(async () => (await seqs())[0], { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(before[0]!);
    await visible(
      page.locator(`[data-event-seq="${(await seqs())[0]}"]`).filter({ hasText: "rack-south-03" }),
    );
    expect(documentLoads(tab)).toBe(1);
  });
});

describe("console: events that are not about a Rack", () => {
  test("a scenario's or a Mixer node's event does not link to a Rack page", async () => {
    const tab = await openTab(browser, h);
    const { page } = tab;
    await signIn(tab, operator);
    await route(page, "#/events");
    await visible(page.getByText("Chain verified"));
    const audit = await h.api<{ items: Array<{ seq: number; kind: string; name: string | null }> }>(
      "/api/v1/events?limit=1000",
    );
    const notRacks = audit.body.items.filter((e) => /^(scenario|node)_/.test(e.kind) && e.name !== null);
    expect(notRacks.length).toBeGreaterThan(0);
    const linked: string[] = [];
    for (const event of notRacks) {
      const row = page.locator(`[data-event-seq="${event.seq}"]`);
      await visible(row);
      if ((await row.locator(`a[href="#/racks/${event.name}"]`).count()) > 0)
        linked.push(`#${event.seq} ${event.kind} links ${event.name} as a Rack`);
    }
    expect(linked).toEqual([]);
  });
});

/** The main pages, each with what shows it is drawn. */
const PAGES: Array<{ name: string; hash: string; ready: (page: Page) => Promise<unknown> }> = [
  {
    name: "pending",
    hash: "#/pending",
    ready: async (p) => {
      await visible(rackRow(p, "rack-south-01"));
      // The Pending link's count comes a moment after the page.
      await expect
        .poll(
          () =>
            shownText(p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: /^Pending/ })),
          {
            timeout: UI_TIMEOUT_MS,
          },
        )
        .toMatch(/\d/);
    },
  },
  { name: "fleet", hash: "#/fleet", ready: (p) => visible(rackRow(p, "rack-north-01")) },
  {
    name: "rack",
    hash: "#/racks/rack-north-01",
    ready: (p) => visible(p.locator('svg[role="img"][aria-label]')),
  },
  {
    name: "scenarios",
    hash: "#/scenarios",
    // The history is in once its Roll back button is (the scenario test left two versions).
    ready: async (p) => {
      await visible(p.getByLabel("Scenario YAML"));
      await visible(p.getByRole("button", { name: /^Roll back/ }));
    },
  },
  { name: "events", hash: "#/events", ready: (p) => visible(p.getByText("Chain verified")) },
];

describe("console: accessibility and layout", () => {
  test("axe-core finds no serious or critical violation on any main page", async () => {
    // axe is injected as an inline script, which the console's CSP refuses: this one tab bypasses the CSP.
    const tab = await openTab(browser, h, { bypassCSP: true });
    await signIn(tab, TEST_TOKEN);
    const found: Record<string, string[]> = {};
    for (const p of [{ name: "sign-in", hash: "", ready: async () => undefined }, ...PAGES]) {
      if (p.name === "sign-in") {
        const signedOut = await openTab(browser, h, { bypassCSP: true });
        await signedOut.page.goto(`${h.apiUrl}/`);
        await visible(signedOut.page.getByLabel("API token"));
        found[p.name] = describeViolations(await runAxe(signedOut.page));
        continue;
      }
      await route(tab.page, p.hash);
      await p.ready(tab.page);
      found[p.name] = describeViolations(await runAxe(tab.page));
    }
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
  });

  test("every main page draws at laptop and phone width (the screenshots of docs/console/)", async () => {
    for (const viewport of [LAPTOP, PHONE]) {
      const tab = await openTab(browser, h, { viewport });
      await signIn(tab, TEST_TOKEN);
      const { page } = tab;
      const suffix = viewport === PHONE ? "-phone" : "";
      for (const p of PAGES) {
        await route(page, p.hash);
        await p.ready(page);
        if (viewport === PHONE) {
          if (p.name === "fleet" || p.name === "pending") await screenshot(page, `${p.name}${suffix}`);
          continue;
        }
        if (p.name === "rack" && SCREENSHOTS) {
          // A few samples, so the picture shows a line.
          await expect.poll(() => chartPoints(page), { timeout: UI_TIMEOUT_MS }).toBeGreaterThanOrEqual(3);
        }
        if (p.name === "scenarios") {
          // The picture shows a plan: version 3 would restart the ticker.
          await page.getByLabel("Scenario YAML").fill(scenarioYaml(3, "1s"));
          await page.getByRole("button", { name: "Plan" }).click();
          await expect.poll(() => pageText(page), { timeout: UI_TIMEOUT_MS }).toMatch(/restart/i);
        }
        await screenshot(page, p.name);
      }
    }
  });

  test("no main page is wider than a phone (390 px): nothing scrolls sideways", async () => {
    const tab = await openTab(browser, h, { viewport: PHONE });
    await signIn(tab, TEST_TOKEN);
    const { page } = tab;
    const overflowing: string[] = [];
    for (const p of PAGES) {
      await route(page, p.hash);
      await p.ready(page);
      const overflow = await page.evaluate<number>(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      if (overflow <= 1) continue;
      // Name the outermost elements that stick out, for whoever fixes the layout.
      const culprits = await page.evaluate<string[]>(`(() => {
        const width = document.documentElement.clientWidth;
        const out = [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > width + 1);
        return out.filter((e) => !out.includes(e.parentElement)).slice(0, 3)
          .map((e) => e.tagName.toLowerCase() + (e.className ? "." + String(e.className).split(" ").join(".") : ""));
      })()`);
      overflowing.push(`${p.name}: ${overflow}px wider than the phone (${culprits.join(", ")})`);
    }
    expect(overflowing).toEqual([]);
  });
});

function describeViolations(violations: Parameters<typeof seriousViolations>[0]): string[] {
  return seriousViolations(violations).map(
    (v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(", ")})`,
  );
}
