// The operator console in headless Chromium against the real Mixer, a real nats-server and real fluxrig-rack
// processes: sign-in (and a refused token), adopt and reject from the pending page seen live on another tab, a viewer
// who cannot act, and a killed Rack shown offline within the presence window. Every tab fails its test on a request
// to another origin, a console error, a CSP violation or a token in a URL (support/console-session.ts).
import { MixerHarness, ScriptedRack, TEST_TOKEN, TestBrowser } from "@fluxrig/testkit";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  apiStatus,
  consoleMixerEnv,
  createToken,
  documentLoads,
  mainNav,
  OFFLINE_WINDOW_MS,
  openTab,
  rackRow,
  route,
  shownText,
  signIn,
  spawnRack,
  tokenSecrets,
  UI_TIMEOUT_MS,
  visible,
  waitForApiStatus,
  waitForRowStatus,
} from "./support/console-session.js";

/** The Pending link of the main navigation, which shows the count of pending Racks. */
function pendingLink(page: Page) {
  return mainNav(page).getByRole("link", { name: /^Pending/ });
}

let h: MixerHarness;
let browser: TestBrowser;
let operator: string;
let viewer: string;

beforeAll(async () => {
  [h, browser] = await Promise.all([MixerHarness.create({ env: consoleMixerEnv() }), TestBrowser.launch()]);
  operator = await createToken(h, "alice", "operator");
  viewer = await createToken(h, "wallboard", "viewer");
});

afterAll(async () => {
  await browser?.close();
  await h?.[Symbol.asyncDispose]();
});

describe("console: sign-in", () => {
  test("a wrong token is refused with an alert; the right one shows its name and role; sign-out forgets it", async () => {
    const tab = await openTab(browser, h);
    const { page } = tab;
    // The refused sign-in's 401 is the one console error this test expects.
    tab.allowHttpError(401, "/api/v1/session");
    await page.goto(`${h.apiUrl}/`);
    await page.getByLabel("API token").fill("frt_not-a-token-at-all");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = await visible(page.getByRole("alert"));
    expect(await shownText(alert)).toMatch(/not accepted/i);
    expect(await mainNav(page).count()).toBe(0);

    await page.getByLabel("API token").fill(operator);
    await page.getByRole("button", { name: "Sign in" }).click();
    await visible(mainNav(page));
    const banner = page.getByRole("banner");
    await expect.poll(() => shownText(banner), { timeout: UI_TIMEOUT_MS }).toContain("alice");
    expect(await shownText(banner)).toContain("operator");
    expect(new URL(page.url()).hash).toBe("#/pending");
    for (const link of ["Pending", "Fleet", "Scenarios", "Events"]) {
      await visible(mainNav(page).getByRole("link", { name: new RegExp(`^${link}`) }));
    }

    // The token lives in sessionStorage only: no cookie, nothing in localStorage.
    expect(await page.evaluate("Object.values(sessionStorage)")).toContain(operator);
    expect(await page.evaluate("JSON.stringify(localStorage)")).not.toContain(operator);
    expect(await tab.context.cookies()).toEqual([]);
    // Every API call it made carried the token as a bearer header (the URL check runs when the test ends).
    const apiCalls = tab.requests.filter((r) => new URL(r.url).pathname.startsWith("/api/"));
    expect(apiCalls.length).toBeGreaterThan(0);
    const afterSignIn = apiCalls.filter((r) => r.headers.authorization === `Bearer ${operator}`);
    expect(afterSignIn.length).toBeGreaterThan(0);

    await page.getByRole("button", { name: "Sign out" }).click();
    await visible(page.getByLabel("API token"));
    expect(await page.evaluate("JSON.stringify(sessionStorage)")).not.toContain(operator);
    expect(await mainNav(page).count()).toBe(0);
  });
});

describe("console: pending approvals", () => {
  test("adopt and reject one Rack each, then two at once; another tab sees every change live", async () => {
    const racks = ["rack-east-01", "rack-east-02", "rack-east-03", "rack-lab-04"].map((name) => ({
      name,
      proc: spawnRack(h, name),
    }));
    await waitForApiStatus(
      h,
      racks.map((r) => r.name),
      "pending",
    );

    const watcher = await openTab(browser, h);
    await signIn(watcher, TEST_TOKEN);
    await route(watcher.page, "#/fleet");
    for (const r of racks) await waitForRowStatus(watcher.page, r.name, "pending");

    const tab = await openTab(browser, h);
    await signIn(tab, operator);
    const { page } = tab;
    for (const r of racks) await visible(rackRow(page, r.name));
    // The Pending link counts the pending Racks.
    await expect.poll(() => shownText(pendingLink(page)), { timeout: UI_TIMEOUT_MS }).toMatch(/4/);
    // Bulk buttons are disabled while nothing is selected.
    expect(await page.getByRole("button", { name: "Adopt selected" }).isDisabled()).toBe(true);
    expect(await page.getByRole("button", { name: "Reject selected" }).isDisabled()).toBe(true);

    // Adopt: the dialog names the Rack and the action, focus starts on Cancel, and Cancel does nothing.
    await page.getByRole("button", { name: "Adopt rack-east-01" }).click();
    let dialog = await visible(page.getByRole("dialog"));
    expect(await shownText(dialog)).toMatch(/adopt/i);
    expect(await shownText(dialog)).toContain("rack-east-01");
    // Enter does not confirm by accident: the focus starts on Cancel.
    expect(
      await page.evaluate(
        "document.activeElement?.closest('dialog') ? document.activeElement.textContent.trim() : null",
      ),
    ).toBe("Cancel");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden", timeout: UI_TIMEOUT_MS });
    expect(await apiStatus(h, "rack-east-01")).toBe("pending");

    await page.getByRole("button", { name: "Adopt rack-east-01" }).click();
    dialog = await visible(page.getByRole("dialog"));
    await dialog.getByRole("button", { name: /^Adopt/ }).click();
    const status = await visible(page.getByRole("status").filter({ hasText: "rack-east-01" }));
    expect(await shownText(status)).toMatch(/adopt|active/i);
    // The real Rack got its passport, and the other tab saw the change without a reload.
    await racks[0]!.proc.waitForJson({ msg: "passport: stored state.flux" }, { timeoutMs: 15_000 });
    await waitForRowStatus(watcher.page, "rack-east-01", "active");
    await waitForRowStatus(page, "rack-east-01", "active");
    expect(await apiStatus(h, "rack-east-01")).toBe("active");

    // Reject.
    await page.getByRole("button", { name: "Reject rack-east-02" }).click();
    dialog = await visible(page.getByRole("dialog"));
    expect(await shownText(dialog)).toContain("rack-east-02");
    expect(await shownText(dialog)).toMatch(/reject/i);
    await dialog.getByRole("button", { name: /^Reject/ }).click();
    await visible(page.getByRole("status").filter({ hasText: "rack-east-02" }));
    await waitForRowStatus(watcher.page, "rack-east-02", "rejected");
    await waitForRowStatus(page, "rack-east-02", "rejected");
    expect(await apiStatus(h, "rack-east-02")).toBe("rejected");

    // Neither is offered for approval any more on this page.
    for (const name of ["rack-east-01", "rack-east-02"]) {
      await expect
        .poll(() => page.getByRole("button", { name: `Adopt ${name}` }).count(), { timeout: UI_TIMEOUT_MS })
        .toBe(0);
    }

    // Two at once: the dialog names both.
    await page.getByRole("checkbox", { name: "Select rack-east-03" }).check();
    await page.getByRole("checkbox", { name: "Select rack-lab-04" }).check();
    await page.getByRole("button", { name: "Adopt selected" }).click();
    dialog = await visible(page.getByRole("dialog"));
    const text = await shownText(dialog);
    expect(text).toContain("rack-east-03");
    expect(text).toContain("rack-lab-04");
    expect(text).not.toContain("rack-east-01");
    await dialog.getByRole("button", { name: /^Adopt/ }).click();
    await visible(page.getByRole("status").filter({ hasText: "rack-lab-04" }));
    await waitForRowStatus(watcher.page, "rack-east-03", "active");
    await waitForRowStatus(watcher.page, "rack-lab-04", "active");
    await waitForApiStatus(h, ["rack-east-03", "rack-lab-04"], "active");
    await expect.poll(() => shownText(pendingLink(page)), { timeout: UI_TIMEOUT_MS }).not.toMatch(/[1-9]/);

    // Nothing reloaded: one document each, every change came from the server's answers and the event stream.
    expect(documentLoads(tab)).toBe(1);
    expect(documentLoads(watcher)).toBe(1);
  });

  test("a viewer sees no action and no checkbox, and the API refuses the adoption it forces", async () => {
    const scripted = new ScriptedRack(await h.client(), "rack-view-01").listen();
    expect((await scripted.hello()).status).toBe("pending");

    const tab = await openTab(browser, h);
    const { page } = tab;
    // The forced adoption below answers 403, which Chromium logs as a failed resource.
    tab.allowHttpError(403, "/api/v1/racks/rack-view-01/adopt");
    await signIn(tab, viewer);
    await expect
      .poll(() => shownText(page.getByRole("banner")), { timeout: UI_TIMEOUT_MS })
      .toContain("viewer");
    await visible(rackRow(page, "rack-view-01"));
    expect(await page.getByRole("button", { name: /^(Adopt|Reject)/ }).count()).toBe(0);
    expect(await page.getByRole("checkbox").count()).toBe(0);

    // A Rack's page offers a viewer no admin action either.
    await route(page, "#/racks/rack-east-01");
    await visible(page.getByRole("heading", { level: 1, name: "rack-east-01" }));
    expect(await page.getByRole("button", { name: /^(Revoke|Replace|Remove)/ }).count()).toBe(0);

    // Scenarios: a viewer may check and plan, never activate or roll back.
    await route(page, "#/scenarios");
    await visible(page.getByRole("button", { name: "Plan" }));
    expect(await page.getByRole("button", { name: /^(Activate|Roll back)/ }).count()).toBe(0);

    // Forced from the page with the viewer's own token: refused, nothing changed.
    const forced = await page.evaluate(`(async () => {
      const token = Object.values(sessionStorage).find((v) => v === ${JSON.stringify(viewer)});
      const res = await fetch("/api/v1/racks/rack-view-01/adopt", {
        method: "POST", headers: { authorization: "Bearer " + token, "content-type": "application/json" }, body: "{}",
      });
      return { status: res.status, body: await res.json() };
    })()`);
    expect(forced).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    expect(await apiStatus(h, "rack-view-01")).toBe("pending");
  });
});

describe("console: presence", () => {
  test("a Rack killed with SIGKILL shows offline on the fleet page within the presence window", async () => {
    const name = "rack-west-01";
    const rack = spawnRack(h, name);
    await waitForApiStatus(h, [name], "pending");
    expect((await h.api(`/api/v1/racks/${name}/adopt`, { method: "POST" })).status).toBe(200);
    await rack.waitForJson({ msg: "passport: stored state.flux" }, { timeoutMs: 15_000 });

    const tab = await openTab(browser, h);
    await signIn(tab, viewer);
    await route(tab.page, "#/fleet");
    await waitForRowStatus(tab.page, name, "active");

    rack.kill9();
    const killedAt = Date.now();
    // The window, plus the sweep's own cadence and the event stream's delivery: a bound, not a measurement.
    await waitForRowStatus(tab.page, name, "offline", OFFLINE_WINDOW_MS + 5_000);
    const shownAfterMs = Date.now() - killedAt;
    expect(shownAfterMs).toBeGreaterThanOrEqual(OFFLINE_WINDOW_MS / 2);
    expect(await apiStatus(h, name)).toBe("offline");
    expect(documentLoads(tab)).toBe(1);
  });
});

describe("console: secrets", () => {
  test("no token the pages used appears in the Mixer's log", () => {
    const log = h.mixer!.output();
    // The pages' requests were logged (so the check looks at something).
    expect(log).toContain('"path":"/api/v1/session"');
    for (const secret of tokenSecrets()) expect(log).not.toContain(secret);
  });
});
