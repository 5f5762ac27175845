// What the console's end-to-end tests share: a real Mixer with fast presence, real fluxrig-rack processes, named
// tokens, a browser tab per test that fails the test on any problem (a request to another origin, a console error,
// a CSP violation, a secret in a URL), sign-in through the page, and the screenshots of docs/console/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  type BrowserTab,
  type MixerHarness,
  repoRoot,
  type SpawnedProcess,
  spawnBinary,
  TEST_TOKEN,
  type TestBrowser,
  tempDir,
  waitFor,
} from "@fluxrig/testkit";
import type { Locator, Page } from "playwright-core";
import { expect, onTestFinished } from "vitest";

/** Every wait on the page is bounded by this (ms), well above what a loaded 2-core machine needs. */
export const UI_TIMEOUT_MS = 10_000;

export const HEARTBEAT_MS = 500;
export const MISSED_HEARTBEATS = 4;
/** A Rack silent this long is offline (SPEC: interval times missed heartbeats). */
export const OFFLINE_WINDOW_MS = HEARTBEAT_MS * MISSED_HEARTBEATS;

/** A Mixer whose Racks wait for an operator, with heartbeats every 500 ms and presence flushed every 200 ms. */
export function consoleMixerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false",
    FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: `${HEARTBEAT_MS}ms`,
    FLUXRIG_PRESENCE_MISSED_HEARTBEATS: String(MISSED_HEARTBEATS),
    FLUXRIG_PRESENCE_FLUSH_INTERVAL: "200ms",
    ...extra,
  };
}

/** Laptop and phone viewports of the screenshots and the layout checks. */
export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** What the console asks for on the fleet and scenarios pages, answered 404 while no scenario is active. */
export const NO_ACTIVE_SCENARIO = "/api/v1/scenarios/active";

/** The secrets of a file's tokens: no URL any tab showed or requested may contain one. */
const secrets = new Set<string>([TEST_TOKEN]);

/** Every token secret this file signed in with or created (the bootstrap token included). */
export function tokenSecrets(): string[] {
  return [...secrets];
}

/**
 * Creates a named API token through the API (as the bootstrap admin) and answers its secret.
 *
 * @example
 * const alice = await createToken(h, "alice", "operator");
 */
export async function createToken(
  h: MixerHarness,
  name: string,
  role: "viewer" | "operator" | "admin",
): Promise<string> {
  const res = await h.api<{ secret: string }>("/api/v1/tokens", { method: "POST", json: { name, role } });
  if (res.status !== 200) throw new Error(`create token ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  secrets.add(res.body.secret);
  return res.body.secret;
}

/**
 * A tab for one test: closed when the test ends, and the test fails if the page requested another origin, logged a
 * console error, threw, violated its CSP, or put a token in a URL.
 */
export async function openTab(
  browser: TestBrowser,
  h: MixerHarness,
  opts: { viewport?: { width: number; height: number }; bypassCSP?: boolean } = {},
): Promise<BrowserTab> {
  const tab = await browser.newTab({ origin: h.apiUrl, ...opts });
  // The console asks for the active scenario, which the API answers 404 while none is active (reported to the
  // console's owner: Chromium logs that as an error in the console).
  tab.allowHttpError(404, NO_ACTIVE_SCENARIO);
  onTestFinished(async () => {
    try {
      for (const secret of secrets) expect(tab.urlsContaining(secret), "a token in a URL").toEqual([]);
      tab.assertClean();
    } finally {
      await tab.close();
    }
  });
  return tab;
}

/** Waits until `locator` is visible (bounded). */
export async function visible(locator: Locator, timeout = UI_TIMEOUT_MS): Promise<Locator> {
  await locator.first().waitFor({ state: "visible", timeout });
  return locator;
}

/**
 * The text a user sees in `locator` (playwright's innerText: rendered text, hidden elements left out), which is
 * what the console's contract speaks of; textContent would also read hidden nodes.
 */
export function shownText(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: playwright's Locator.innerText, not the DOM property; the rendered text is the point
  return locator.innerText();
}

/** The page's visible text (a textarea's value is not part of it). */
export function pageText(page: Page): Promise<string> {
  return shownText(page.locator("body"));
}

/** The page's main navigation (`<nav aria-label="Main">`). */
export function mainNav(page: Page): Locator {
  return page.getByRole("navigation", { name: "Main" });
}

/**
 * Loads the console at `/`, signs in with `token` through the form, and waits for the main navigation. The
 * console then shows `#/pending`.
 */
export async function signIn(tab: BrowserTab, token: string): Promise<void> {
  const { page } = tab;
  await page.goto(`${tab.origin}/`);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await visible(mainNav(page));
}

/** Moves to a hash route (`#/fleet`) the way a link would, without reloading the page. */
export async function route(page: Page, hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}

/** How many times the tab loaded a document: 1 means every change since sign-in came without a reload. */
export function documentLoads(tab: BrowserTab): number {
  return tab.requests.filter((r) => r.resourceType === "document").length;
}

/** The row (or card) of a Rack anywhere on the page. */
export function rackRow(page: Page, name: string): Locator {
  return page.locator(`[data-rack="${name}"]`);
}

/** The status word a Rack's row shows (`data-status` and its text must agree). */
export async function rowStatus(page: Page, name: string): Promise<string | null> {
  const status = rackRow(page, name).locator("[data-status]").first();
  if ((await status.count()) === 0) return null;
  const [attr, text] = await Promise.all([status.getAttribute("data-status"), shownText(status)]);
  if (attr === null || !text.toLowerCase().includes(attr))
    throw new Error(`${name}: data-status="${attr}" but the text says "${text}"`);
  return attr;
}

/** Waits until the Rack's row on the page shows `status`. */
export async function waitForRowStatus(
  page: Page,
  name: string,
  status: string,
  timeout = UI_TIMEOUT_MS,
): Promise<void> {
  await expect
    .poll(() => rowStatus(page, name).catch((e: unknown) => String(e)), { timeout, interval: 50 })
    .toBe(status);
}

/** A Rack's status as the API says. */
export async function apiStatus(h: MixerHarness, name: string): Promise<string | undefined> {
  const res = await h.api<{ status: string }>(`/api/v1/racks/${name}`);
  return res.status === 200 ? res.body.status : undefined;
}

/** Waits until the API lists `names` with `status`. */
export async function waitForApiStatus(
  h: MixerHarness,
  names: readonly string[],
  status: string,
): Promise<void> {
  for (const name of names) {
    await waitFor(async () => (await apiStatus(h, name)) === status, {
      timeoutMs: 15_000,
      message: `${name} ${status} in the API`,
    });
  }
}

/**
 * A real fluxrig-rack in a fresh state dir, on the harness's bus, heartbeating at the Mixer's interval. The process
 * and the dir are the testkit's: the integration set-up stops and removes both when the file ends.
 */
export function spawnRack(h: MixerHarness, name: string): SpawnedProcess {
  const state = tempDir(name);
  const rack = spawnBinary("fluxrig-rack", {
    label: name,
    env: {
      FLUXRIG_RACK_NAME: name,
      FLUXRIG_RACK_STATE_DIR: state.path,
      FLUXRIG_NATS_URL: h.nats.url,
      FLUXRIG_HEARTBEAT_INTERVAL: `${HEARTBEAT_MS}ms`,
      FLUXRIG_TELEMETRY_OTLP_ENDPOINT: `${h.apiUrl}/v1/metrics`,
      FLUXRIG_TELEMETRY_AUTH_TOKEN: TEST_TOKEN,
      FLUXRIG_TELEMETRY_EXPORT_INTERVAL: "500ms",
    },
  });
  return rack;
}

/** How many points the longest line of the Rack page's stats chart (`<svg role="img">`) draws. */
export function chartPoints(page: Page): Promise<number> {
  return page.evaluate<number>(
    `Math.max(0, ...[...document.querySelectorAll('svg[role="img"] path')]
      .map((p) => (p.getAttribute("d") || "").split(/[ML]/).filter(Boolean).length))`,
  );
}

/** Screenshots land in docs/console/ only when FLUXRIG_SCREENSHOTS=1, so an ordinary run never rewrites them. */
export const SCREENSHOTS = process.env.FLUXRIG_SCREENSHOTS === "1";

/** Writes `docs/console/<name>.png` of the whole page when {@link SCREENSHOTS} is on; answers the path or null. */
export async function screenshot(page: Page, name: string): Promise<string | null> {
  if (!SCREENSHOTS) return null;
  const dir = join(repoRoot(), "docs", "console");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  // No caret, no animation: the same page gives the same picture.
  await page.screenshot({ path, fullPage: true, animations: "disabled", caret: "hide" });
  return path;
}
