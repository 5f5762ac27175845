// The docs page's script, run against the served API: fields start empty, examples are hints, Send builds the URL.
import { createContext, Script } from "node:vm";
import { describe, expect, test, vi } from "vitest";
import { fakeRack } from "../../test/support/fake-fleet.js";
import { buildTestApi, TOKEN } from "../../test/support/test-api.js";

/** Just enough of a DOM element for the page's script: properties, children, listeners. */
class FakeElement {
  readonly kids: Array<FakeElement | string> = [];
  readonly listeners = new Map<string, () => Promise<void> | void>();
  value = "";
  placeholder = "";
  textContent = "";
  name = "";
  constructor(readonly tag: string) {}
  append(...kids: Array<FakeElement | string>): void {
    this.kids.push(...kids);
  }
  addEventListener(type: string, listener: () => Promise<void> | void): void {
    this.listeners.set(type, listener);
  }
  /** Every element below this one, depth first. */
  *descendants(): Generator<FakeElement> {
    for (const kid of this.kids) {
      if (typeof kid === "string") continue;
      yield kid;
      yield* kid.descendants();
    }
  }
}

interface Sent {
  url: string;
  init: RequestInit;
}

/** Loads `GET /api/v1/docs` and runs its script with the app answering its fetches; resolves once it has drawn. */
async function openDocsPage() {
  const api = buildTestApi();
  const html = await (await api.app.request("/api/v1/docs")).text();
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
  const byId = new Map(["token", "actor", "version", "ops"].map((id) => [id, new FakeElement(id)]));
  const sent: Sent[] = [];
  const context = createContext({
    document: {
      createElement: (tag: string) => new FakeElement(tag),
      getElementById: (id: string) => byId.get(id),
    },
    // The token field is filled from this tab's storage.
    sessionStorage: {
      getItem: (key: string) => (key === "fluxrig-token" ? TOKEN : null),
      setItem: () => undefined,
    },
    URLSearchParams,
    encodeURIComponent,
    // The page sits at /api/v1/docs, so its relative "openapi.json" is /api/v1/openapi.json.
    fetch: (url: string, init: RequestInit = {}) => {
      const path = url.startsWith("/") ? url : `/api/v1/${url}`;
      if (path !== "/api/v1/openapi.json") sent.push({ url: path, init });
      return api.app.request(path, init);
    },
  });
  new Script(script).runInContext(context);
  const ops = byId.get("ops")!;
  await vi.waitFor(() => expect(ops.kids.length).toBeGreaterThan(10), { timeout: 5_000 });
  /** The form of one operation, found by its summary line. */
  const operation = (method: string, path: string) => {
    const view = ops.kids.find(
      (kid): kid is FakeElement =>
        typeof kid !== "string" &&
        [...kid.descendants()].some((e) => e.tag === "b" && e.textContent === method) &&
        [...kid.descendants()].some((e) => e.tag === "summary" && e.kids.includes(` ${path}  `)),
    );
    if (!view) throw new Error(`no ${method} ${path} on the page`);
    const input = (name: string) => {
      const found = [...view.descendants()].find((e) => e.tag === "input" && e.name === name);
      if (!found) throw new Error(`no field ${name} on ${method} ${path}`);
      return found;
    };
    const send = async () => {
      const button = [...view.descendants()].find((e) => e.tag === "button")!;
      await button.listeners.get("click")?.();
      return [...view.descendants()].find((e) => e.tag === "pre")!.textContent;
    };
    return { input, send };
  };
  return { api, sent, operation };
}

describe("the docs page", () => {
  test("path and query fields start empty, with the example as a placeholder", async () => {
    const page = await openDocsPage();
    const show = page.operation("GET", "/api/v1/racks/{ref}");
    expect(show.input("ref").value).toBe("");
    expect(show.input("ref").placeholder).toBe("e.g. 216282733276561408");
    const adopt = page.operation("POST", "/api/v1/racks/{ref}/adopt");
    expect(adopt.input("ref").value).toBe("");
    expect(adopt.input("ref").placeholder).toBe("e.g. rack-nyc-01");
    const list = page.operation("GET", "/api/v1/racks");
    expect(list.input("status").value).toBe("");
    expect(list.input("status").placeholder).toContain("pending");
  });

  test("a typed name is sent as typed and finds the Rack", async () => {
    const page = await openDocsPage();
    page.api.fleet.rackRows.set("rack-manual", fakeRack("rack-manual", 7));
    const show = page.operation("GET", "/api/v1/racks/{ref}");
    // Typing appends to whatever the field holds.
    show.input("ref").value += "rack-manual";
    const shown = await show.send();
    expect(page.sent.map((s) => s.url)).toEqual(["/api/v1/racks/rack-manual"]);
    expect(shown).toMatch(/^200 /);
    expect(shown).toContain('"name": "rack-manual"');
  });
});
