// The local lab (npm run lab) end to end, and docker-compose.yml kept in step with the lab's config files.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import {
  configVariables,
  LAB_FILES,
  LAB_RACKS,
  loadLabMixerConfig,
  loadLabRackConfig,
  MANUAL_RACK,
  natsUrlPort,
  splitListen,
} from "../../../tooling/lab/lab-config.js";
import { formatLogs, repoRoot, type SpawnedProcess, startProcess, tempDir, waitFor } from "../src/index.js";

// The workspace's YAML parser, borrowed from the Mixer (the testkit does not depend on it).
const { parse: parseYaml } = createRequire(join(repoRoot(), "apps/mixer/package.json"))("yaml") as {
  parse(text: string): unknown;
};

interface ComposeService {
  environment?: Record<string, string | number | boolean>;
  ports?: Array<string | { target: number; published: string | number; host_ip?: string }>;
  volumes?: Array<string | { source?: string; target: string }>;
}

/** `docker-compose` (Debian's 1.29) or the `docker compose` plugin; undefined when neither runs. */
function composeCommand(): string[] | undefined {
  for (const command of [["docker-compose"], ["docker", "compose"]]) {
    const [bin = "", ...args] = command;
    const probe = spawnSync(bin, [...args, "version"], { stdio: "ignore" });
    if (probe.status === 0) return command;
  }
  return undefined;
}

function stringEnv(env: ComposeService["environment"] = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

/** Published host ports of a service, from either the 1.29 string form or the plugin's object form. */
function publishedPorts(service: ComposeService): Map<number, number> {
  const ports = new Map<number, number>();
  for (const p of service.ports ?? []) {
    if (typeof p === "string") {
      const [published, target] = p
        .replace(/\/tcp$/, "")
        .split(":")
        .slice(-2)
        .map(Number);
      if (published !== undefined && target !== undefined) ports.set(target, published);
    } else {
      ports.set(Number(p.target), Number(p.published));
    }
  }
  return ports;
}

describe("docker-compose.yml", () => {
  test("has the lab's topology and the same settings as examples/lab/*.toml", async (ctx) => {
    const compose = composeCommand();
    if (compose === undefined) {
      const reason =
        "neither docker-compose nor `docker compose` is installed (tooling/setup.sh installs it)";
      console.warn(`lab.int.test: skipping the docker-compose.yml check: ${reason}`);
      ctx.skip(reason);
    }
    const [bin = "", ...args] = compose ?? [];
    // Unset lab variables, so the documented defaults are what is checked.
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith("FLUXRIG_LAB_")) delete env[name];
    // An empty env file too: a developer's .env beside docker-compose.yml must not change what is checked.
    await using dir = tempDir("compose");
    const envFile = join(dir.path, "empty.env");
    writeFileSync(envFile, "");
    const composeArgs = [...args, "-f", LAB_FILES.compose, "--env-file", envFile, "config"];
    const text = execFileSync(bin, composeArgs, { env, encoding: "utf8" });
    const { services } = parseYaml(text) as { services: Record<string, ComposeService> };

    const rackServices = Object.keys(services).filter((name) => name.startsWith("rack-"));
    expect(rackServices.sort()).toEqual([...LAB_RACKS].sort());
    expect(Object.keys(services)).toEqual(expect.arrayContaining(["nats", "mixer", "scenario"]));

    // The Mixer: its environment, read by the Mixer's own loader, equals the lab's file but for addresses and secrets.
    const mixerEnv = stringEnv(services.mixer?.environment);
    const known = configVariables("mixer");
    const cliOnly = new Set(["FLUXRIG_API_URL", "FLUXRIG_API_TOKEN"]);
    expect(Object.keys(mixerEnv).filter((k) => !known.has(k) && !cliOnly.has(k))).toEqual([]);
    const inCompose = await loadLabMixerConfig(mixerEnv, null);
    const inLab = await loadLabMixerConfig();
    expect(inCompose.api.auth_token).not.toBe("");
    expect(mixerEnv.FLUXRIG_API_TOKEN).toBe(inCompose.api.auth_token);
    const apiPort = splitListen(inLab.api.listen).port;
    expect(splitListen(inCompose.api.listen).port).toBe(apiPort);
    expect(publishedPorts(services.mixer ?? {}).get(apiPort)).toBe(apiPort);
    const portable = (c: typeof inLab) => ({
      ...c,
      mixer: { ...c.mixer, data_dir: "<dir>" },
      nats: { ...c.nats, url: "<url>" },
      api: { ...c.api, listen: "<listen>", auth_token: "<token>", telemetry_token: "<token>" },
    });
    expect(portable(inCompose)).toEqual(portable(inLab));
    expect(natsUrlPort(inCompose.nats.url)).toBe(natsUrlPort(inLab.nats.url));
    expect(publishedPorts(services.nats ?? {}).get(natsUrlPort(inLab.nats.url))).toBe(
      natsUrlPort(inLab.nats.url),
    );

    // Each Rack: the same, against examples/lab/fluxrig-rack.toml; telemetry goes to the Mixer with its token.
    for (const name of LAB_RACKS) {
      const rackEnv = stringEnv(services[name]?.environment);
      expect(rackEnv.FLUXRIG_RACK_NAME).toBe(name);
      const fromCompose = await loadLabRackConfig(rackEnv, null);
      const fromLab = await loadLabRackConfig({ FLUXRIG_RACK_NAME: name });
      const rackKnown = configVariables("rack");
      expect(Object.keys(rackEnv).filter((k) => !rackKnown.has(k))).toEqual([]);
      expect(fromCompose.telemetry.auth_token).toBe(inCompose.api.telemetry_token);
      const endpoint = new URL(fromCompose.telemetry.otlp_endpoint ?? "");
      const labEndpoint = new URL(fromLab.telemetry.otlp_endpoint ?? "");
      expect([endpoint.hostname, endpoint.port, endpoint.pathname]).toEqual([
        "mixer",
        labEndpoint.port,
        labEndpoint.pathname,
      ]);
      const rackPortable = (c: typeof fromLab) => ({
        ...c,
        rack: { ...c.rack, state_dir: "<dir>" },
        nats: { url: "<url>" },
        telemetry: { ...c.telemetry, otlp_endpoint: "<url>", auth_token: "<token>" },
      });
      expect(rackPortable(fromCompose)).toEqual(rackPortable(fromLab));
      expect(natsUrlPort(fromCompose.nats.url)).toBe(natsUrlPort(fromLab.nats.url));
    }

    // The bus in JWT mode: nats-config runs first on the Mixer's volume, nats includes its block, Racks get the creds.
    const auth = services["nats-auth"] as ComposeService & { command?: string[]; depends_on?: unknown };
    expect(auth.command?.slice(0, 1)).toEqual(["nats-config"]);
    const volumesOf = (service: ComposeService | undefined) =>
      (service?.volumes ?? []).map((v) => (typeof v === "string" ? v : `${v.source}:${v.target}`));
    expect(volumesOf(auth)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^[\w-]*mixer-data:\/data/)]),
    );
    const nats = services.nats as ComposeService & { depends_on?: Record<string, { condition: string }> };
    expect(nats.depends_on?.["nats-auth"]?.condition).toBe("service_completed_successfully");
    expect(mixerEnv.FLUXRIG_NATS_AUTH).toBe("jwt");
    for (const name of LAB_RACKS) {
      const creds = stringEnv(services[name]?.environment).FLUXRIG_NATS_CREDS ?? "";
      expect(creds.startsWith("/auth/")).toBe(true);
      expect(volumesOf(services[name])).toEqual(
        expect.arrayContaining([expect.stringMatching(/nats-auth:\/auth/)]),
      );
    }

    // The one-shot scenario service applies the same demo scenario file.
    const mounts = (services.scenario?.volumes ?? []).map((v) =>
      typeof v === "string" ? v : `${v.source}:${v.target}`,
    );
    expect(mounts.some((m) => m.startsWith(join(repoRoot(), "examples/lab")))).toBe(true);
    expect(existsSync(LAB_FILES.scenario)).toBe(true);
  });
});

interface RackBody {
  name: string;
  status: string;
  entity_id: string;
}

/** The lab started by the test, with what it printed and where its API is; disposing it stops it (SIGTERM). */
interface RunningLab extends AsyncDisposable {
  proc: SpawnedProcess;
  apiUrl: string;
  token: string;
  children: number[];
}

const LAB_ARGS = ["--no-setup", "--no-build", "--nats-port", "0", "--api-port", "0"];

async function startLab(labDir: string): Promise<RunningLab> {
  const proc = startProcess({
    command: "bash",
    args: [join(repoRoot(), "tooling/lab.sh"), ...LAB_ARGS, "--lab-dir", labDir],
    cwd: repoRoot(),
    label: "lab",
    stopGraceMs: 40_000,
  });
  const apiLine = await proc.waitForLine(/^\s+API\s+http:\/\//, { timeoutMs: 45_000 });
  const apiUrl = /(http:\/\/\S+)/.exec(apiLine)?.[1] ?? "";
  const token = readFileSync(join(labDir, "token"), "utf8").trim();
  const lock = JSON.parse(readFileSync(join(labDir, "lab.lock"), "utf8")) as {
    children: Array<{ pid: number }>;
  };
  return {
    proc,
    apiUrl,
    token,
    children: lock.children.map((c) => c.pid),
    // Before the temp dir goes, if the test failed half-way; a no-op once interrupt() saw it exit.
    [Symbol.asyncDispose]: async () => {
      await proc.stop();
    },
  };
}

/** Resolves once a status snapshot printed after `since` shows every `name: status` pair. */
function waitForStatuses(lab: RunningLab, want: Record<string, string>, since: number): Promise<true> {
  return waitFor(
    () => {
      const lines = lab.proc.lines({ since, stream: "stdout" });
      return Object.entries(want).every(([name, status]) =>
        lines.some((l) => new RegExp(`^\\s+${name}\\s+${status}\\s`).test(l)),
      );
    },
    { timeoutMs: 45_000, intervalMs: 200, message: `status table showing ${JSON.stringify(want)}` },
  );
}

async function api<T>(
  lab: RunningLab,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${lab.apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${lab.token}`, ...init.headers },
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function entityIds(lab: RunningLab): Promise<Record<string, string>> {
  const { body } = await api<{ items: RackBody[] }>(lab, "/api/v1/racks");
  return Object.fromEntries(body.items.map((r) => [r.name, r.entity_id]));
}

/** The pids lab.lock records, by child name. */
function lockedPids(labDir: string): Record<string, number> {
  const lock = JSON.parse(readFileSync(join(labDir, "lab.lock"), "utf8")) as {
    children: Array<{ name: string; pid: number }>;
  };
  return Object.fromEntries(lock.children.map((c) => [c.name, c.pid]));
}

function isAlive(pid: number): boolean {
  // 0 and negative pids name process groups, never one child.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `source <labDir>/env && fluxrig racks list --json` in a shell with no FLUXRIG_* of its own. */
async function listWithSourcedEnv(labDir: string): Promise<{ items: RackBody[] }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("FLUXRIG_")) delete env[name];
  const script = `source '${join(labDir, "env")}' && fluxrig racks list --json`;
  const { stdout } = await promisify(execFile)("bash", ["-c", script], { env, timeout: 20_000 });
  return JSON.parse(stdout) as { items: RackBody[] };
}

/** SIGINT, as Ctrl-C: exit 0, and none of the processes it started is left. */
async function interrupt(lab: RunningLab): Promise<void> {
  const since = lab.proc.mark();
  lab.proc.kill("SIGINT");
  const exit = await lab.proc.waitForExit({ timeoutMs: 45_000 });
  expect(exit).toEqual({ code: 0, signal: null });
  expect(lab.proc.lines({ since }).some((l) => l.includes("stopped. Run the lab again"))).toBe(true);
  expect(lab.children.filter(isAlive)).toEqual([]);
}

/**
 * On failure, the tail of every log the lab wrote (`<labDir>/logs/*.log`: nats-server, Mixer, each Rack, both runs),
 * read before the temp dir goes: vitest's onTestFailed would run after it is removed.
 */
async function withLabLogsOnFailure(labDir: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const logsDir = join(labDir, "logs");
    const files = existsSync(logsDir) ? readdirSync(logsDir).filter((f) => f.endsWith(".log")) : [];
    const sources = files.sort().map((file) => ({
      label: join(logsDir, file),
      output: (tail = 60) =>
        readFileSync(join(logsDir, file), "utf8").trimEnd().split("\n").slice(-tail).join("\n"),
    }));
    console.error(formatLogs(sources, 60));
    throw error;
  }
}

describe("npm run lab", () => {
  test("starts the cluster, adopts by scenario and by operator, rides out a Mixer kill, stops on SIGINT, resumes with the same identities", async () => {
    await using dir = tempDir("lab");
    const labDir = join(dir.path, "lab");
    await withLabLogsOnFailure(labDir, () => labRoundTrip(labDir));
  }, 150_000);
});

async function labRoundTrip(labDir: string): Promise<void> {
  await using first = await startLab(labDir);
  expect(first.children).toHaveLength(2 + LAB_RACKS.length);
  await waitForStatuses(first, { "rack-scenario": "active", [MANUAL_RACK]: "pending" }, 0);

  // Path C through the REST API, as the printed curl command does.
  const since = first.proc.mark();
  const adopted = await api<RackBody>(first, `/api/v1/racks/${MANUAL_RACK}/adopt`, { method: "POST" });
  expect(adopted).toMatchObject({ status: 200, body: { status: "active" } });
  await waitForStatuses(first, { [MANUAL_RACK]: "active", "rack-edge-01": "active" }, since);
  const ids = await entityIds(first);

  // The CLI as the banner shows it: `source <labDir>/env`, then `fluxrig ...` (a shim in <labDir>/bin).
  expect(statSync(join(labDir, "env")).mode & 0o777).toBe(0o600);
  const listed = await listWithSourcedEnv(labDir);
  expect(Object.fromEntries(listed.items.map((r) => [r.name, r.entity_id]))).toEqual(ids);

  // The Mixer dies: the lab says so, starts it again and keeps the Racks, which stay active.
  const before = lockedPids(labDir);
  const oldMixer = before.mixer ?? 0;
  expect(oldMixer).toBeGreaterThan(0);
  const killedAt = first.proc.mark();
  process.kill(oldMixer, "SIGKILL");
  const restarted = await first.proc.waitForLine(/mixer restarted \(pid \d+\)/, {
    since: killedAt,
    timeoutMs: 30_000,
  });
  const newMixer = Number(/pid (\d+)/.exec(restarted)?.[1]);
  first.children.push(newMixer);
  expect(first.proc.lines({ since: killedAt }).some((l) => l.includes("mixer exited on its own"))).toBe(true);
  await first.proc.waitForLine(/mixer is ready again/, { since: killedAt, timeoutMs: 60_000 });
  await waitForStatuses(
    first,
    { "rack-scenario": "active", [MANUAL_RACK]: "active", "rack-edge-01": "active" },
    first.proc.mark(),
  );
  const after = lockedPids(labDir);
  expect(after.mixer).toBe(newMixer);
  expect(newMixer).not.toBe(oldMixer);
  for (const name of LAB_RACKS) {
    const pid = before[name];
    expect(pid).toBeGreaterThan(0);
    expect(after[name]).toBe(pid);
    expect(pid !== undefined && isAlive(pid)).toBe(true);
  }
  expect(first.proc.running).toBe(true);
  expect(await entityIds(first)).toEqual(ids);
  await interrupt(first);
  expect(existsSync(join(labDir, "lab.lock"))).toBe(false);

  // Again on the same dir: same token, and the Racks recover their sessions from state.flux.
  await using second = await startLab(labDir);
  expect(second.token).toBe(first.token);
  // The banner knows rack-manual was adopted, rather than offering to adopt it again.
  expect(second.proc.lines().some((l) => l.includes(`${MANUAL_RACK} was adopted in an earlier run`))).toBe(
    true,
  );
  await waitForStatuses(
    second,
    { "rack-scenario": "active", [MANUAL_RACK]: "active", "rack-edge-01": "active" },
    0,
  );
  for (const name of LAB_RACKS) {
    // The first run enrolled them; only this run can have restored a passport.
    await waitFor(
      () => readFileSync(join(labDir, "logs", `${name}.log`), "utf8").includes('"passport_restored"'),
      {
        timeoutMs: 30_000,
        message: `${name} to recover its session from state.flux`,
      },
    );
  }
  expect(await entityIds(second)).toEqual(ids);
  await interrupt(second);
}
