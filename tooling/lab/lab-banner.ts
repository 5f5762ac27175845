// What the lab prints once it runs: where the API, docs, token and logs are, and the adoption paths that apply.
import type { ApplyScenarioResult } from "../../examples/lab/apply-scenario.mjs";

export interface BannerInfo {
  labDir: string;
  apiUrl: string;
  token: string;
  tokenFile: string;
  /** `source` it to run `fluxrig` against this lab. */
  envFile: string;
  natsUrl: string;
  logsDir: string;
  scenario: ApplyScenarioResult | { error: string };
  scenarioFile: string;
  autoAdopt: boolean;
  manualRack: string;
  cliBuilt: boolean;
  /** Every Rack this run starts, the `--racks N` ones included. */
  racks: readonly string[];
  /** How many of them `--racks N` added. */
  extraRacks: number;
  /** The registry's status of each Rack it knew before this run's Racks started (absent: a new Rack). */
  known: ReadonlyMap<string, string>;
}

/** What happens to a Rack this run: which path adopts it, or that it waits for an operator. */
export type RackFate =
  | { kind: "scenario" }
  | { kind: "waits"; enrolledBefore: boolean }
  | { kind: "auto-adopted" }
  | { kind: "known"; status: string };

/**
 * The active scenario adopts the Racks it names; a Rack adopted earlier stays so; auto-adopt applies only to a
 * Rack that enrolls now, so a Rack already pending keeps waiting.
 */
export function rackFate(info: BannerInfo, name: string): RackFate {
  const s = info.scenario;
  if (!("error" in s) && s.racks.includes(name)) return { kind: "scenario" };
  const status = info.known.get(name);
  if (status === undefined)
    return info.autoAdopt ? { kind: "auto-adopted" } : { kind: "waits", enrolledBefore: false };
  if (status === "pending") return { kind: "waits", enrolledBefore: true };
  return { kind: "known", status };
}

/**
 * The banner as lines; paths are shown as given (the caller makes them relative to the working directory).
 * @example process.stdout.write(bannerLines(info).join("\n"));
 */
export function bannerLines(info: BannerInfo): string[] {
  const { apiUrl, token } = info;
  return [
    "",
    `fluxrig lab is running (${info.labDir})`,
    "",
    `  API       ${apiUrl}   (REST under /api/v1; health: ${apiUrl}/health)`,
    `  Docs      ${apiUrl}/api/v1/docs`,
    `  Token     ${token}   (in ${info.tokenFile}, reused on every run)`,
    info.cliBuilt
      ? `  CLI       source ${info.envFile}   (puts fluxrig on PATH with this API and token), then: fluxrig racks list`
      : `  CLI       not built (apps/cli/dist/fluxrig.js is missing): run pnpm build, then source ${info.envFile}`,
    `  NATS      ${info.natsUrl}`,
    `  Logs      ${info.logsDir}/*.log   (one file per process: nats-server, mixer, ${info.racks[0] ?? "rack"}, ...)`,
    `  Scenario  ${scenarioLine(info)}`,
    "",
    "Adoption paths to try:",
    `  Path B  ${pathB(info)}`,
    ...pathC(info),
    `  Path A  ${pathA(info)}`,
    "",
  ];
}

function pathC(info: BannerInfo): string[] {
  const manual = info.manualRack;
  const waiting = info.racks.filter((name) => rackFate(info, name).kind === "waits");
  const fate = rackFate(info, manual);
  const lines: string[] = [];
  if (fate.kind !== "waits") lines.push(`  Path C  ${manualFate(info, fate)}`);
  if (waiting.length === 0) return lines;

  const target = waiting.includes(manual) ? manual : (waiting[0] ?? manual);
  const verb =
    waiting.length === 1 ? "waits in pending until you adopt it" : "wait in pending until you adopt them";
  const earlier = waiting.filter((name) => {
    const f = rackFate(info, name);
    return f.kind === "waits" && f.enrolledBefore;
  });
  const who = earlier.length < waiting.length ? earlier.join(", ") : waiting.length === 1 ? "it" : "they";
  const why =
    info.autoAdopt && earlier.length > 0
      ? ` (${who} enrolled before --auto-adopt, which applies only at enrollment)`
      : "";
  lines.push(
    `${fate.kind === "waits" ? "  Path C  " : "          "}${waiting.join(", ")} ${verb}${why}:`,
    ...(info.cliBuilt
      ? [
          `            source ${info.envFile}`,
          `            fluxrig racks adopt ${target}`,
          "          or with curl:",
        ]
      : ["          with curl (the CLI is not built yet):"]),
    `            curl -X POST -H "Authorization: Bearer ${info.token}" ${info.apiUrl}/api/v1/racks/${target}/adopt`,
  );
  return lines;
}

function manualFate(info: BannerInfo, fate: Exclude<RackFate, { kind: "waits" }>): string {
  const manual = info.manualRack;
  const s = info.scenario;
  switch (fate.kind) {
    case "auto-adopted":
      return `${manual} is adopted at once by Path A (--auto-adopt); to try Path C, run without --auto-adopt and with --reset.`;
    case "scenario":
      return `${manual} is named by the scenario ${"error" in s ? "" : s.name}, which adopts it (Path B).`;
    case "known":
      return fate.status === "active" || fate.status === "offline"
        ? `${manual} was adopted in an earlier run; --reset starts over with it pending.`
        : `${manual} is ${fate.status} (from an earlier run); --reset starts over with it pending.`;
  }
}

function pathA(info: BannerInfo): string {
  const hint = info.extraRacks === 0;
  if (!info.autoAdopt) {
    return `off: restart with --auto-adopt${hint ? " (and --racks 2 for new Racks)" : ""} to adopt every new Rack at once.`;
  }
  const adopted = info.racks.filter((name) => rackFate(info, name).kind === "auto-adopted");
  const here =
    adopted.length > 0 ? `, here ${adopted.join(", ")}` : "; none here is new (all enrolled earlier)";
  return `on (--auto-adopt): the Mixer adopts every new Rack as it enrolls${here}${hint ? "; --racks 2 starts new ones" : ""}.`;
}

function scenarioLine(info: BannerInfo): string {
  const s = info.scenario;
  if ("error" in s) return `NOT applied: ${s.error}`;
  const label = `${s.name} v${s.version}`;
  if (s.action === "kept") return `${label} is active (an operator's choice); the demo was not re-applied`;
  if (s.action === "unchanged") return `${label} active (from an earlier run)`;
  const parts = [
    s.adopted.length > 0 ? `adopted ${s.adopted.join(", ")}` : "",
    s.pushed.length > 0 ? `pushed to ${s.pushed.join(", ")}` : "",
    s.waiting.length > 0 ? `waiting for ${s.waiting.join(", ")} to enroll` : "",
  ].filter((p) => p !== "");
  return `${label} activated${parts.length > 0 ? `: ${parts.join("; ")}` : ""}`;
}

function pathB(info: BannerInfo): string {
  const s = info.scenario;
  if ("error" in s) return `${info.scenarioFile} could not be applied (see above).`;
  return `${s.name} (${info.scenarioFile}) names ${s.racks.join(", ")}: adopted at once, running its gears.`;
}
