// The console's entry: sign-in, the header and navigation, the hash router, and the one event stream per page load.
import { Api, ApiError, type Role } from "./api.js";
import { type Ctx, EventHub, Messages, makeCan, type Page, type Session } from "./context.js";
import { whenConfirmed } from "./dialog.js";
import { h, replace } from "./dom.js";
import { eventsPage } from "./pages/events.js";
import { fleetPage } from "./pages/fleet.js";
import { pendingPage } from "./pages/pending.js";
import { rackPage } from "./pages/rack.js";
import { scenariosPage } from "./pages/scenarios.js";
import { followAudit } from "./sse.js";

/** The tab's token, in sessionStorage only (the docs page at /api/v1/docs reads the same key). */
const TOKEN_KEY = "fluxrig-token";
const root = document.getElementById("app")!;

const ROUTES: Array<{ pattern: RegExp; page: Page; title: string }> = [
  { pattern: /^#\/pending$/, page: pendingPage, title: "Pending" },
  { pattern: /^#\/fleet$/, page: fleetPage, title: "Fleet" },
  { pattern: /^#\/racks\/([a-z0-9-]{1,63})$/, page: rackPage, title: "Rack" },
  { pattern: /^#\/scenarios$/, page: scenariosPage, title: "Scenarios" },
  { pattern: /^#\/events$/, page: eventsPage, title: "Events" },
];

function showSignIn(problem?: string): void {
  document.title = "Sign in · fluxrig console";
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    required: true,
    spellcheck: "false",
  });
  const alert = h("div", { class: "signin-alert" });
  if (problem !== undefined) alert.append(h("p", { role: "alert", class: "msg msg-error" }, problem));
  const button = h("button", { type: "submit", class: "btn btn-primary" }, "Sign in");
  const form = h(
    "form",
    { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "fluxrig console"),
    h(
      "p",
      {},
      "Sign in with an API token: the bootstrap token of mixer.toml or a named token (fluxrig tokens create).",
    ),
    h("label", { for: "token" }, "API token"),
    input,
    alert,
    button,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (token === "") return;
    button.disabled = true;
    alert.replaceChildren();
    try {
      const session = await new Api(token).get<Session>("/api/v1/session");
      sessionStorage.setItem(TOKEN_KEY, token);
      input.value = "";
      startApp(token, session);
    } catch (err) {
      const text =
        err instanceof ApiError && (err.status === 401 || err.status === 403)
          ? "The token was not accepted. Check it and try again."
          : `Cannot sign in: ${err instanceof Error ? err.message : String(err)}`;
      alert.replaceChildren(h("p", { role: "alert", class: "msg msg-error" }, text));
      button.disabled = false;
      input.focus();
    }
  });
  replace(root, h("main", { class: "signin-page" }, form));
  input.focus();
}

let stopApp: (() => void) | undefined;

function signOut(problem?: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  stopApp?.();
  stopApp = undefined;
  history.replaceState(null, "", location.pathname);
  showSignIn(problem);
}

function startApp(token: string, session: Session): void {
  stopApp?.();
  const streamStop = new AbortController();
  const api = new Api(token, () => {
    // The token stopped working (revoked): back to the sign-in form, saying why.
    if (!streamStop.signal.aborted) signOut("The token is no longer accepted. Sign in again.");
  });
  const hub = new EventHub();
  const messages = new Messages();
  // A new action's result replaces the last one's; until it comes, neither a stale success nor a stale refusal shows.
  whenConfirmed(() => messages.clear());
  const pendingCount = h("span", { class: "count", "aria-label": "pending Racks" });
  const live = h("span", { class: "live" }, "connecting");
  const nav = h(
    "nav",
    { "aria-label": "Main" },
    h("a", { href: "#/pending", "data-nav": "pending" }, "Pending ", pendingCount),
    h("a", { href: "#/fleet", "data-nav": "fleet" }, "Fleet"),
    h("a", { href: "#/scenarios", "data-nav": "scenarios" }, "Scenarios"),
    h("a", { href: "#/events", "data-nav": "events" }, "Events"),
  );
  const header = h(
    "header",
    { class: "top" },
    h("a", { href: "#/pending", class: "brand" }, "fluxrig"),
    nav,
    h(
      "div",
      { class: "who" },
      live,
      h(
        "span",
        { class: "session" },
        h("span", { class: "session-name" }, session.name),
        " ",
        h("span", { class: "role" }, `(${session.role})`),
      ),
      h("button", { type: "button", class: "btn", onclick: () => signOut() }, "Sign out"),
    ),
  );
  const main = h("main", { id: "main", tabindex: "-1" });
  replace(root, header, messages.element, main);

  let countTimer: ReturnType<typeof setTimeout> | undefined;
  const refreshCounts = () => {
    clearTimeout(countTimer);
    countTimer = setTimeout(async () => {
      try {
        const cluster = await api.get<{ counts: Record<string, number> }>("/api/v1/cluster");
        pendingCount.textContent = String(cluster.counts.pending ?? 0);
      } catch {
        // The header keeps its last count; pages show their own errors.
      }
    }, 150);
  };
  const ctx: Ctx = {
    api,
    session,
    hub,
    messages,
    refreshCounts,
    can: makeCan(session) as (r: Role) => boolean,
  };

  const unsubscribeCounts = hub.subscribe((event) => {
    if (event.kind === "status_changed" || event.kind === "rack_enrolled" || event.kind === "rack_deleted")
      refreshCounts();
  });
  void followAudit(
    api,
    {
      onCursor: (seq) => hub.setCursor(seq),
      onEvent: (event) => hub.emit(event),
      onRefused: () => {
        if (!streamStop.signal.aborted) signOut("The token is no longer accepted. Sign in again.");
      },
      onState: (up) => {
        live.textContent = up ? "live" : "reconnecting";
        live.classList.toggle("live-down", !up);
      },
    },
    streamStop.signal,
  );
  refreshCounts();

  let leave: (() => void) | undefined;
  const route = () => {
    leave?.();
    leave = undefined;
    messages.clear();
    if (location.hash === "" || location.hash === "#" || location.hash === "#/") {
      history.replaceState(null, "", "#/pending");
    }
    const hash = location.hash;
    const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(hash) })).find((x) => x.m !== null);
    for (const link of nav.querySelectorAll("a")) {
      const current = match !== undefined && hash.startsWith(`#/${link.dataset.nav}`);
      if (current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (match === undefined) {
      document.title = "Not found · fluxrig console";
      replace(
        main,
        h("h1", {}, "Not found"),
        h("p", {}, "No such page. ", h("a", { href: "#/pending" }, "Go to Pending")),
      );
      return;
    }
    document.title = `${match.r.title} · fluxrig console`;
    main.replaceChildren();
    leave = match.r.page(ctx, main, decodeURIComponent(match.m?.[1] ?? ""));
  };
  // After following a link, the keyboard and screen readers continue at the new page, not at the link left behind.
  const navigate = () => {
    route();
    main.focus();
  };
  window.addEventListener("hashchange", navigate);
  route();

  stopApp = () => {
    streamStop.abort();
    leave?.();
    leave = undefined;
    unsubscribeCounts();
    clearTimeout(countTimer);
    window.removeEventListener("hashchange", navigate);
  };
}

async function boot(): Promise<void> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token === null || token === "") return showSignIn();
  try {
    startApp(token, await new Api(token).get<Session>("/api/v1/session"));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      sessionStorage.removeItem(TOKEN_KEY);
      return showSignIn("The saved token is no longer accepted. Sign in again.");
    }
    showSignIn(`Cannot reach the Mixer: ${err instanceof Error ? err.message : String(err)}`);
  }
}

void boot();
