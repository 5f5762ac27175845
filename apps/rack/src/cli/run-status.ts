// Runs `fluxrig-rack status`: resolves the state dir, prints the report, answers an exit code scripts can trust.
import { stat } from "node:fs/promises";
import { loadRackConfig } from "../config.js";
import { RackUsageError } from "../rack-error.js";
import { collectStatus, formatStatus } from "./rack-status.js";

/** Options of {@link runStatus}. */
export interface RunStatusOptions {
  stateDir: string | undefined;
  config: string | undefined;
  json: boolean;
  out: (text: string) => void;
}

/** Prints the status; resolves 0 for a verified active passport, 1 otherwise. Throws RackUsageError (exit 2). */
export async function runStatus(opts: RunStatusOptions): Promise<number> {
  const config = opts.config !== undefined ? await loadRackConfig({ file: opts.config }) : undefined;
  const stateDir = opts.stateDir ?? config?.rack.state_dir;
  if (stateDir === undefined) throw new RackUsageError("status needs --state-dir DIR or --config FILE");
  const info = await stat(stateDir).catch(() => undefined);
  if (!info?.isDirectory())
    throw new RackUsageError(`state dir ${stateDir} does not exist or is not a directory`, {
      showUsage: false,
    });
  const report = await collectStatus({
    stateDir,
    name: config?.rack.name,
    configClusterKey: config?.cluster.public_key,
    now: new Date(),
  });
  opts.out(opts.json ? JSON.stringify(report, null, 2) : formatStatus(report));
  return report.verdict === "active" ? 0 : 1;
}
