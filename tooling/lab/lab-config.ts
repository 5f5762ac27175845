// The lab's topology and configuration: its files, its Racks, and the environment each child is started with.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadMixerConfig, type MixerConfig, MixerConfigSchema } from "../../apps/mixer/src/config.js";
import { loadRackConfig, type RackConfig, RackConfigSchema } from "../../apps/rack/src/config.js";
import { LAB_DIR_ENV } from "./lab-lock.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The files the lab (and docker-compose.yml) are configured from. */
export const LAB_FILES = {
  mixerConfig: join(REPO_ROOT, "examples/lab/fluxrig-mixer.toml"),
  rackConfig: join(REPO_ROOT, "examples/lab/fluxrig-rack.toml"),
  scenario: join(REPO_ROOT, "examples/lab/demo-scenario.yaml"),
  compose: join(REPO_ROOT, "docker-compose.yml"),
  mixerBundle: join(REPO_ROOT, "apps/mixer/dist/fluxrig-mixer.js"),
  rackBundle: join(REPO_ROOT, "apps/rack/dist/fluxrig-rack.js"),
  cliBundle: join(REPO_ROOT, "apps/cli/dist/fluxrig.js"),
} as const;

/** The Racks every lab starts, in this order: Path B (scenario), Path C (operator), and the scenario's second Rack. */
export const LAB_RACKS = ["rack-scenario", "rack-manual", "rack-edge-01"] as const;
/** The Rack left pending for the operator (Path C). */
export const MANUAL_RACK = "rack-manual";

/** `--racks N`: rack-lab-01 .. rack-lab-NN. */
export function extraRackNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `rack-lab-${String(i + 1).padStart(2, "0")}`);
}

/**
 * The Mixer's config as the Mixer itself reads it: examples/lab/fluxrig-mixer.toml (or `file`; `null` for none,
 * as in a container) with `env` overriding, exactly as FLUXRIG_* variables do.
 */
export async function loadLabMixerConfig(
  env: Record<string, string> = {},
  file: string | null = LAB_FILES.mixerConfig,
): Promise<MixerConfig> {
  return (await loadMixerConfig({ file: file ?? undefined, env })).config;
}

/** A Rack's config as the Rack reads it: examples/lab/fluxrig-rack.toml (or `file`, `null` for none) and `env`. */
export function loadLabRackConfig(
  env: Record<string, string>,
  file: string | null = LAB_FILES.rackConfig,
): Promise<RackConfig> {
  return loadRackConfig({ file: file ?? undefined, env });
}

/** Every `FLUXRIG_<SECTION>_<KEY>` the binary reads (others are ignored by it, so a misspelt one does nothing). */
export function configVariables(app: "mixer" | "rack"): Set<string> {
  const schema = app === "mixer" ? MixerConfigSchema : RackConfigSchema;
  const names = new Set<string>();
  for (const [section, keys] of Object.entries(schema.shape)) {
    for (const key of Object.keys(keys.shape)) names.add(`FLUXRIG_${section}_${key}`.toUpperCase());
  }
  return names;
}

/** `host:port` or `[v6]:port` into its parts. */
export function splitListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(":");
  return { host: listen.slice(0, at).replace(/^\[(.*)\]$/, "$1"), port: Number(listen.slice(at + 1)) };
}

/** The port of a `nats://host:port` URL (4222 when it names none). */
export function natsUrlPort(url: string): number {
  const parsed = new URL(url);
  return parsed.port === "" ? 4222 : Number(parsed.port);
}

/** What differs per run: everything else comes from the example files. */
export interface LabRuntime {
  labDir: string;
  natsUrl: string;
  apiListen: string;
  apiUrl: string;
  token: string;
  telemetryToken: string;
  autoAdopt: boolean;
  /** `[nats] auth` of this run. */
  auth: "jwt" | "none";
  /** The bootstrap .creds a Rack connects with first (jwt only). */
  bootstrapCreds: string;
}

/** The Mixer's environment: `--config examples/lab/fluxrig-mixer.toml` plus these overrides. */
export function mixerEnv(run: LabRuntime, dataDir: string): Record<string, string> {
  return childEnv(run, {
    FLUXRIG_MIXER_DATA_DIR: dataDir,
    FLUXRIG_NATS_URL: run.natsUrl,
    FLUXRIG_API_LISTEN: run.apiListen,
    FLUXRIG_API_AUTH_TOKEN: run.token,
    FLUXRIG_API_TELEMETRY_TOKEN: run.telemetryToken,
    FLUXRIG_NATS_AUTH: run.auth,
    ...(run.autoAdopt ? { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" } : {}),
  });
}

/** `--cluster`: one of the lab's Mixers in cluster mode (docs/cluster.md). */
export interface ClusterLabMixer {
  /** `[cluster] member`: mixer-a, mixer-b. */
  member: string;
  /** `[mixer] machine_id`: distinct per Mixer. */
  machineId: number;
  dataDir: string;
  apiListen: string;
}

/**
 * `--cluster`: a Mixer's environment: the lab Mixer's (`run.natsUrl` lists every node), in cluster mode under the
 * cluster's name from the toml, with its own member name, machine_id, data dir and API address.
 */
export function clusterMixerEnv(run: LabRuntime, mixer: ClusterLabMixer): Record<string, string> {
  return {
    ...mixerEnv(run, mixer.dataDir),
    FLUXRIG_API_LISTEN: mixer.apiListen,
    FLUXRIG_CLUSTER_ENABLED: "true",
    FLUXRIG_CLUSTER_MEMBER: mixer.member,
    FLUXRIG_MIXER_MACHINE_ID: String(mixer.machineId),
    // Racks from 16 up: the Mixers' machine_ids (1 to 15) must stay below them in cluster mode.
    FLUXRIG_ENROLLMENT_MACHINE_ID_MIN: String(CLUSTER_FIRST_RACK_MACHINE_ID),
  };
}

/** `--cluster` and the compose profile: the first MachineID handed to Racks, above every Mixer's machine_id. */
export const CLUSTER_FIRST_RACK_MACHINE_ID = 16;

/** A Rack's environment: `--config examples/lab/fluxrig-rack.toml` plus its name, state dir and the live endpoints. */
export function rackEnv(run: LabRuntime, name: string, stateDir: string): Record<string, string> {
  return childEnv(run, {
    FLUXRIG_RACK_NAME: name,
    FLUXRIG_RACK_STATE_DIR: stateDir,
    FLUXRIG_NATS_URL: run.natsUrl,
    FLUXRIG_TELEMETRY_OTLP_ENDPOINT: `${run.apiUrl}/v1/metrics`,
    FLUXRIG_TELEMETRY_AUTH_TOKEN: run.telemetryToken,
    ...(run.auth === "jwt" ? { FLUXRIG_NATS_CREDS: run.bootstrapCreds } : {}),
  });
}

/** nats-server's environment: only the marker. */
export function natsEnv(run: LabRuntime): Record<string, string> {
  return childEnv(run, {});
}

/**
 * The caller's environment without its FLUXRIG_* variables (a token or URL exported in the shell must not leak
 * into the lab), plus `extra` and the lab-dir marker by which a later lab recognises an orphan.
 */
function childEnv(run: LabRuntime, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("FLUXRIG_")) env[key] = value;
  }
  return { ...env, NO_COLOR: "1", ...extra, [LAB_DIR_ENV]: run.labDir };
}
