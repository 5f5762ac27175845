// What the lab prints once it runs: where the API, docs, token and logs are, and the adoption paths to try.
import type { ApplyScenarioResult } from "../../examples/lab/apply-scenario.mjs";

export interface BannerInfo {
  labDir: string;
  apiUrl: string;
  token: string;
  tokenFile: string;
  natsUrl: string;
  logsDir: string;
  scenario: ApplyScenarioResult | { error: string };
  scenarioFile: string;
  autoAdopt: boolean;
  manualRack: string;
  cliBuilt: boolean;
  racks: readonly string[];
}

/**
 * The banner as lines; paths are shown as given (the caller makes them relative to the working directory).
 * @example process.stdout.write(bannerLines(info).join("\n"));
 */
export function bannerLines(info: BannerInfo): string[] {
  const { apiUrl, token, manualRack } = info;
  const adoptUrl = `${apiUrl}/api/v1/racks/${manualRack}/adopt`;
  return [
    "",
    `fluxrig lab is running (${info.labDir})`,
    "",
    `  API       ${apiUrl}   (REST under /api/v1; health: ${apiUrl}/health)`,
    `  Docs      ${apiUrl}/api/v1/docs`,
    `  Token     ${token}   (in ${info.tokenFile}, reused on every run)`,
    `  NATS      ${info.natsUrl}`,
    `  Logs      ${info.logsDir}/*.log   (one file per process: nats-server, mixer, ${info.racks[0] ?? "rack"}, ...)`,
    `  Scenario  ${scenarioLine(info)}`,
    "",
    "Adoption paths to try:",
    `  Path B  ${pathB(info)}`,
    `  Path C  ${manualRack} waits in pending until you adopt it:`,
    `            FLUXRIG_API_URL=${apiUrl} FLUXRIG_API_TOKEN=${token} node apps/cli/dist/fluxrig.js racks adopt ${manualRack}`,
    ...(info.cliBuilt
      ? []
      : ["            (the CLI is not built yet: apps/cli/dist/fluxrig.js is missing; curl does the same)"]),
    `          or with curl:`,
    `            curl -X POST -H "Authorization: Bearer ${token}" ${adoptUrl}`,
    info.autoAdopt
      ? "  Path A  on (--auto-adopt): every new Rack is adopted at once (try --racks 2)."
      : "  Path A  off: restart with --auto-adopt (and --racks 2 for new Racks) to adopt every new Rack at once.",
    "",
  ];
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
