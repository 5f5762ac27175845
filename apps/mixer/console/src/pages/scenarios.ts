// Scenarios: the stored ones, a YAML editor checked with errors at their lines, the plan before any activation,
// the history with roll back.
import { ApiError } from "../api.js";
import type { Ctx } from "../context.js";
import { confirmAction } from "../dialog.js";
import { h, replace } from "../dom.js";
import { absoluteTime, nameList } from "../format.js";
import { issuesOf, issueText } from "../scenario-issues.js";
import { statusBadge } from "../widgets.js";

interface Summary {
  name: string;
  version: string;
  active: boolean;
  imported_at: string;
  activated_at: string | null;
  racks: string[];
  gears: number;
  wires: number;
}
interface PlanRack {
  name: string;
  status: string | null;
  action: "adopt" | "push" | "wait" | "drop";
  gears: { start: string[]; stop: string[]; restart: string[]; unchanged: string[] };
}
interface Plan {
  scenario: { name: string; version: string };
  active: { name: string; version: string } | null;
  stored: boolean;
  racks: PlanRack[];
}
interface Activation {
  seq: number;
  name: string;
  version: string;
  at: string;
  actor: string;
  cause: string;
  reason: string | null;
  current: boolean;
}
interface ImportResult {
  scenario: Summary;
  activation?: { adopted: string[]; pushed: string[]; waiting: string[] };
}

const ACTION_WORDS: Record<PlanRack["action"], string> = {
  adopt: "adopted at activation",
  push: "told at once",
  wait: "waits until it enrolls or is adopted",
  drop: "no longer named: its gears stop",
};

export function scenariosPage(ctx: Ctx, main: HTMLElement): () => void {
  const stop = new AbortController();
  const operator = ctx.can("operator");
  const list = h("div", { class: "table-wrap" });
  const history = h("div", { class: "table-wrap" });
  const yaml = h("textarea", {
    id: "scenario-yaml",
    rows: 16,
    spellcheck: "false",
    autocomplete: "off",
    class: "mono",
  });
  const problems = h("div", { class: "problems" });
  const planView = h("div", { class: "plan" });
  const check = h("button", { type: "button", class: "btn" }, "Check");
  const plan = h("button", { type: "button", class: "btn" }, "Plan");
  const activate = h("button", { type: "button", class: "btn btn-primary", disabled: true }, "Activate");
  /** The YAML the last plan was made of: Activate applies exactly what was planned. */
  let planned: { yaml: string; plan: Plan } | null = null;

  main.append(
    h("h1", {}, "Scenarios"),
    h("section", { "aria-labelledby": "stored-h" }, h("h2", { id: "stored-h" }, "Stored scenarios"), list),
    h(
      "section",
      { "aria-labelledby": "editor-h" },
      h("h2", { id: "editor-h" }, "Edit and apply"),
      h(
        "p",
        {},
        "Paste or edit a scenario, check it, plan it to see what would change, then activate the planned version.",
      ),
      h("label", { for: "scenario-yaml" }, "Scenario YAML"),
      yaml,
      h("div", { class: "actions" }, check, plan, operator ? activate : ""),
      problems,
      planView,
    ),
    h("section", { "aria-labelledby": "history-h" }, h("h2", { id: "history-h" }, "History"), history),
  );

  yaml.addEventListener("input", () => {
    if (planned !== null && planned.yaml !== yaml.value) {
      planned = null;
      activate.disabled = true;
      replace(
        planView,
        h("p", { class: "muted" }, "The YAML changed since the plan: plan again before activating."),
      );
    }
  });

  /** Plans the YAML (validation included; a viewer may); shows the problems at their lines when refused. */
  async function runPlan(show: boolean): Promise<Plan | null> {
    replace(problems);
    const text = yaml.value;
    if (text.trim() === "") {
      replace(problems, h("p", { role: "alert", class: "msg msg-error" }, "The scenario is empty."));
      return null;
    }
    try {
      const result = await ctx.api.request<Plan>("/api/v1/scenarios/plan", {
        method: "POST",
        json: { yaml: text },
      });
      if (show) {
        planned = { yaml: text, plan: result };
        activate.disabled = false;
        drawPlan(result);
      }
      return result;
    } catch (err) {
      planned = null;
      activate.disabled = true;
      replace(planView);
      const issues = err instanceof ApiError ? issuesOf(err.details) : [];
      if (issues.length > 0) {
        replace(
          problems,
          h(
            "div",
            { role: "alert", class: "msg msg-error" },
            h(
              "p",
              {},
              `The scenario has ${issues.length === 1 ? "a problem" : `${issues.length} problems`}:`,
            ),
            h("ul", { class: "issues" }, ...issues.map((i) => h("li", {}, issueText(i)))),
          ),
        );
      } else {
        replace(
          problems,
          h("p", { role: "alert", class: "msg msg-error" }, err instanceof Error ? err.message : String(err)),
        );
      }
      return null;
    }
  }

  function drawPlan(p: Plan): void {
    const from = p.active === null ? "no active scenario" : `${p.active.name} version ${p.active.version}`;
    replace(
      planView,
      h("h3", {}, `Plan: ${p.scenario.name} version ${p.scenario.version} (now ${from})`),
      p.stored ? h("p", {}, "This exact version is already stored.") : "",
      p.racks.length === 0
        ? h("p", {}, "No Rack would change.")
        : h(
            "table",
            {},
            h("caption", { class: "sr-only" }, "What activating would change, per Rack"),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ...["Rack", "Status", "Action", "Start", "Restart", "Stop", "Unchanged"].map((t) =>
                  h("th", { scope: "col" }, t),
                ),
              ),
            ),
            h(
              "tbody",
              {},
              ...p.racks.map((r) =>
                h(
                  "tr",
                  { "data-rack": r.name },
                  h("th", { scope: "row" }, r.name),
                  h(
                    "td",
                    {},
                    r.status === null
                      ? h(
                          "span",
                          { "data-status": "unknown", class: "status status-unknown" },
                          "not enrolled",
                        )
                      : statusBadge(r.status),
                  ),
                  h("td", {}, `${r.action}: ${ACTION_WORDS[r.action]}`),
                  h("td", {}, r.gears.start.join(", ") || "none"),
                  h("td", {}, r.gears.restart.join(", ") || "none"),
                  h("td", {}, r.gears.stop.join(", ") || "none"),
                  h("td", {}, r.gears.unchanged.join(", ") || "none"),
                ),
              ),
            ),
          ),
    );
  }

  check.addEventListener("click", async () => {
    const result = await runPlan(false);
    if (result !== null) {
      replace(
        problems,
        h(
          "p",
          { role: "status", class: "msg msg-ok" },
          `No problems: ${result.scenario.name} version ${result.scenario.version} is valid.`,
        ),
      );
    }
  });
  plan.addEventListener("click", () => void runPlan(true));
  activate.addEventListener("click", async () => {
    if (planned === null) return;
    const { plan: p, yaml: text } = planned;
    const by = (action: PlanRack["action"]) => p.racks.filter((r) => r.action === action).map((r) => r.name);
    const lines = (["adopt", "push", "wait", "drop"] as const)
      .filter((a) => by(a).length > 0)
      .map((a) => h("li", {}, `${a}: ${nameList(by(a), 8)}`));
    const ok = await confirmAction({
      title: `Activate ${p.scenario.name} version ${p.scenario.version}?`,
      body: [
        h(
          "p",
          {},
          `Activate scenario ${p.scenario.name} version ${p.scenario.version}${p.active === null ? "" : `, replacing ${p.active.name} version ${p.active.version}`}:`,
        ),
        lines.length === 0 ? h("p", {}, "No Rack changes.") : h("ul", {}, ...lines),
      ],
      confirm: `Activate ${p.scenario.name} version ${p.scenario.version}`,
    });
    if (!ok) return;
    try {
      const result = await ctx.api.request<ImportResult>("/api/v1/scenarios", {
        method: "POST",
        json: { yaml: text, activate: true },
      });
      const a = result.activation;
      ctx.messages.success(
        `Activated ${result.scenario.name} version ${result.scenario.version}` +
          (a === undefined
            ? "."
            : `: adopted ${a.adopted.length}, pushed to ${a.pushed.length}, waiting ${a.waiting.length}.`),
      );
      planned = null;
      activate.disabled = true;
      replace(planView);
      void load();
    } catch (err) {
      const issues = err instanceof ApiError ? issuesOf(err.details) : [];
      ctx.messages.failure(
        `Activate refused: ${err instanceof Error ? err.message : String(err)}${issues.length > 0 ? ` (${issues.map(issueText).join("; ")})` : ""}`,
      );
    }
  });

  async function rollback(target: Activation, currentOne: Activation | undefined): Promise<void> {
    const ok = await confirmAction({
      title: "Roll back the scenario?",
      body: [
        h(
          "p",
          {},
          `Roll back: re-activate ${target.name} version ${target.version}${currentOne === undefined ? "" : `, replacing ${currentOne.name} version ${currentOne.version}`}, from its kept YAML.`,
        ),
      ],
      confirm: `Roll back to ${target.name} version ${target.version}`,
    });
    if (!ok) return;
    try {
      const result = await ctx.api.post<ImportResult>("/api/v1/scenarios/rollback", {});
      ctx.messages.success(
        `Rolled back: ${result.scenario.name} version ${result.scenario.version} is active.`,
      );
      void load();
    } catch (err) {
      ctx.messages.failure(`Roll back refused: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async function load(): Promise<void> {
    const [scenarios, active, hist] = await Promise.allSettled([
      ctx.api.get<{ items: Summary[] }>("/api/v1/scenarios", stop.signal),
      ctx.api.get<Summary & { yaml: string }>("/api/v1/scenarios/active", stop.signal),
      ctx.api.get<{ items: Activation[] }>("/api/v1/scenarios/history", stop.signal),
    ]);
    if (stop.signal.aborted) return;
    if (scenarios.status === "fulfilled") {
      const items = scenarios.value.items;
      replace(
        list,
        items.length === 0
          ? h("p", {}, "No scenario is stored yet.")
          : h(
              "table",
              {},
              h("caption", { class: "sr-only" }, "Stored scenarios"),
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  ...["Name", "Version", "State", "Racks", "Gears", "Wires", "Imported"].map((t) =>
                    h("th", { scope: "col" }, t),
                  ),
                ),
              ),
              h(
                "tbody",
                {},
                ...items.map((sc) =>
                  h(
                    "tr",
                    {},
                    h("th", { scope: "row" }, sc.name),
                    h("td", {}, sc.version),
                    h("td", {}, sc.active ? h("strong", {}, "active") : "stored"),
                    h("td", {}, nameList(sc.racks, 5)),
                    h("td", {}, String(sc.gears)),
                    h("td", {}, String(sc.wires)),
                    h("td", {}, absoluteTime(sc.imported_at)),
                  ),
                ),
              ),
            ),
      );
    } else replace(list, h("p", { role: "alert", class: "msg msg-error" }, String(scenarios.reason)));
    if (active.status === "fulfilled" && yaml.value === "") yaml.value = active.value.yaml;
    if (hist.status === "fulfilled") {
      const items = hist.value.items;
      const currentOne = items.find((a) => a.current);
      // Roll back re-activates the newest activation of another version than the one in force.
      const target = items.find(
        (a) =>
          currentOne !== undefined &&
          !a.current &&
          (a.name !== currentOne.name || a.version !== currentOne.version),
      );
      replace(
        history,
        items.length === 0
          ? h("p", {}, "No activation yet.")
          : h(
              "table",
              {},
              h("caption", { class: "sr-only" }, "Activations, newest first"),
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  ...["#", "Scenario", "Version", "When", "By", "Cause", "Reason", ""].map((t) =>
                    h("th", { scope: "col" }, t === "" ? h("span", { class: "sr-only" }, "Action") : t),
                  ),
                ),
              ),
              h(
                "tbody",
                {},
                ...items.map((a) =>
                  h(
                    "tr",
                    { class: a.current ? "current" : "" },
                    h("td", {}, String(a.seq)),
                    h("th", { scope: "row" }, a.name),
                    h("td", {}, a.version, a.current ? h("strong", {}, " (in force)") : ""),
                    h("td", {}, absoluteTime(a.at)),
                    h("td", {}, a.actor),
                    h("td", {}, a.cause),
                    h("td", {}, a.reason ?? ""),
                    h(
                      "td",
                      {},
                      operator && a === target
                        ? h(
                            "button",
                            { type: "button", class: "btn", onclick: () => void rollback(a, currentOne) },
                            "Roll back",
                            h("span", { class: "sr-only" }, ` to ${a.name} version ${a.version}`),
                          )
                        : "",
                    ),
                  ),
                ),
              ),
            ),
      );
    } else replace(history, h("p", {}, "No history yet."));
  }

  const unsubscribe = ctx.hub.subscribe((event) => {
    if (event.kind === "scenario_activated" || event.kind === "scenario_imported") void load();
  });
  void load();
  return () => {
    stop.abort();
    unsubscribe();
  };
}
