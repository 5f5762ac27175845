// Headless Chromium for end-to-end tests of the Mixer's console: one browser per test file, a fresh context per test,
// every request recorded, any request to another origin aborted and reported, console errors and CSP violations
// collected as problems that fail the test, and an axe-core accessibility check.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Page,
  type Request,
  type ViewportSize,
} from "playwright-core";
import { track } from "./cleanup-registry.js";
import { TestkitError } from "./errors.js";

/** Where Debian's `chromium` package puts the browser; `CHROMIUM_BIN` overrides it. */
export const DEFAULT_CHROMIUM_BIN = "/usr/bin/chromium";

/** Chromium is not installed where the tests look for it. */
export class ChromiumMissingError extends TestkitError {
  override name = "ChromiumMissingError";
  constructor(readonly path: string) {
    super(
      `no Chromium at ${path}: run tooling/setup.sh (it installs Debian's chromium with apt-get as root), ` +
        "or `apt-get install -y chromium`, or set CHROMIUM_BIN to a Chromium or Chrome binary",
    );
  }
}

/** A test's page did something the console must never do; each problem is one line of the message. */
export class BrowserProblemsError extends TestkitError {
  override name = "BrowserProblemsError";
  constructor(readonly problems: readonly string[]) {
    super(`the page had ${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
  }
}

/**
 * The Chromium the tests drive: `CHROMIUM_BIN` when set, else {@link DEFAULT_CHROMIUM_BIN}. Throws
 * {@link ChromiumMissingError} when there is no file there.
 */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const path = env.CHROMIUM_BIN || DEFAULT_CHROMIUM_BIN;
  if (!existsSync(path)) throw new ChromiumMissingError(path);
  return path;
}

/** One request the page made, as the browser sent it. */
export interface RecordedRequest {
  method: string;
  url: string;
  resourceType: string;
  /** The request headers as the page set them (lower-case names). */
  headers: Record<string, string>;
}

/** Options of {@link TestBrowser.newTab}. */
export interface TabOptions {
  /** The only origin the page may talk to, e.g. the Mixer's `http://127.0.0.1:PORT`. */
  origin: string;
  /** Default 1280x800 (a laptop). */
  viewport?: ViewportSize;
  /**
   * Ignore the page's Content-Security-Policy (playwright's `bypassCSP`). Only for the axe check, which injects
   * axe-core's source as an inline script the console's CSP rightly refuses; CSP violations cannot be seen then.
   */
  bypassCSP?: boolean;
}

/**
 * A headless Chromium shared by the tests of one file; each test opens its own {@link BrowserTab} (a new context:
 * no cookies, storage or cache shared with another test). Registered with the testkit's clean-up, so a file that
 * forgets to close it still does not leave Chromium running.
 *
 * @example
 * let browser: TestBrowser;
 * beforeAll(async () => { browser = await TestBrowser.launch(); });
 * afterAll(() => browser.close());
 */
export class TestBrowser implements AsyncDisposable {
  readonly #tabs = new Set<BrowserTab>();
  #closed: Promise<void> | undefined;
  #untrack: () => void = () => {};

  private constructor(readonly browser: Browser) {}

  /**
   * Launches headless Chromium ({@link chromiumPath}), with `--no-sandbox` when running as root (Chromium refuses
   * its sandbox to root).
   */
  static async launch(opts: { executablePath?: string } = {}): Promise<TestBrowser> {
    const executablePath = opts.executablePath ?? chromiumPath();
    const root = typeof process.getuid === "function" && process.getuid() === 0;
    const browser = await chromium.launch({
      executablePath,
      headless: true,
      args: root ? ["--no-sandbox"] : [],
    });
    const testBrowser = new TestBrowser(browser);
    testBrowser.#untrack = track({
      label: `chromium ${browser.version()}`,
      stop: () => testBrowser.close(),
      // playwright kills the browsers it launched when this process exits; nothing synchronous to add.
      killSync: () => {},
    });
    return testBrowser;
  }

  /** A new context and page; requests to any origin but `origin` are aborted and reported as problems. */
  async newTab(opts: TabOptions): Promise<BrowserTab> {
    const context = await this.browser.newContext({
      viewport: opts.viewport ?? { width: 1280, height: 800 },
      bypassCSP: opts.bypassCSP ?? false,
      serviceWorkers: "block",
    });
    try {
      const tab = await BrowserTab.open(context, opts.origin, () => this.#tabs.delete(tab));
      this.#tabs.add(tab);
      return tab;
    } catch (error) {
      await context.close().catch(() => undefined);
      throw error;
    }
  }

  /** Closes every open tab, then the browser; idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        await Promise.allSettled([...this.#tabs].map((t) => t.close()));
        await this.browser.close();
      } finally {
        this.#untrack();
      }
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// The page reports CSP violations through this binding (set up before any of its scripts run).
const CSP_BINDING = "__fluxrigTestCspViolation";

/**
 * One test's page in its own context. `problems()` lists what it did wrong so far: requests to another origin
 * (aborted), console errors, uncaught exceptions and CSP violations; {@link assertClean} throws them.
 */
export class BrowserTab implements AsyncDisposable {
  readonly requests: RecordedRequest[] = [];
  /** Every URL the page's frames showed, hash changes included (a token in a URL would show here). */
  readonly navigations: string[] = [];
  readonly #consoleErrors: string[] = [];
  readonly #pageErrors: string[] = [];
  readonly #allowed: RegExp[] = [];
  #closed: Promise<void> | undefined;

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly origin: string,
    private readonly onClose: () => void,
    /** Filled by the context's routes and bindings, set up before the page exists. */
    private readonly caught: { foreign: string[]; csp: string[] },
  ) {}

  static async open(
    context: BrowserContext,
    origin: string,
    onClose: () => void = () => {},
  ): Promise<BrowserTab> {
    const base = new URL(origin).origin;
    // Aborted before it leaves the browser: nothing but the Mixer's own origin (data: and blob: are not requests).
    const foreign = (url: URL): boolean =>
      url.protocol !== "data:" && url.protocol !== "blob:" && url.origin !== base;
    const caught = { foreign: [] as string[], csp: [] as string[] };
    await context.route(foreign, async (route) => {
      caught.foreign.push(`${route.request().method()} ${route.request().url()}`);
      await route.abort("blockedbyclient");
    });
    await context.routeWebSocket(foreign, (ws) => {
      caught.foreign.push(`WebSocket ${ws.url()}`);
      ws.close();
    });
    await context.exposeBinding(CSP_BINDING, (_source, violation: unknown) => {
      caught.csp.push(String(violation));
    });
    await context.addInitScript(`document.addEventListener("securitypolicyviolation", (e) => {
      window.${CSP_BINDING}(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " +
        e.sourceFile + ":" + e.lineNumber);
    });`);
    const page = await context.newPage();
    const tab = new BrowserTab(context, page, base, onClose, caught);
    context.on("request", (req: Request) => {
      tab.requests.push({
        method: req.method(),
        url: req.url(),
        resourceType: req.resourceType(),
        headers: req.headers(),
      });
    });
    page.on("framenavigated", (frame) => {
      tab.navigations.push(frame.url());
    });
    page.on("console", (msg) => {
      if (msg.type() !== "error") return;
      const at = msg.location();
      tab.#consoleErrors.push(`${msg.text()}${at.url ? ` (${at.url}:${at.lineNumber})` : ""}`);
    });
    page.on("pageerror", (error) => {
      tab.#pageErrors.push(error.stack ?? error.message);
    });
    return tab;
  }

  /**
   * Accepts console errors matching `pattern` for the rest of this tab's life: Chromium logs every answer of 4xx as
   * "Failed to load resource: ... status of 401", which a test of a refused token or role provokes on purpose.
   */
  allowConsoleError(pattern: RegExp): void {
    this.#allowed.push(pattern);
  }

  /**
   * Accepts Chromium's console error for an answer of `status` to `path` on the tab's origin (it logs "Failed to load
   * resource: the server responded with a status of 404 (Not Found)" for every 4xx and 5xx a page fetches, even
   * one the page expects and handles), and only that one.
   *
   * @example
   * tab.allowHttpError(401, "/api/v1/session"); // the wrong token a sign-in test types
   */
  allowHttpError(status: number, path: string): void {
    const at = `${this.origin}${path}`.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    this.#allowed.push(
      new RegExp(
        `^Failed to load resource: the server responded with a status of ${status} .*\\(${at}:\\d+\\)$`,
      ),
    );
  }

  /** Requests aborted because they went to another origin ("METHOD url"). */
  get foreignRequests(): readonly string[] {
    return this.caught.foreign;
  }

  /** Everything the page did wrong so far, one line each. */
  problems(): string[] {
    return [
      ...this.caught.foreign.map((r) => `request to another origin (aborted): ${r}`),
      ...this.caught.csp.map((v) => `CSP violation: ${v}`),
      ...this.#pageErrors.map((e) => `uncaught exception: ${e}`),
      ...this.#consoleErrors
        .filter((e) => !this.#allowed.some((p) => p.test(e)))
        .map((e) => `console error: ${e}`),
    ];
  }

  /** Throws {@link BrowserProblemsError} when {@link problems} lists anything. */
  assertClean(): void {
    const problems = this.problems();
    if (problems.length > 0) throw new BrowserProblemsError(problems);
  }

  /** Every request URL and every URL the page showed that contains `text` (e.g. a token: it must be none). */
  urlsContaining(text: string): string[] {
    const urls = [...this.requests.map((r) => r.url), ...this.navigations, this.page.url()];
    return [...new Set(urls.filter((u) => u.includes(text) || u.includes(encodeURIComponent(text))))];
  }

  /** Closes the context (and its page); idempotent, never throws. */
  close(): Promise<void> {
    this.#closed ??= this.context
      .close()
      .catch(() => undefined)
      .finally(() => this.onClose());
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** One axe-core rule a page breaks, with the elements it found. */
export interface AxeViolation {
  id: string;
  impact: "minor" | "moderate" | "serious" | "critical" | null;
  help: string;
  helpUrl: string;
  /** CSS selectors of the offending elements, with axe's summary for each. */
  nodes: Array<{ target: string; summary: string }>;
}

let axeSource: string | undefined;

/** axe-core's browser build, read once from node_modules. */
function axeScript(): string {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  return axeSource;
}

/**
 * Runs axe-core (WCAG 2.x A and AA rules plus axe's best practices) over the page as it is now and answers every
 * violation. The page must come from a tab opened with `bypassCSP: true`: axe is injected as an inline script.
 *
 * @example
 * const serious = (await runAxe(tab.page)).filter((v) => v.impact === "serious" || v.impact === "critical");
 * expect(serious).toEqual([]);
 */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  // Strings, not functions: the testkit compiles without the DOM's types.
  const loaded = (): Promise<boolean> => page.evaluate<boolean>('typeof window.axe === "object"');
  if (!(await loaded())) {
    const refused = await page.addScriptTag({ content: axeScript() }).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (refused !== undefined || !(await loaded())) {
      throw new TestkitError(
        "axe-core did not load: the page's Content-Security-Policy refuses inline scripts; open the tab with { bypassCSP: true } for the axe check",
        { cause: refused },
      );
    }
  }
  return page.evaluate<AxeViolation[]>(`(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ${JSON.stringify(AXE_TAGS)} },
      resultTypes: ["violations"],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String).join(" "), summary: n.failureSummary ?? "" })),
    }));
  })()`);
}

/** The axe rule sets a page is checked against: WCAG 2.0 and 2.1, levels A and AA, and axe's best practices. */
export const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] as const;

/** The violations of impact serious or critical (the ones a test refuses). */
export function seriousViolations(violations: readonly AxeViolation[]): AxeViolation[] {
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}
