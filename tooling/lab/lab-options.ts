// The lab's command line: `npm run lab -- [options]` (tooling/lab.sh handles --no-setup/--no-build before node runs).
import { resolve } from "node:path";
import { parseArgs } from "node:util";

export const USAGE = `Usage: npm run lab -- [options]      (or: pnpm lab [options])

Starts a local fluxrig cluster without Docker: nats-server with JetStream, a Mixer and three Racks
(rack-scenario adopted by the demo scenario, rack-manual waiting for you, rack-edge-01 running the counter),
each a child process with its log in .lab/logs/. Ctrl-C stops everything; running it again resumes.

Options:
  --auto-adopt       Path A: the Mixer adopts every new Rack at once ([enrollment] auto_adopt = true)
  --auth MODE        the bus: jwt (default; nats-server checks each Rack's own credential) or none (open bus)
  --racks N          start N more Racks, rack-lab-01 .. rack-lab-NN (default 0)
  --cluster          cluster mode (docs/cluster.md): 3 nats-servers in one JetStream cluster, 2 Mixers in cluster
                     mode (APIs on --api-port and the next port) and the Racks, under .lab/cluster/
  --reset            wipe the lab directory first (new cluster key, new token, new Racks)
  --nats-port P      nats-server port (default 4222, or a free one if taken; 0: any free port)
  --api-port P       Mixer API port (default from examples/lab/fluxrig-mixer.toml, or a free one if taken; 0: any)
  --lab-dir DIR      where data, tokens and logs live (default .lab)
  --no-setup         skip tooling/setup.sh (pnpm, packages, nats-server)
  --no-build         skip the build (the bundles in apps/*/dist must exist)
  -h, --help         this help`;

/** What the lab was asked to do. Ports: `undefined` = the default with fallback, 0 = any free port. */
export interface LabOptions {
  autoAdopt: boolean;
  /** `[nats] auth`: `jwt` runs `fluxrig-mixer nats-config` and nats-server with its block; `none` an open bus. */
  auth: "jwt" | "none";
  extraRacks: number;
  /** `--cluster`: three nats-servers in one JetStream cluster and two Mixers in cluster mode, with the Racks. */
  cluster: boolean;
  reset: boolean;
  natsPort: number | undefined;
  apiPort: number | undefined;
  labDir: string;
  help: boolean;
}

/** A command line the lab cannot run with; main prints it with the usage and exits 2. */
export class LabUsageError extends Error {
  override readonly name = "LabUsageError";
}

const OPTIONS = {
  "auto-adopt": { type: "boolean" },
  auth: { type: "string" },
  racks: { type: "string" },
  cluster: { type: "boolean" },
  reset: { type: "boolean" },
  "nats-port": { type: "string" },
  "api-port": { type: "string" },
  "lab-dir": { type: "string" },
  "no-setup": { type: "boolean" },
  "no-build": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Parses the lab's arguments; `cwd` anchors a relative --lab-dir.
 * @example parseLabOptions(["--racks", "2", "--auto-adopt"], "/repo").extraRacks; // 2
 */
export function parseLabOptions(argv: readonly string[], cwd: string): LabOptions {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (error) {
    throw new LabUsageError((error as Error).message);
  }
  const auth = values.auth ?? "jwt";
  if (auth !== "jwt" && auth !== "none") {
    throw new LabUsageError(`--auth: expected jwt or none, got "${auth}"`);
  }
  return {
    autoAdopt: values["auto-adopt"] ?? false,
    auth,
    extraRacks: values.racks === undefined ? 0 : integer(values.racks, "--racks", 0, 99),
    cluster: values.cluster ?? false,
    reset: values.reset ?? false,
    natsPort:
      values["nats-port"] === undefined ? undefined : integer(values["nats-port"], "--nats-port", 0, 65535),
    apiPort:
      values["api-port"] === undefined ? undefined : integer(values["api-port"], "--api-port", 0, 65535),
    labDir: resolve(cwd, values["lab-dir"] ?? ".lab"),
    help: values.help ?? false,
  };
}

function integer(text: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new LabUsageError(`${flag}: expected a whole number from ${min} to ${max}, got "${text}"`);
  }
  return Number(text);
}
