// `fluxrig cluster info`: the cluster's name, keys, Rack counts by status and the Mixer's counters.
import type { Command } from "commander";
import type { ClusterInfo } from "../api-types.js";
import type { CliContext } from "../cli-context.js";
import { jsonOption, withExamples } from "../command-kit.js";
import { clusterText } from "../views/cluster-views.js";

/** Registers `fluxrig cluster ...`. */
export function registerCluster(program: Command, ctx: CliContext): void {
  const cluster = program.command("cluster").description("The cluster this Mixer runs");
  const info = cluster
    .command("info")
    .description("Show the cluster public key and key id, Rack counts by status, and the Mixer's counters")
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, command: Command) => {
      const api = await ctx.api(command);
      const body = await api.get<ClusterInfo>("/api/v1/cluster");
      if (opts.json) return ctx.out.json(body);
      ctx.out.print(clusterText(body, ctx.out.c, { apiUrl: api.baseUrl }));
    });
  withExamples(info, [
    "cluster info",
    "cluster info --json | jq -r .public_key > cluster.key.b64   # for passport inspect --cluster-key",
  ]);
  withExamples(cluster, ["cluster info"]);
}
