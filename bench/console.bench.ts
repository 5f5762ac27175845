// The operator console's fleet page at fleet size: a real Mixer holding 10,000 active Racks, the console in headless
// Chromium. Per run (a fresh browser context, signed in through the form): time from navigation to the first Rack
// rows painted, to the count of every Rack shown, and to the last page of the list received; then the page's JS heap
// (after a forced GC) and DOM size with all the Racks in memory.
//
// Run: pnpm exec tsx --conditions=@fluxrig/source bench/console.bench.ts [--racks 10000] [--runs 3] [--warmup 1]
//      [--concurrency 256]
// Needs the built binary (pnpm build, or pnpm bench which builds first) and Chromium (tooling/setup.sh installs it;
// CHROMIUM_BIN overrides). Writes bench-results/console.json.
//
// The Racks are seeded the way bench/api.bench.ts seeds its fleet: scripted Racks say hello over NATS, here with
// auto_adopt on so each is active with a passport (a fleet, not a queue: the pending page stays empty). Heartbeats
// are due every 10 minutes, so no Rack goes offline while the bench runs. The marks are taken in the page: a
// MutationObserver (installed before the console's own script runs) notes the first `[data-rack]` row, and the
// second animation frame after it is the frame that row was painted in; times are ms from the navigation's start
// (`performance.now()` of the new document).

import { mkdirSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import {
  type BrowserTab,
  killAllStarted,
  MixerHarness,
  ScriptedRack,
  TEST_TOKEN,
  TestBrowser,
  waitFor,
} from "@fluxrig/testkit";

interface Figure {
  name: string;
  value: number;
  unit: string;
  note: string;
}

const { values: args } = parseArgs({
  options: {
    racks: { type: "string", default: "10000" },
    runs: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    concurrency: { type: "string", default: "256" },
  },
  allowPositionals: false,
});
const int = (name: "racks" | "runs" | "warmup" | "concurrency", min = 1): number => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
  return n;
};
const RACKS = int("racks");
const RUNS = int("runs");
const WARMUP = int("warmup", 0);
const CONCURRENCY = int("concurrency");

/** Installed in every document of the run's context before the console's script: the marks the bench reads. */
const MARKS_SCRIPT = `(() => {
  if (location.protocol === "about:") return;
  const observer = new MutationObserver(() => {
    if (document.querySelector("[data-rack]") === null) return;
    observer.disconnect();
    performance.mark("fleet-rows-in-dom");
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark("fleet-rows-painted")));
  });
  observer.observe(document, { childList: true, subtree: true });
})();`;

interface Run {
  rowsInDomMs: number;
  rowsPaintedMs: number;
  countShownMs: number;
  lastPageMs: number;
  listRequests: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  domNodes: number;
  rowsInDom: number;
}

async function oneRun(browser: TestBrowser, h: MixerHarness, expectedCount: string): Promise<Run> {
  await using tab: BrowserTab = await browser.newTab({ origin: h.apiUrl });
  const { page } = tab;
  // The fleet page asks for the active scenario, answered 404 (none here), which Chromium logs as an error.
  tab.allowHttpError(404, "/api/v1/scenarios/active");
  await page.goto(`${h.apiUrl}/`);
  await page.getByLabel("API token").fill(TEST_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor({ state: "visible", timeout: 30_000 });
  // Leave the console, so the fleet page is a fresh document: the token stays in this tab's sessionStorage.
  await page.goto("about:blank");
  await tab.context.addInitScript(MARKS_SCRIPT);

  // The list's last page is the one that says there is no next: note when it arrives.
  let lastPage = false;
  page.on("response", (res) => {
    if (!new URL(res.url()).pathname.endsWith("/api/v1/racks")) return;
    res
      .json()
      .then((body: { next: string | null }) => {
        if (body.next === null) lastPage = true;
      })
      .catch(() => undefined);
  });
  await page.goto(`${h.apiUrl}/#/fleet`);
  const mark = (name: string): Promise<number | null> =>
    page.evaluate<number | null>(
      `(() => { const m = performance.getEntriesByName(${JSON.stringify(name)}); return m.length ? m[0].startTime : null; })()`,
    );
  const rowsPaintedMs = await waitFor(() => mark("fleet-rows-painted"), {
    timeoutMs: 60_000,
    intervalMs: 20,
    message: "fleet rows painted",
  });
  const rowsInDomMs = (await mark("fleet-rows-in-dom")) ?? Number.NaN;
  const countShownMs = await waitFor(
    () =>
      page.evaluate<number | null>(
        `document.body.textContent.includes(${JSON.stringify(expectedCount)}) ? performance.now() : null`,
      ),
    { timeoutMs: 60_000, intervalMs: 20, message: `"${expectedCount}" shown` },
  );
  await waitFor(() => lastPage, { timeoutMs: 120_000, intervalMs: 20, message: "the list's last page" });
  // When the last list response ended, on the page's own clock (Resource Timing).
  const list = await page.evaluate<number[]>(
    `performance.getEntriesByType("resource").filter((e) => new URL(e.name).pathname === "/api/v1/racks").map((e) => e.responseEnd)`,
  );

  const cdp = await tab.context.newCDPSession(page);
  await cdp.send("Performance.enable");
  await cdp.send("HeapProfiler.collectGarbage");
  const { metrics } = await cdp.send("Performance.getMetrics");
  const metric = (name: string): number => metrics.find((m) => m.name === name)?.value ?? Number.NaN;
  const rowsInDom = await page.evaluate<number>(`document.querySelectorAll("[data-rack]").length`);
  tab.assertClean();
  return {
    rowsInDomMs,
    rowsPaintedMs,
    countShownMs,
    lastPageMs: Math.max(...list),
    listRequests: list.length,
    heapUsedBytes: metric("JSHeapUsedSize"),
    heapTotalBytes: metric("JSHeapTotalSize"),
    domNodes: metric("Nodes"),
    rowsInDom,
  };
}

async function main(): Promise<void> {
  await using h = await MixerHarness.create({
    env: {
      FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true",
      FLUXRIG_ENROLLMENT_MAX_PENDING: String(Math.min(65535, RACKS + 10)),
      FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: "600s",
    },
  });
  const browserLaunch = TestBrowser.launch();
  const connections = await Promise.all([1, 2, 3, 4].map(() => h.client({ lean: true })));
  const racks = Array.from(
    { length: RACKS },
    (_, i) => new ScriptedRack(connections[i % connections.length]!, `rack-${String(i).padStart(6, "0")}`),
  );

  process.stderr.write(`enrolling ${RACKS} Racks (auto_adopt)...\n`);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < racks.length) {
        const rack = racks[next++]!;
        const reply = await rack.hello();
        if (reply.status !== "active")
          throw new Error(`${rack.name}: ${reply.status} ${reply.error?.message ?? ""}`);
      }
    }),
  );
  const enrollMs = performance.now() - t0;
  process.stderr.write(`enrolled in ${(enrollMs / 1000).toFixed(1)} s\n`);
  const cluster = await h.api<{ counts: Record<string, number> }>("/api/v1/cluster");
  if (cluster.body.counts.active !== RACKS)
    throw new Error(`the Mixer counts ${cluster.body.counts.active} active Racks, not ${RACKS}`);

  await using browser = await browserLaunch;
  // Untimed first: the Mixer has just answered the enrollment flood and is still flushing it (as in api.bench.ts).
  for (let i = 0; i < WARMUP; i++) await oneRun(browser, h, `${RACKS} Racks`);
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = await oneRun(browser, h, `${RACKS} Racks`);
    process.stderr.write(`run ${i + 1}: ${JSON.stringify(run)}\n`);
    runs.push(run);
  }

  const spread = (pick: (r: Run) => number, scale = 1): { median: number; min: number; max: number } => {
    const values = runs.map((r) => pick(r) / scale).sort((a, b) => a - b);
    return {
      median: values[Math.floor(values.length / 2)]!,
      min: values[0]!,
      max: values[values.length - 1]!,
    };
  };
  const figure = (name: string, pick: (r: Run) => number, unit: string, note: string, scale = 1): Figure => {
    const s = spread(pick, scale);
    return {
      name,
      value: round(s.median),
      unit,
      note: `median of ${RUNS} (min ${round(s.min)}, max ${round(s.max)}); ${note}`,
    };
  };
  const MB = 1024 * 1024;
  const figures: Figure[] = [
    {
      name: "seed",
      value: Math.round(enrollMs),
      unit: "ms",
      note: `${RACKS} Racks enrolled and adopted over NATS, ${CONCURRENCY} hellos in flight (setup, not a target)`,
    },
    figure(
      "fleet.first_rows_painted",
      (r) => r.rowsPaintedMs,
      "ms",
      "navigation start to the frame after the first Rack rows entered the DOM; target < 1,000 ms",
    ),
    figure(
      "fleet.first_rows_in_dom",
      (r) => r.rowsInDomMs,
      "ms",
      "navigation start to the first [data-rack]",
    ),
    figure(
      "fleet.count_shown",
      (r) => r.countShownMs,
      "ms",
      `navigation start to "${RACKS} Racks" in the page`,
    ),
    figure(
      "fleet.all_racks_loaded",
      (r) => r.lastPageMs,
      "ms",
      `navigation start to the end of the list's last page (${runs[0]!.listRequests} requests)`,
    ),
    figure(
      "fleet.js_heap_used",
      (r) => r.heapUsedBytes,
      "MB",
      `after a forced GC, every Rack in memory (CDP Performance.getMetrics JSHeapUsedSize)`,
      MB,
    ),
    figure("fleet.js_heap_total", (r) => r.heapTotalBytes, "MB", "JSHeapTotalSize", MB),
    figure(
      "fleet.dom_nodes",
      (r) => r.domNodes,
      "nodes",
      `DOM nodes of the page (${runs[0]!.rowsInDom} rows in the DOM for ${RACKS} Racks)`,
    ),
  ];

  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/console.json", `${JSON.stringify({ suite: "console", figures }, null, 2)}\n`);
  console.table(figures);
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => killAllStarted());
