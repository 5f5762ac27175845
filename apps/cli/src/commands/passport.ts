// `fluxrig passport inspect`: offline, no Mixer needed; decodes a state.flux and verifies it against a cluster key.
import type { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { CliError } from "../cli-error.js";
import { loadClusterKey } from "../cluster-key-arg.js";
import { jsonOption, withExamples } from "../command-kit.js";
import { EXIT } from "../exit-codes.js";
import { inspectPassport } from "../passport-inspection.js";
import { inspectionText } from "../views/passport-views.js";

/** Registers `fluxrig passport ...`. */
export function registerPassport(program: Command, ctx: CliContext): void {
  const passport = program.command("passport").description("Rack passports (state.flux), offline");
  const inspect = passport
    .command("inspect")
    .description(
      "Decode a state.flux (no Mixer needed); with --cluster-key, verify it and say why it is not valid (exit 1)",
    )
    .argument("<state.flux>", "the passport file, e.g. /var/lib/fluxrig-rack/state.flux")
    .option(
      "--cluster-key <key>",
      "the cluster public key: raw base64url (as `cluster info` prints it) or a path to a PEM file such as cluster.pub",
    )
    .addOption(jsonOption("print the decoded passport and the verdict as JSON (for scripts)"))
    .action(async (file: string, opts: { clusterKey?: string; json?: boolean }) => {
      const clusterKey = opts.clusterKey === undefined ? undefined : await loadClusterKey(opts.clusterKey);
      const now = ctx.now();
      const inspection = await inspectPassport({ path: file, clusterKey, now });
      if (opts.json) ctx.out.json(inspection);
      else ctx.out.print(inspectionText(inspection, ctx.out.c, now));
      const v = inspection.verification;
      if (v.checked && !v.ok) {
        throw new CliError(v.code, `passport is not valid: ${v.reason}`, { exitCode: EXIT.refused });
      }
      if (inspection.payload_error) {
        const e = inspection.payload_error;
        throw new CliError(e.code, `passport payload cannot be decoded: ${e.reason}`, {
          exitCode: EXIT.refused,
        });
      }
    });
  withExamples(inspect, [
    "passport inspect /var/lib/fluxrig-rack/state.flux",
    "passport inspect state.flux --cluster-key /var/lib/fluxrig-mixer/cluster.pub",
    'passport inspect state.flux --cluster-key "$(fluxrig cluster info --json | jq -r .public_key)"',
    "passport inspect state.flux --json | jq -r .payload.expires_at",
  ]);
  withExamples(passport, ["passport inspect state.flux --cluster-key cluster.pub"]);
}
