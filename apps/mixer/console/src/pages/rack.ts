// One Rack: identity, passport, a chart of its stats, its gears and its events; revoke, replace and remove for admins.

import { linePath, niceMax, type Sample } from "../chart.js";
import type { Ctx } from "../context.js";
import { confirmAction } from "../dialog.js";
import { h, replace, s } from "../dom.js";
import { absoluteTime, describeEvent, formatBytes, namesRack, relativeTime } from "../format.js";
import type { AuditEvent } from "../sse.js";
import { code, facts, statusBadge } from "../widgets.js";
import { hostOf, type Rack, rackPath } from "./rack-types.js";

const CHART_SPAN_MS = 5 * 60_000;
const CHART_W = 320;
const CHART_H = 80;
const EVENTS_SHOWN = 50;

/** A Rack's stats over the last minutes, as `GET /api/v1/racks/{ref}/stats` answers. */
interface StatsHistory {
  window_seconds: number;
  samples: Array<{ at: string; cpu_pct: number | null; rss_bytes: number | null }>;
}

/** The chart's two series from the history. */
interface StatSamples {
  cpu: Sample[];
  rss: Sample[];
}

export function seriesOf(history: StatsHistory): StatSamples {
  const cpu: Sample[] = [];
  const rss: Sample[] = [];
  for (const sample of history.samples) {
    const t = Date.parse(sample.at);
    if (sample.cpu_pct !== null) cpu.push({ t, v: sample.cpu_pct });
    if (sample.rss_bytes !== null) rss.push({ t, v: sample.rss_bytes });
  }
  return { cpu, rss };
}

function chart(name: string, samples: StatSamples): SVGElement {
  const now = Date.now();
  const box = { width: CHART_W, height: CHART_H, spanMs: CHART_SPAN_MS, now };
  const cpuMax = niceMax(samples.cpu.map((x) => x.v));
  const lastCpu = samples.cpu[samples.cpu.length - 1];
  const lastRss = samples.rss[samples.rss.length - 1];
  const label =
    lastCpu === undefined
      ? `Stats of ${name}: no heartbeat with stats seen yet`
      : `CPU of ${name} over the last 5 minutes, latest ${lastCpu.v.toFixed(1)} % (scale 0 to ${cpuMax} %)` +
        (lastRss === undefined ? "" : `; memory ${formatBytes(lastRss.v)}`);
  const rssMax = niceMax(samples.rss.map((x) => x.v));
  return s(
    "svg",
    {
      role: "img",
      "aria-label": label,
      viewBox: `0 0 ${CHART_W} ${CHART_H}`,
      class: "chart",
      preserveAspectRatio: "none",
    },
    s("title", {}, label),
    s("rect", { x: 0, y: 0, width: CHART_W, height: CHART_H, class: "chart-bg" }),
    s("path", { d: linePath(samples.rss, box, rssMax), class: "chart-rss" }),
    s("path", { d: linePath(samples.cpu, box, cpuMax), class: "chart-cpu" }),
  );
}

function gearTable(rack: Rack): HTMLElement {
  if (rack.gears === undefined || rack.gears === null || rack.gears.length === 0) {
    return h(
      "p",
      {},
      rack.stats?.gears === undefined ? "This Rack runs no gears." : "This Rack reports gear totals only.",
    );
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "sr-only" }, `Gears of ${rack.name}`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Gear", "Type", "State", "Restarts", "In", "Out", "Last error"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        ...rack.gears.map((g) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, g.name),
            h("td", {}, g.type),
            h("td", {}, h("span", { class: `status gear-${g.state}`, "data-status": g.state }, g.state)),
            h("td", {}, String(g.restarts)),
            h("td", {}, String(g.in)),
            h("td", {}, String(g.out)),
            h(
              "td",
              {},
              g.last_error === undefined
                ? "none"
                : `${g.last_error.message} (${relativeTime(g.last_error.at, Date.now())})`,
            ),
          ),
        ),
      ),
    ),
  );
}

export function eventRow(event: AuditEvent): HTMLLIElement {
  return h(
    "li",
    { class: "event", "data-event-seq": event.seq },
    h("span", { class: "seq" }, `#${event.seq}`),
    h("time", { datetime: event.at }, absoluteTime(event.at)),
    namesRack(event)
      ? h("a", { href: `#/racks/${event.name}`, class: "event-rack" }, event.name)
      : event.name === null
        ? ""
        : h("span", { class: "event-rack" }, event.name),
    h("span", { class: "event-kind" }, event.kind.replaceAll("_", " ")),
    h("span", { class: "event-what" }, describeEvent(event)),
    event.details?.reason === undefined
      ? ""
      : h("span", { class: "event-reason" }, `reason: ${String(event.details.reason)}`),
  );
}

export function rackPage(ctx: Ctx, main: HTMLElement, name: string): () => void {
  const stop = new AbortController();
  let samples: StatSamples = { cpu: [], rss: [] };
  const title = h("h1", {}, name);
  const body = h("div", { class: "rack-detail" }, h("p", {}, "Loading…"));
  const events = h("ol", { class: "events", "aria-label": `Events of ${name}` });
  main.append(h("p", { class: "crumb" }, h("a", { href: "#/fleet" }, "Fleet"), " / ", name), title, body);
  let current: Rack | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  /** The admin buttons, rebuilt only when the status changes, so a refresh never takes the keyboard focus away. */
  const actions = h("div", { class: "actions" });
  let actionsFor = "";
  const statusLine = h("div", { class: "status-line", "data-rack": name });
  const rest = h("div");

  function drawActions(rack: Rack): void {
    if (actionsFor === rack.status) return;
    actionsFor = rack.status;
    actions.replaceChildren();
    if (rack.status !== "revoked" && rack.status !== "pending" && rack.status !== "rejected") {
      actions.append(
        h("button", { type: "button", class: "btn btn-danger", onclick: () => void revoke() }, "Revoke"),
      );
    }
    actions.append(
      h("button", { type: "button", class: "btn", onclick: () => void replaceKey() }, "Replace"),
      h("button", { type: "button", class: "btn btn-danger", onclick: () => void remove() }, "Remove"),
    );
  }

  function draw(rack: Rack): void {
    current = rack;
    const now = Date.now();
    const passport = rack.passport;
    const admin = ctx.can("admin");
    if (admin) drawActions(rack);
    if (body.firstElementChild !== statusLine) replace(body, statusLine, admin ? actions : "", rest);
    replace(statusLine, statusBadge(rack.status), ` since ${absoluteTime(rack.status_changed_at)}`);
    replace(
      rest,
      h(
        "div",
        { class: "grid" },
        h(
          "section",
          { "aria-labelledby": "identity-h" },
          h("h2", { id: "identity-h" }, "Identity"),
          facts([
            ["Entity id", code(rack.entity_id)],
            ["Entity id (hex)", code(rack.entity_id_hex)],
            ["MachineID", String(rack.machine_id)],
            ["Key fingerprint", code(rack.key_fingerprint)],
            ["Host", hostOf(rack)],
            ["Version", rack.version],
            ["First seen", absoluteTime(rack.first_seen)],
            ["Last seen", `${absoluteTime(rack.last_seen)} (${relativeTime(rack.last_seen, now)})`],
            ["Source", rack.evidence?.last_source ?? "not reported"],
          ]),
        ),
        h(
          "section",
          { "aria-labelledby": "passport-h" },
          h("h2", { id: "passport-h" }, "Passport"),
          passport === null
            ? h("p", {}, "No passport issued.")
            : facts([
                ["Serial", String(passport.serial)],
                ["Issued", absoluteTime(passport.issued_at)],
                [
                  "Expires",
                  `${absoluteTime(passport.expires_at)} (${relativeTime(passport.expires_at, now)})`,
                ],
                ["Revoked", rack.status === "revoked" ? h("strong", { class: "bad" }, "yes") : "no"],
              ]),
        ),
        h(
          "section",
          { "aria-labelledby": "stats-h" },
          h("h2", { id: "stats-h" }, "Stats"),
          chart(rack.name, samples),
          h(
            "p",
            { class: "legend" },
            h("span", { class: "key-cpu" }, "CPU %"),
            " ",
            h("span", { class: "key-rss" }, "memory (RSS)"),
            " · sampled from its heartbeats, last 5 minutes",
          ),
        ),
      ),
      h("section", { "aria-labelledby": "gears-h" }, h("h2", { id: "gears-h" }, "Gears"), gearTable(rack)),
      (rack.evidence?.conflicts.length ?? 0) > 0
        ? h(
            "section",
            { "aria-labelledby": "conflicts-h" },
            h("h2", { id: "conflicts-h" }, "Name conflicts"),
            h(
              "ul",
              {},
              ...(rack.evidence?.conflicts ?? []).map((c) =>
                h(
                  "li",
                  {},
                  code(c.claimed_key_fingerprint),
                  ` ${c.attempts} attempts, last ${absoluteTime(c.last_at)}, from ${c.last_source ?? "unknown"}`,
                ),
              ),
            ),
          )
        : "",
      h("section", { "aria-labelledby": "events-h" }, h("h2", { id: "events-h" }, "Events"), events),
    );
  }

  async function refresh(): Promise<void> {
    try {
      const [rack, history] = await Promise.all([
        ctx.api.get<Rack>(rackPath(name), stop.signal),
        ctx.api.get<StatsHistory>(rackPath(name, "stats"), stop.signal).catch(() => null),
      ]);
      if (history !== null) samples = seriesOf(history);
      draw(rack);
    } catch (err) {
      if (stop.signal.aborted) return;
      replace(
        body,
        h("p", { role: "alert", class: "msg msg-error" }, err instanceof Error ? err.message : String(err)),
      );
    }
  }

  async function loadEvents(): Promise<void> {
    try {
      // The log comes oldest first: read to its end (a page of 1,000 at a time) and keep the newest.
      let latest: AuditEvent[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 50; pages += 1) {
        const query: string = `/api/v1/events?rack=${encodeURIComponent(name)}&limit=1000${after === null ? "" : `&after=${after}`}`;
        const page: { items: AuditEvent[]; next: string | null } = await ctx.api.get(query, stop.signal);
        latest = [...latest, ...page.items].slice(-EVENTS_SHOWN);
        after = page.next;
        if (after === null) break;
      }
      // Live events may have come meanwhile: keep them, add the older ones below.
      const shown = new Set(
        [...events.querySelectorAll<HTMLElement>("[data-event-seq]")].map((e) => e.dataset.eventSeq),
      );
      events.querySelector(".empty")?.remove();
      events.append(
        ...latest
          .reverse()
          .filter((e) => !shown.has(String(e.seq)))
          .map(eventRow),
      );
      if (events.children.length === 0) events.append(h("li", { class: "empty" }, "No events."));
    } catch {
      // The Rack's own error is shown above.
    }
  }

  async function act(
    verb: string,
    what: string,
    confirmText: string,
    run: () => Promise<string>,
    danger = true,
  ): Promise<void> {
    const ok = await confirmAction({
      title: `${verb} ${name}?`,
      body: [h("p", {}, what)],
      confirm: confirmText,
      danger,
    });
    if (!ok) return;
    try {
      ctx.messages.success(await run());
      ctx.refreshCounts();
    } catch (err) {
      ctx.messages.failure(`${verb} refused: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  const revoke = () =>
    act(
      "Revoke",
      `Revoke ${name}: its passport is withdrawn, it stops its gears and telemetry, and its bus key is cut off.`,
      `Revoke ${name}`,
      async () => {
        const rack = await ctx.api.post<Rack>(rackPath(name, "revoke"), {});
        draw(rack);
        return rack.unchanged ? `${name} was already revoked.` : `Revoked ${name}: now ${rack.status}.`;
      },
    );

  const replaceKey = () => {
    const conflict = current?.evidence?.conflicts.at(-1);
    const to =
      conflict === undefined
        ? "the newest key that claimed it (none is recorded: the Mixer will refuse)"
        : `the key ${conflict.claimed_key_fingerprint}`;
    return act(
      "Replace",
      `Replace ${name}: hand the name to ${to}, keeping its MachineID, and revoke the old key ${current?.key_fingerprint ?? ""}.`,
      `Replace ${name}`,
      async () => {
        const result = await ctx.api.post<{ old: Rack; new: Rack }>(rackPath(name, "replace"), {
          keep_machine_id: true,
        });
        draw(result.new);
        return `Replaced ${name}: the new key ${result.new.key_fingerprint} is ${result.new.status}; the old one is ${result.old.status}.`;
      },
    );
  };

  const remove = () =>
    act(
      "Remove",
      `Remove ${name} from the registry: its row is deleted and its key revoked; it may enroll again as a new pending Rack.`,
      `Remove ${name}`,
      async () => {
        const removed = await ctx.api.request<{ name: string; machine_id: number }>(rackPath(name), {
          method: "DELETE",
          json: {},
        });
        location.hash = "#/fleet";
        return `Removed ${removed.name} (MachineID ${removed.machine_id}).`;
      },
    );

  const unsubscribe = ctx.hub.subscribe((event) => {
    if (event.name !== name) return;
    events.querySelector(".empty")?.remove();
    events.prepend(eventRow(event));
    while (events.children.length > EVENTS_SHOWN) events.lastElementChild?.remove();
    if (event.kind !== "rack_deleted") void refresh();
  });

  // The Rack and its stats history, read again at its heartbeat interval while the page is open (the stream carries
  // decisions, not heartbeats).
  void (async () => {
    let interval = 10_000;
    try {
      interval = (await ctx.api.get<{ heartbeat_interval_ms: number }>("/api/v1/cluster", stop.signal))
        .heartbeat_interval_ms;
    } catch {
      // Keep the default.
    }
    const tick = async () => {
      await refresh();
      if (!stop.signal.aborted) timer = setTimeout(tick, Math.max(2000, interval));
    };
    await tick();
  })();
  void loadEvents();
  return () => {
    stop.abort();
    clearTimeout(timer);
    unsubscribe();
  };
}
