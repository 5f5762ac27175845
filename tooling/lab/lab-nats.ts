// The lab's nats-server: which binary, and its config file (port, JetStream store under .lab/nats/).
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** `NATS_SERVER_BIN`, else `nats-server` on PATH; undefined when neither is there. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.NATS_SERVER_BIN
    ? [env.NATS_SERVER_BIN]
    : (env.PATH ?? "").split(delimiter).map((dir) => join(dir, "nats-server"));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The config text: client port on 127.0.0.1 only, JetStream in `storeDir` (nats-server adds `jetstream/`), and in
 * the jwt bus mode an `include` of the block `fluxrig-mixer nats-config` wrote (a path relative to this file).
 * @example natsConfigText({ port: 4222, storeDir: "/repo/.lab/nats", include: "auth.conf" });
 */
export function natsConfigText(opts: { port: number; storeDir: string; include?: string }): string {
  return [
    "# Written by the fluxrig lab (tooling/lab) at every start; edits are lost.",
    `server_name: "fluxrig-lab"`,
    `host: "127.0.0.1"`,
    `port: ${opts.port}`,
    "jetstream {",
    `  store_dir: ${JSON.stringify(opts.storeDir)}`,
    // Small limits: the default reserves most of the RAM and disk, which a lab on a shared machine must not.
    "  max_memory_store: 268435456",
    "  max_file_store: 1073741824",
    "}",
    ...(opts.include === undefined
      ? []
      : [
          "# The bus credentials block: operator, system account, resolver (fluxrig-mixer nats-config).",
          `include ${JSON.stringify(opts.include)}`,
        ]),
    "",
  ].join("\n");
}
