// How scenarios look: the list, the active one, an import or activation result, a plan, the activation history, and
// validation issues on the file.
import type {
  ActiveScenario,
  ScenarioActivation,
  ScenarioImportResult,
  ScenarioIssue,
  ScenarioPlan,
  ScenarioSummary,
} from "../api-types.js";
import { renderFields, renderTable } from "../columns.js";
import type { Colors } from "../output.js";
import { formatRelative, formatTimestamp } from "../relative-time.js";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The `scenario list` table. */
export function scenarioTable(items: readonly ScenarioSummary[], c: Colors, now: Date): string {
  return renderTable(
    items,
    [
      { header: "NAME", value: (s) => c.bold(s.name) },
      { header: "VERSION", value: (s) => s.version },
      { header: "ACTIVE", value: (s) => (s.active ? c.green("yes") : "no") },
      { header: "RACKS", value: (s) => String(s.racks.length), align: "right" },
      { header: "GEARS", value: (s) => String(s.gears), align: "right" },
      { header: "WIRES", value: (s) => String(s.wires), align: "right" },
      { header: "IMPORTED", value: (s) => formatRelative(s.imported_at, now) },
      { header: "ACTIVATED", value: (s) => (s.activated_at ? formatRelative(s.activated_at, now) : "-") },
    ],
    c.dim,
  );
}

function summaryFields(s: ScenarioSummary, c: Colors, now: Date): Array<[string, string]> {
  return [
    ["name", c.bold(s.name)],
    ["version", s.version],
    ["active", s.active ? c.green("yes") : "no"],
    ["racks", s.racks.length > 0 ? s.racks.join(", ") : "none"],
    ["gears", String(s.gears)],
    ["wires", String(s.wires)],
    ["imported", formatTimestamp(s.imported_at, now)],
    ["activated", s.activated_at ? formatTimestamp(s.activated_at, now) : "never"],
  ];
}

/** `scenario show`: the active scenario's summary, then its YAML. */
export function activeScenarioText(s: ActiveScenario, c: Colors, now: Date): string {
  return `${renderFields(summaryFields(s, c, now), c.dim)}\n\n${c.dim("---")}\n${s.yaml.trimEnd()}`;
}

const ACTION_TEXT: Record<ScenarioPlan["racks"][number]["action"], string> = {
  adopt: "adopted (pending now)",
  push: "pushed at once",
  wait: "waits: gets its gears when it is adopted",
  drop: "no longer named: pushed at once, stops its gears",
};

/** `scenario plan`: what activating the file would change, Rack by Rack, against the active scenario. */
export function planText(p: ScenarioPlan, c: Colors): string {
  const against = p.active ? `${p.active.name} version ${p.active.version}` : "no active scenario";
  const lines = [
    `plan: ${c.bold(p.scenario.name)} version ${p.scenario.version} against ${against}${p.stored ? " (this version is already stored)" : ""}; nothing was changed`,
  ];
  if (p.racks.length === 0) lines.push("no Rack is touched");
  for (const rack of p.racks) {
    lines.push(
      "",
      `${c.bold(rack.name)} ${c.dim(`[${rack.status ?? "not enrolled"}]`)} ${ACTION_TEXT[rack.action]}`,
    );
    const g = rack.gears;
    if (g.start.length > 0) lines.push(`  ${c.green("+ start")}    ${g.start.join(", ")}`);
    if (g.restart.length > 0) lines.push(`  ${c.yellow("~ restart")}  ${g.restart.join(", ")}`);
    if (g.stop.length > 0) lines.push(`  ${c.red("- stop")}     ${g.stop.join(", ")}`);
    if (g.unchanged.length > 0) lines.push(`  ${c.dim("= keep")}     ${g.unchanged.join(", ")}`);
    if (g.start.length + g.restart.length + g.stop.length + g.unchanged.length === 0)
      lines.push("  no gears");
  }
  return lines.join("\n");
}

/** `scenario history`: activations, newest first. */
export function historyTable(items: readonly ScenarioActivation[], c: Colors, now: Date): string {
  return renderTable(
    items,
    [
      { header: "#", value: (a) => String(a.seq), align: "right" },
      { header: "NAME", value: (a) => c.bold(a.name) },
      { header: "VERSION", value: (a) => a.version },
      { header: "ACTIVATED", value: (a) => formatRelative(a.at, now) },
      { header: "BY", value: (a) => a.actor },
      { header: "CAUSE", value: (a) => a.cause },
      { header: "CURRENT", value: (a) => (a.current ? c.green("yes") : "") },
      { header: "REASON", value: (a) => a.reason ?? "" },
    ],
    c.dim,
  );
}

/** What an import or activation did, or would do under --dry-run. */
export function importResultText(r: ScenarioImportResult, c: Colors, opts: { verb: string }): string {
  const s = r.scenario;
  const what = `${c.bold(s.name)} version ${s.version} (${plural(s.racks.length, "rack")}, ${plural(s.gears, "gear")}, ${plural(s.wires, "wire")})`;
  const lines = [r.dry_run ? `valid: ${what}; dry run, nothing was imported` : `${opts.verb} ${what}`];
  const a = r.activation;
  if (a) {
    const prefix = r.dry_run ? "would be " : "";
    if (a.adopted.length > 0) lines.push(`${prefix}adopted: ${a.adopted.join(", ")}`);
    if (a.pushed.length > 0) lines.push(`${r.dry_run ? "would push" : "pushed"} to: ${a.pushed.join(", ")}`);
    if (a.waiting.length > 0)
      lines.push(`waiting for: ${a.waiting.join(", ")} (not active yet; they get it on adoption)`);
    if (!r.dry_run && a.adopted.length + a.pushed.length + a.waiting.length === 0)
      lines.push("active; no Rack to push to");
  }
  return lines.join("\n");
}

/**
 * Validation issues against the file, compiler style, with the offending line and a caret:
 *
 *     edge.yaml:4:11: gears.0.type: expected one of ticker, transform, counter
 *         4 |   - { name: tick, type: tickr }
 *           |           ^
 *
 * @example
 * issueLines({ file: "a.yaml", source: "x\n", issues: [{ path: "meta", message: "required", line: 1, column: 1 }] });
 */
export function issueLines(opts: {
  file: string;
  source: string;
  issues: readonly ScenarioIssue[];
}): string[] {
  const sourceLines = opts.source.split(/\r?\n/);
  const out: string[] = [];
  for (const issue of opts.issues) {
    const at =
      issue.line !== undefined ? `:${issue.line}${issue.column !== undefined ? `:${issue.column}` : ""}` : "";
    out.push(`${opts.file}${at}: ${issue.path ? `${issue.path}: ` : ""}${issue.message}`);
    const text = issue.line !== undefined ? sourceLines[issue.line - 1] : undefined;
    if (issue.line !== undefined && text !== undefined) {
      const num = String(issue.line);
      out.push(`    ${num} | ${text}`);
      if (issue.column !== undefined && issue.column >= 1) {
        out.push(`    ${" ".repeat(num.length)} | ${" ".repeat(issue.column - 1)}^`);
      }
    }
  }
  return out;
}
