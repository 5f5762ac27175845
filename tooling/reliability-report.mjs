#!/usr/bin/env node
// Renders what the fault and fuzz suites recorded (.reports/faults/*.json, .reports/fuzz/*.json) as the markdown
// tables of docs/reliability.md, to stdout and to .reports/reliability.md. Exits 1 when any record shows a loss,
// a crash, a wrongly admitted Rack, a row written from invalid input, a 5xx or a hung request.
//
// Run after `pnpm test:faults` and `pnpm test:fuzz` (both call it), or alone: node tooling/reliability-report.mjs
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const reports = join(root, ".reports");

function records(kind) {
  const dir = join(reports, kind);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));
}

const n = (v) => (typeof v === "number" ? v.toLocaleString("en-US") : "?");
const lines = [];
let bad = 0;

/** A markdown row. */
const row = (cells) => lines.push(`| ${cells.join(" | ")} |`);

/** A heading and a table header; numeric columns (named in `right`) are right-aligned. */
function startTable(title, columns, right) {
  lines.push(`### ${title}`, "");
  row(columns);
  lines.push(`|${columns.map((c) => (right.includes(c) ? "---:" : "---")).join("|")}|`);
}

const faults = records("faults");
if (faults.length > 0) {
  const counts = ["iterations", "rows lost", "crashes", "wrongly admitted"];
  startTable("Faults", ["scenario", ...counts, "passed", "run"], counts);
  for (const r of faults) {
    const worst = r.rowsLost + r.crashes + r.wronglyAdmitted;
    if (worst > 0 || !r.passed) bad++;
    const run = `${r.full_run ? "full" : "sample"}, ${r.finished_at ?? "?"}`;
    const passed = r.passed ? "yes" : "**no**";
    row([r.scenario, ...[r.iterations, r.rowsLost, r.crashes, r.wronglyAdmitted].map(n), passed, run]);
  }
  const skipped = faults.flatMap((r) => r.skipped.map((s) => `- ${r.scenario} / ${s.test}: ${s.reason}`));
  if (skipped.length > 0) lines.push("", "Skipped on this machine:", "", ...skipped);
  lines.push("");
}

const fuzz = records("fuzz");
if (fuzz.length > 0) {
  const counts = ["cases", "crashes", "rows written", "5xx", "hung"];
  startTable("Hostile input", ["property", "target", ...counts, "outcomes"], counts);
  for (const file of fuzz) {
    for (const p of file.properties) {
      if (p.crashes + p.rows_written_from_invalid_input + p.status_5xx + p.hung > 0 || !p.ok) bad++;
      const outcomes = Object.entries(p.outcomes)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(", ");
      const figures = [p.cases, p.crashes, p.rows_written_from_invalid_input, p.status_5xx, p.hung].map(n);
      row([p.property, `\`${p.target}\``, ...figures, outcomes]);
    }
  }
  const runs = fuzz.map(
    (f) =>
      `${f.file}: ${f.full_run ? `full (FLUXRIG_FUZZ_RUNS=${f.fuzz_runs})` : "sample"}, ${Math.round(f.wall_ms / 1000)} s`,
  );
  lines.push("", `Runs: ${runs.join("; ")}.`, "");
  const refused = fuzz.flatMap((f) => f.refused_attacks ?? []);
  if (refused.length > 0) {
    lines.push("Refused at the bus (nats-server in JWT mode):", "");
    for (const a of refused) lines.push(`- ${a.attack}: ${a.observed}`);
    lines.push("");
  }
  const allowed = fuzz.flatMap((f) => f.allowed_attacks ?? []);
  if (allowed.length > 0) {
    lines.push("Allowed by design (recorded, not refused):", "");
    for (const a of allowed) lines.push(`- ${a.attack}: ${a.observed}`);
    lines.push("");
  }
}

if (lines.length === 0) {
  console.error(
    "no records under .reports/faults or .reports/fuzz: run pnpm test:faults / pnpm test:fuzz first",
  );
  process.exit(1);
}
const text = `${lines.join("\n")}\n`;
writeFileSync(join(reports, "reliability.md"), text);
process.stdout.write(text);
if (bad > 0) {
  console.error(`${bad} record(s) show a loss, crash, wrong admission, 5xx or hang`);
  process.exit(1);
}
