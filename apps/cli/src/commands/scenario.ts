// `fluxrig scenario`: apply or plan a YAML file (validation issues shown on its lines), list, activate, show the active
// one, history, rollback.
import { readFile } from "node:fs/promises";
import { text as readStream } from "node:stream/consumers";
import type { Command } from "commander";
import type {
  ActiveScenario,
  ScenarioHistory,
  ScenarioImportResult,
  ScenarioIssue,
  ScenarioPlan,
  ScenarioSummary,
} from "../api-types.js";
import { parseScenarioName } from "../arg-parsers.js";
import type { CliContext } from "../cli-context.js";
import { CliError, withNotes } from "../cli-error.js";
import { jsonOption, reasonOption, withExamples } from "../command-kit.js";
import { EXIT } from "../exit-codes.js";
import {
  activeScenarioText,
  historyTable,
  importResultText,
  issueLines,
  planText,
  scenarioTable,
} from "../views/scenario-views.js";

// The Mixer's own cap (MAX_SCENARIO_BYTES); checked here too so a huge file fails before it is sent.
const MAX_SCENARIO_BYTES = 256 * 1024;

async function readScenarioFile(ctx: CliContext, file: string): Promise<string> {
  let text: string;
  try {
    text = file === "-" ? await readStream(ctx.deps.io.stdin()) : await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (code ?? "unreadable");
    throw new CliError("file", `cannot read ${file}: ${why}`, { exitCode: EXIT.refused, cause: err });
  }
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_SCENARIO_BYTES) {
    throw new CliError(
      "too_large",
      `${file} is ${bytes} bytes; a scenario is at most ${MAX_SCENARIO_BYTES}`,
      {
        exitCode: EXIT.refused,
      },
    );
  }
  return text;
}

function isIssueList(v: unknown): v is ScenarioIssue[] {
  return (
    Array.isArray(v) && v.every((i) => typeof i === "object" && i !== null && typeof i.message === "string")
  );
}

function registerApply(scenario: Command, ctx: CliContext): void {
  const cmd = scenario
    .command("apply")
    .description("Import a scenario YAML file (validated by the Mixer; issues are shown on their lines)")
    .argument("<file>", "the scenario YAML, or - for stdin")
    .option("--activate", "activate it at once: adopts the Racks it names and pushes their gears")
    .option("--dry-run", "only validate; import nothing")
    .addOption(reasonOption())
    .addOption(jsonOption())
    .action(
      async (
        file: string,
        opts: { activate?: boolean; dryRun?: boolean; reason?: string; json?: boolean },
        command: Command,
      ) => {
        const yaml = await readScenarioFile(ctx, file);
        const api = await ctx.api(command);
        const result = await withIssueLines(file, yaml, () =>
          api.post<ScenarioImportResult>("/api/v1/scenarios", {
            yaml,
            dry_run: opts.dryRun === true,
            activate: opts.activate === true,
            ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
          }),
        );
        if (opts.json) return ctx.out.json(result);
        ctx.out.print(
          importResultText(result, ctx.out.c, {
            verb: opts.activate ? "imported and activated" : "imported",
          }),
        );
      },
    );
  withExamples(cmd, [
    "scenario apply edge-demo.yaml --dry-run",
    "scenario apply edge-demo.yaml --activate",
    "cat edge-demo.yaml | fluxrig scenario apply - --json",
  ]);
}

/** Runs a request sending `yaml`; a refusal listing validation issues shows them on the file's lines. */
async function withIssueLines<T>(file: string, yaml: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    const issues = err instanceof CliError ? err.details?.issues : undefined;
    if (err instanceof CliError && isIssueList(issues)) {
      throw withNotes(err, issueLines({ file: file === "-" ? "<stdin>" : file, source: yaml, issues }));
    }
    throw err;
  }
}

function registerPlan(scenario: Command, ctx: CliContext): void {
  const cmd = scenario
    .command("plan")
    .description(
      "Show what activating a scenario file would change, per Rack, against the active one: Racks adopted, gears " +
        "started, stopped, restarted or kept. Nothing is imported or changed",
    )
    .argument("<file>", "the scenario YAML, or - for stdin")
    .addOption(jsonOption())
    .action(async (file: string, opts: { json?: boolean }, command: Command) => {
      const yaml = await readScenarioFile(ctx, file);
      const api = await ctx.api(command);
      const plan = await withIssueLines(file, yaml, () =>
        api.post<ScenarioPlan>("/api/v1/scenarios/plan", { yaml }),
      );
      if (opts.json) return ctx.out.json(plan);
      ctx.out.print(planText(plan, ctx.out.c));
    });
  withExamples(cmd, [
    "scenario plan edge-demo.yaml",
    "scenario plan edge-demo.yaml --json | jq '.racks[].gears'",
  ]);
}

function registerHistory(scenario: Command, ctx: CliContext): void {
  const cmd = scenario
    .command("history")
    .description("List every scenario activation, newest first: version, when, by whom, why")
    .argument("[name]", "only this scenario's activations", parseScenarioName)
    .addOption(jsonOption())
    .action(async (name: string | undefined, opts: { json?: boolean }, command: Command) => {
      const query = name === undefined ? "" : `?name=${encodeURIComponent(name)}`;
      const body = await (await ctx.api(command)).get<ScenarioHistory>(`/api/v1/scenarios/history${query}`);
      if (opts.json) return ctx.out.json(body);
      if (body.items.length === 0) ctx.out.note("no activations yet");
      else ctx.out.print(historyTable(body.items, ctx.out.c, ctx.now()));
    });
  withExamples(cmd, ["scenario history", "scenario history edge-demo --json"]);
}

function registerRollback(scenario: Command, ctx: CliContext): void {
  const cmd = scenario
    .command("rollback")
    .description(
      "Re-activate the previously active scenario version (a new activation, audited as a rollback); refused when " +
        "no other version was ever activated",
    )
    .addOption(reasonOption())
    .addOption(jsonOption())
    .action(async (opts: { reason?: string; json?: boolean }, command: Command) => {
      const body = opts.reason === undefined ? undefined : { reason: opts.reason };
      const result = await (await ctx.api(command)).post<ScenarioImportResult>(
        "/api/v1/scenarios/rollback",
        body,
      );
      if (opts.json) return ctx.out.json(result);
      ctx.out.print(importResultText(result, ctx.out.c, { verb: "rolled back to" }));
    });
  withExamples(cmd, ["scenario rollback", "scenario rollback --reason 'v4 drops readings'"]);
}

function registerList(scenario: Command, ctx: CliContext): void {
  const cmd = scenario
    .command("list")
    .description("List imported scenarios")
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, command: Command) => {
      const body = await (await ctx.api(command)).get<{ items: ScenarioSummary[] }>("/api/v1/scenarios");
      if (opts.json) return ctx.out.json(body);
      if (body.items.length === 0) ctx.out.note("no scenarios imported yet");
      else ctx.out.print(scenarioTable(body.items, ctx.out.c, ctx.now()));
    });
  withExamples(cmd, ["scenario list", "scenario list --json"]);
}

function registerActivate(scenario: Command, ctx: CliContext): void {
  const cmd = scenario
    .command("activate")
    .description("Activate an imported scenario: adopts the pending Racks it names and pushes their gears")
    .argument("<name>", "the scenario name (meta.name)", parseScenarioName)
    .addOption(reasonOption())
    .addOption(jsonOption())
    .action(async (name: string, opts: { reason?: string; json?: boolean }, command: Command) => {
      const body = opts.reason === undefined ? undefined : { reason: opts.reason };
      const result = await (await ctx.api(command)).post<ScenarioImportResult>(
        `/api/v1/scenarios/${encodeURIComponent(name)}/activate`,
        body,
      );
      if (opts.json) return ctx.out.json(result);
      ctx.out.print(importResultText(result, ctx.out.c, { verb: "activated" }));
    });
  withExamples(cmd, ["scenario activate edge-demo", "scenario activate edge-demo --reason 'rollout wave 2'"]);
}

function registerShow(scenario: Command, ctx: CliContext): void {
  const cmd = scenario
    .command("show")
    .description("Show the active scenario and its YAML")
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, command: Command) => {
      const active = await (await ctx.api(command)).get<ActiveScenario>("/api/v1/scenarios/active");
      if (opts.json) return ctx.out.json(active);
      ctx.out.print(activeScenarioText(active, ctx.out.c, ctx.now()));
    });
  withExamples(cmd, ["scenario show", "scenario show --json | jq -r .yaml"]);
}

/** Registers `fluxrig scenario ...`. */
export function registerScenario(program: Command, ctx: CliContext): void {
  const scenario = program
    .command("scenario")
    .description("Import, plan, list and activate scenarios; their history and rollback");
  registerApply(scenario, ctx);
  registerPlan(scenario, ctx);
  registerList(scenario, ctx);
  registerActivate(scenario, ctx);
  registerShow(scenario, ctx);
  registerHistory(scenario, ctx);
  registerRollback(scenario, ctx);
  withExamples(scenario, [
    "scenario plan edge-demo.yaml",
    "scenario apply edge-demo.yaml --activate",
    "scenario list",
    "scenario show",
    "scenario history",
    "scenario rollback",
  ]);
}
