// The fleet: every Rack, filtered by status and searched by name or id, in a virtual list (10,000 Racks draw as
// fast as 30), kept current from the event stream (no polling per row).
import type { Ctx } from "../context.js";
import { h } from "../dom.js";
import { type FleetRow, FleetStore } from "../fleet-store.js";
import { countRacks, gearSummary, gearsUnhealthy, relativeTime, STATUSES } from "../format.js";
import { VirtualList } from "../virtual-list.js";
import { statusBadge } from "../widgets.js";
import { hostOf, type Rack, type RackPage, rackPath } from "./rack-types.js";

const ROW_HEIGHT = 48;
/** The first page is small so the first paint comes at once; the rest follow in the largest pages the API gives. */
const FIRST_PAGE = 200;
const NEXT_PAGE = 1000;

export function toRow(rack: Rack): FleetRow {
  return {
    name: rack.name,
    entity_id: rack.entity_id,
    entity_id_hex: rack.entity_id_hex,
    status: rack.status,
    last_seen: rack.last_seen,
    version: rack.version,
    host: hostOf(rack),
    gears: gearSummary(rack.stats),
    gearsBad: gearsUnhealthy(rack.stats),
  };
}

export function fleetPage(ctx: Ctx, main: HTMLElement): () => void {
  const stop = new AbortController();
  const store = new FleetStore();
  let visible: number[] = [];
  let loaded = false;
  let counts: Record<string, number> | null = null;
  let activeScenario: { name: string; racks: Set<string> } | null = null;

  const statusSelect = h(
    "select",
    { id: "fleet-status" },
    h("option", { value: "" }, "All"),
    ...STATUSES.map((s) => h("option", { value: s }, s)),
  );
  const search = h("input", {
    id: "fleet-search",
    type: "search",
    placeholder: "name or entity id",
    autocomplete: "off",
    spellcheck: "false",
  });
  const count = h("p", { class: "count-line", "aria-live": "polite" }, "Loading…");
  const progress = h("p", { class: "progress" });

  const renderRow = (index: number): HTMLLIElement => {
    const row = store.rows[visible[index]!]!;
    const now = Date.now();
    return h(
      "li",
      { class: "fleet-row", "data-rack": row.name },
      h("a", { href: `#/racks/${row.name}`, class: "cell name" }, row.name),
      h("span", { class: "cell" }, statusBadge(row.status)),
      h("span", { class: "cell seen", title: row.last_seen ?? "never" }, relativeTime(row.last_seen, now)),
      h("span", { class: "cell version" }, row.version),
      h("span", { class: "cell host" }, row.host),
      h(
        "span",
        { class: "cell scenario" },
        activeScenario?.racks.has(row.name) ? activeScenario.name : "none",
      ),
      h("span", { class: row.gearsBad ? "cell gears bad" : "cell gears" }, row.gears),
    );
  };
  const vlist = new VirtualList(ROW_HEIGHT, renderRow, "Racks");

  const filter = () => ({ status: statusSelect.value, search: search.value });
  const update = () => {
    visible = store.filter(filter());
    vlist.setCount(visible.length);
    const f = filter();
    // Until every page is in, the counts the Mixer keeps give the number (the search needs the rows).
    if (!loaded && f.search.trim() === "" && counts !== null) {
      count.textContent = countRacks(f.status === "" ? (counts.total ?? 0) : (counts[f.status] ?? 0));
    } else count.textContent = countRacks(visible.length);
  };
  let pending: number | undefined;
  const updateSoon = () => {
    if (pending !== undefined) return;
    pending = requestAnimationFrame(() => {
      pending = undefined;
      update();
    });
  };
  statusSelect.addEventListener("change", update);
  search.addEventListener("input", update);

  main.append(
    h("h1", {}, "Fleet"),
    h(
      "div",
      { class: "toolbar" },
      h("label", { for: "fleet-status" }, "Status"),
      statusSelect,
      h("label", { for: "fleet-search" }, "Search"),
      search,
    ),
    count,
    progress,
    h(
      "div",
      { class: "fleet-head", "aria-hidden": "true" },
      ...["Name", "Status", "Last seen", "Version", "Host", "Scenario", "Gears"].map((t) =>
        h("span", { class: `cell col-${t.toLowerCase().replace(" ", "-")}` }, t),
      ),
    ),
    vlist.element,
  );

  async function load(): Promise<void> {
    // The counts, the active scenario and the first page are asked at once: the first paint waits for the slowest.
    const side = Promise.allSettled([
      ctx.api.get<{ counts: Record<string, number> }>("/api/v1/cluster", stop.signal),
      ctx.api.get<{ name: string; racks: string[] }>("/api/v1/scenarios/active", stop.signal),
    ]).then(([cluster, active]) => {
      if (cluster.status === "fulfilled") counts = cluster.value.counts;
      if (active.status === "fulfilled")
        activeScenario = { name: active.value.name, racks: new Set(active.value.racks) };
    });
    const first = ctx.api.get<RackPage>(`/api/v1/racks?limit=${FIRST_PAGE}`, stop.signal);
    // Its failure is handled where it is awaited, below; this only keeps it from counting as unhandled meanwhile.
    first.catch(() => undefined);
    await side;
    let after: string | null = null;
    for (let n = 0; ; n += 1) {
      const q: string = `/api/v1/racks?limit=${NEXT_PAGE}&after=${after}`;
      const page: RackPage = n === 0 ? await first : await ctx.api.get<RackPage>(q, stop.signal);
      store.add(page.items.map(toRow));
      after = page.next;
      if (after === null) break;
      progress.textContent = `Loaded ${store.rows.length} of about ${counts?.total ?? "?"}…`;
      update();
    }
    loaded = true;
    progress.textContent = "";
    update();
  }

  const unsubscribe = ctx.hub.subscribe((event) => {
    if (event.name === null) return;
    const name = event.name;
    if (event.kind === "status_changed" && event.to_status !== null) {
      if (counts !== null && event.from_status !== null) {
        counts[event.from_status] = Math.max(0, (counts[event.from_status] ?? 1) - 1);
        counts[event.to_status] = (counts[event.to_status] ?? 0) + 1;
      }
      if (store.setStatus(name, event.to_status)) updateSoon();
    } else if (event.kind === "rack_deleted") {
      if (store.remove(name)) updateSoon();
    } else if (event.kind === "rack_enrolled") {
      void ctx.api
        .get<Rack>(rackPath(name), stop.signal)
        .then((rack) => {
          store.upsert(toRow(rack));
          updateSoon();
        })
        .catch(() => undefined);
    }
  });
  // "Last seen 5 s ago" ages; the rows in view are redrawn with the time, no request made.
  const ageing = setInterval(() => vlist.refresh(), 5000);

  load().catch((err) => {
    if (stop.signal.aborted) return;
    ctx.messages.failure(`Cannot load the fleet: ${err instanceof Error ? err.message : String(err)}`);
  });
  return () => {
    stop.abort();
    unsubscribe();
    clearInterval(ageing);
    vlist.destroy();
    if (pending !== undefined) cancelAnimationFrame(pending);
  };
}
