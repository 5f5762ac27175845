// Issue #7: every shell command of the README's quick start and of docs/operations.md is run against a temporary
// lab (or checked, or skipped with a reason), so the documentation cannot drift from the product.
//
// A "documented command" is a line of a ```sh block (trailing `# comment` removed) or an inline code span of a
// program (COMMAND_WORDS) with arguments. Each one must be in exactly one table below: LAB_RUNS (started as a temp
// lab), CI_COMMANDS (checked: .ci/run runs it), RUNS (run against the lab, with the docs' example objects mapped to
// lab objects by LAB_OBJECTS) or SKIPPED (with a reason). A new command in the docs, or a table entry the docs no
// longer have, fails the first test.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { describe, expect, test } from "vitest";
import { LAB_FILES, type LabRuntime, rackEnv } from "../../../tooling/lab/lab-config.js";
import { labLayout } from "../../../tooling/lab/lab-layout.js";
import {
  binaryPath,
  eventually,
  formatLogs,
  type HasOutput,
  repoRoot,
  type SpawnedProcess,
  spawnBinary,
  startProcess,
  tempDir,
  waitFor,
} from "../src/index.js";

const ROOT = repoRoot();

// ---------------------------------------------------------------------------------------------------------------
// The tables. Keys are the commands exactly as the docs write them (comment stripped, blanks collapsed).

type RackStatus = "pending" | "active" | "offline" | "rejected" | "revoked";

/**
 * `npm run lab [-- args]`: run as `bash tooling/lab.sh args` plus {@link isolationFlags} (the suite has already set
 * up and built; a temp lab dir, any free ports), until the API shows these statuses; then SIGINT, exit 0.
 */
const LAB_RUNS: Record<string, Record<string, RackStatus>> = {
  "npm run lab": { "rack-scenario": "active", "rack-edge-01": "active", "rack-manual": "pending" },
  // Path A on a fresh lab: the two new Racks and rack-manual (it enrolls after auto-adopt is on) are adopted.
  "npm run lab -- --auto-adopt --racks 2": {
    "rack-lab-01": "active",
    "rack-lab-02": "active",
    "rack-manual": "active",
    "rack-scenario": "active",
  },
};

/** Commands a test suite cannot run inside itself: CI (.ci/run) must run exactly them; the value is the npm script. */
const CI_COMMANDS: Record<string, string> = {
  "npm test": "test",
};

/**
 * The docs' example objects and placeholders, and the lab objects the test puts in their place. The lab has
 * rack-scenario and rack-edge-01 (active, by the demo scenario) and rack-manual (pending); the test adds two
 * Racks, started with the lab's own Rack settings:
 * - rack-visitor, a fourth Rack left pending (to reject, then delete);
 * - a rebuilt rack-manual: a new key under the same name, refused `name_taken`, so there is a conflict to see and
 *   to hand over with `racks replace`.
 * `$LAB` is the lab dir.
 */
const LAB_OBJECTS: Record<string, string> = {
  "rack-nyc-01": "rack-manual",
  "rack-nyc-99": "rack-visitor",
  "'rack-nyc-*'": "'rack-*'",
  "<name>": "rack-manual",
  "[--keep-machine-id]": "--keep-machine-id",
  "demo.yaml": "examples/lab/demo-scenario.yaml",
  DIR: '"$LAB/racks/rack-manual"',
  "<data_dir>": '"$LAB/mixer"',
};

interface Run {
  /** Lab objects for this command only (`<ref>` is a different Rack for revoke and rm). */
  objects?: Record<string, string>;
  /** Arguments the test adds to the docs' command, and why. */
  append?: { args: string; why: string };
  /** The exit code the docs imply (default 0); any other code says why. */
  exit?: { code: number; why: string };
  /** What its stdout must show: what the docs say about it. */
  shows?: RegExp[];
  /** Statuses the API must come to show afterwards (what the docs say happens next). */
  afterwards?: Record<string, RackStatus>;
  /**
   * One of the test's extra Racks whose own log must come to show `msg` afterwards: the Rack itself took the change,
   * so the next command meets it in that state (not in a race with it).
   */
  rackLogShows?: { rack: ExtraRack; msg: RegExp };
  /**
   * One of the test's extra Racks, restarted on its state dir (same key) before `afterwards` is checked, and why.
   */
  restarts?: { rack: ExtraRack; why: string };
}

/** The Racks the test adds to the lab, by the name they run as. */
type ExtraRack = "rack-visitor";

/**
 * The runnable commands, in the order they run: each one leaves the lab as the next one needs it. Each runs as
 * {@link runnable} makes it: `bash -c`, cwd the repo root, `fluxrig` and `fluxrig-rack` first on PATH, the lab's
 * FLUXRIG_API_URL and FLUXRIG_API_TOKEN.
 */
const RUNS: Record<string, Run> = {
  "fluxrig racks list --status pending": {
    shows: [/^rack-manual\s+pending\s/m, /^rack-visitor\s+pending\s/m],
  },
  "fluxrig-rack status --state-dir DIR": {
    exit: {
      code: 1,
      why:
        "the docs run it before adopting, to read the Rack's key: a Rack without a passport yet makes " +
        "`status` exit 1 (apps/rack/README.md) after printing its key",
    },
    shows: [/^rack key\s+SHA256:\S+ \(ed25519:\S+\)$/m, /^passport\s+none$/m],
  },
  // The comment in the docs: key fingerprint, hardware, first and last seen, hellos and from where, other keys.
  "fluxrig racks show rack-nyc-01": {
    shows: [
      /^key\s+SHA256:/m,
      /^hardware\s+hostname /m,
      /^first seen\s/m,
      /^hellos\s+\d+$/m,
      /^last source\s+\S/m,
      /^conflicts\s+1 other key/m,
    ],
  },
  "fluxrig racks adopt --pattern 'rack-nyc-*' --dry-run": {
    shows: [/^would adopt rack-manual /m, /^would adopt rack-visitor /m],
  },
  'fluxrig racks adopt rack-nyc-01 --reason "serial checked on site"': {
    shows: [/^rack-manual \(0x[0-9a-f]+\): active, passport serial \d+/m],
  },
  "fluxrig racks reject rack-nyc-99": {
    shows: [/^rack-visitor \(0x[0-9a-f]+\): rejected$/m],
    // Cut off at the bus, it is told "rejected" on the bootstrap connection; `rm` below then always meets a Rack
    // that is passive there (whether it got there before `rm` was once a race the test won only when unloaded).
    rackLogShows: { rack: "rack-visitor", msg: /^lifecycle: \w+ -> rejected$/ },
  },
  "fluxrig racks show <name>": {
    shows: [/^conflicts\s+1 other key/m, /^rack-manual\s+SHA256:\S+\s+\d+/m],
  },
  "fluxrig racks replace <name> [--keep-machine-id]": {
    shows: [
      /^rack-manual handed to a new key$/m,
      /^old key .* revoked, MachineID \d+$/m,
      /^new key .* active/m,
    ],
  },
  "fluxrig racks revoke <ref>": {
    objects: { "<ref>": "rack-manual" },
    shows: [/^rack-manual \(0x[0-9a-f]+\): revoked$/m],
  },
  // The README's Path C command; here it is also the docs' "`adopt` again issues a new one" after the revoke.
  "fluxrig racks adopt rack-manual": {
    shows: [/^rack-manual \(0x[0-9a-f]+\): active, passport serial \d+/m],
  },
  "fluxrig racks rm <ref>": {
    objects: { "<ref>": "rack-visitor" },
    append: {
      args: "--yes",
      why: "rm asks for confirmation on a terminal; the test has none, and then rm needs --yes (docs/cli.md: exit 2)",
    },
    shows: [/^deleted rack-visitor /m],
    // "...enrolls again as a new pending Rack if it is still running", on the lab's JWT bus "at its next hello".
    restarts: {
      rack: "rack-visitor",
      why:
        "on a JWT bus a rejected Rack is cut off and hears no push (docs/operations.md): its next hello is at the " +
        "rejected pace (5 min and more) or at its next start, which the test does not wait 5 minutes for",
    },
    afterwards: { "rack-visitor": "pending" },
  },
  "fluxrig scenario apply demo.yaml --dry-run": {
    shows: [/^valid: lab-demo version 1 .*nothing was imported$/m],
  },
  // Troubleshooting: "`stats` in `fluxrig racks show`" (with `flaps`).
  "fluxrig racks show": {
    append: {
      args: "rack-scenario",
      why: "the docs name the command that shows a Rack's stats; it needs a Rack",
    },
    shows: [/^stats\s+.*loop lag .* \d+ flaps$/m],
  },
  "chmod 600 <data_dir>/cluster.key": {},
  // Troubleshooting: refusals are counted; the rebuilt rack-manual was refused name_taken.
  "fluxrig cluster info": {
    shows: [/^counters\s+/m, /\bhello\.refused\.name_taken \d+/],
  },
  "fluxrig events": {
    shows: [/status_changed pending -> active\s+operator/, /status_changed pending -> rejected/],
  },
  "fluxrig events verify": {
    shows: [/^audit log verified: \d+ events, chain unbroken$/m],
  },
};

/** The command the test runs for a documented one: its example objects replaced, then the added arguments. */
function runnable(documented: string, run: Run): string {
  const objects = { ...LAB_OBJECTS, ...run.objects };
  const words = documented.split(" ").map((word) => {
    const whole = objects[word];
    if (whole !== undefined) return whole;
    // Inside a word: `<data_dir>/cluster.key`.
    return word.replace(/<[^<>]+>/g, (placeholder) => objects[placeholder] ?? placeholder);
  });
  return [...words, ...(run.append ? [run.append.args] : [])].join(" ");
}

/** Documented commands the test does not run, and why; `script` names the package.json script that must exist. */
const SKIPPED: Record<string, { why: string; script?: string }> = {
  "pnpm install --frozen-lockfile": {
    why: "tooling/setup.sh runs it (npm test and npm run lab start with it); a test must not reinstall the shared node_modules",
  },
  "pnpm build": {
    why: "npm test (tooling/test.sh) builds everything before the tests; rebuilding here would race other builds",
    script: "build",
  },
  "fluxrig-mixer nats-config --config fluxrig-mixer.toml --resolver-dir /var/lib/nats/jwt --out /etc/nats/fluxrig-auth.conf --bootstrap-creds /etc/fluxrig/bootstrap.creds":
    {
      why: "it writes under /etc and /var/lib; the lab runs it for every start (tooling/lab/lab-nats.ts) and apps/mixer/test/bus-auth/nats-config.int.test.ts runs it with these flags against a real nats-server",
    },
  "fluxrig racks list --watch": {
    why: "it runs until Ctrl-C; apps/cli/test/watch.int.test.ts runs it as a real process against a real Mixer (an adopt and a reject seen, Ctrl-C exits 0)",
  },
  "fluxrig events --follow": {
    why: "it runs until Ctrl-C; apps/cli/test/watch.int.test.ts runs it as a real process across a Mixer restart (every event exactly once)",
  },
  "pnpm typecheck": { why: "npm test runs the same type-check (turbo run typecheck)", script: "typecheck" },
  "pnpm lint": { why: "npm test runs Biome over the repo", script: "lint" },
  "pnpm test:unit": {
    why: "a test suite cannot run inside itself; npm test runs the unit project",
    script: "test:unit",
  },
  "pnpm test:int": {
    why: "a test suite cannot run inside itself; npm test runs the integration project (this file is in it)",
    script: "test:int",
  },
  "pnpm bench": {
    why: "benchmarks take minutes and measure this loaded machine, not the docs",
    script: "bench",
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Reading the docs.

/** Programs whose inline code spans count as commands. */
const COMMAND_WORDS = new Set([
  "fluxrig",
  "fluxrig-rack",
  "fluxrig-mixer",
  "npm",
  "npx",
  "pnpm",
  "node",
  "bash",
  "sh",
  "curl",
  "chmod",
  "chown",
  "kill",
  "cp",
  "tar",
  "jq",
  "docker",
  "docker-compose",
  "systemctl",
]);

const FENCE = /^ *```(\w*)[^\n]*\n([\s\S]*?)^ *```[ \t]*$/gm;

/** The commands of a Markdown text: every line of its ```sh blocks, and inline spans of a program with arguments. */
function documentedCommands(markdown: string): string[] {
  const commands: string[] = [];
  const prose = markdown.replace(FENCE, (_block, lang: string, body: string) => {
    if (lang === "sh") commands.push(...shellLines(body));
    return "";
  });
  for (const [, span = ""] of prose.matchAll(/`([^`\n]+)`/g)) {
    // A program with arguments; a bare `fluxrig` in prose names the program.
    const [program = "", ...args] = collapse(span).split(" ");
    if (COMMAND_WORDS.has(program) && args.length > 0) commands.push([program, ...args].join(" "));
  }
  return [...new Set(commands)];
}

/** One command per line: continuations joined, trailing `# comments` and blank lines dropped. */
function shellLines(body: string): string[] {
  return body
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => collapse(line.replace(/(^|\s)#.*$/, "")))
    .filter((line) => line !== "");
}

function collapse(text: string): string {
  return text.trim().replace(/\s+/g, " ");
}

/** The text of a `## heading` section, up to the next `## `. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

const readRepoFile = (path: string): string => readFileSync(join(ROOT, path), "utf8");

function docCommands(): { quickStart: string[]; operations: string[] } {
  return {
    quickStart: documentedCommands(section(readRepoFile("README.md"), "Quick start")),
    operations: documentedCommands(readRepoFile("docs/operations.md")),
  };
}

function packageScripts(): Record<string, string> {
  return (JSON.parse(readRepoFile("package.json")) as { scripts: Record<string, string> }).scripts;
}

// ---------------------------------------------------------------------------------------------------------------
// A temporary lab, as `npm run lab` starts it.

interface Lab extends AsyncDisposable {
  proc: SpawnedProcess;
  dir: string;
  apiUrl: string;
  natsUrl: string;
  token: string;
  telemetryToken: string;
}

/** The flags that make a documented lab command run in the test: no set-up or build, a temp dir, free ports. */
function isolationFlags(labDir: string): string[] {
  return ["--no-setup", "--no-build", "--lab-dir", labDir, "--nats-port", "0", "--api-port", "0"];
}

/** The arguments of `npm run lab [-- args]`. */
function labArgs(command: string): string[] {
  const match = /^npm run lab(?: -- (.+))?$/.exec(command);
  if (match === null) throw new Error(`not an npm run lab command: ${command}`);
  return match[1]?.split(" ") ?? [];
}

async function startLab(command: string, labDir: string): Promise<Lab> {
  const proc = startProcess({
    command: "bash",
    args: [join(ROOT, "tooling/lab.sh"), ...labArgs(command), ...isolationFlags(labDir)],
    cwd: ROOT,
    label: command,
    stopGraceMs: 40_000,
  });
  const bannerUrl = async (name: string): Promise<string> => {
    const line = await proc.waitForLine(new RegExp(`^\\s+${name}\\s+\\w+://`), { timeoutMs: 60_000 });
    return /(\w+:\/\/\S+)/.exec(line)?.[1] ?? "";
  };
  const apiUrl = await bannerUrl("API");
  const natsUrl = await bannerUrl("NATS");
  return {
    proc,
    dir: labDir,
    apiUrl,
    natsUrl,
    token: readFileSync(join(labDir, "token"), "utf8").trim(),
    telemetryToken: readFileSync(join(labDir, "telemetry-token"), "utf8").trim(),
    [Symbol.asyncDispose]: async () => {
      await proc.stop();
    },
  };
}

/**
 * Runs `body`; on failure prints the tail of every log the lab wrote (`<labDir>/logs/*.log`: nats-server, Mixer,
 * Racks) and of the extra Racks, read before the temp dir goes (vitest's onTestFailed runs after it is removed).
 */
async function withLogsOnFailure(
  labDir: string,
  extra: () => HasOutput[],
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (error) {
    const logsDir = labLayout(labDir).logsDir;
    const files = existsSync(logsDir) ? readdirSync(logsDir).filter((f) => f.endsWith(".log")) : [];
    const fromFiles = files.sort().map((file) => ({
      label: join(logsDir, file),
      output: (tail = 80) =>
        readFileSync(join(logsDir, file), "utf8").trimEnd().split("\n").slice(-tail).join("\n"),
    }));
    console.error(formatLogs([...fromFiles, ...extra()], 80));
    throw error;
  }
}

/** The extra Racks by name, each stopped when disposed (also when the test fails half-way). */
class ExtraRacks implements AsyncDisposable {
  readonly running = new Map<string, SpawnedProcess>();
  /** Every process started, restarted ones included, for the logs of a failure. */
  readonly all: SpawnedProcess[] = [];

  constructor(
    private readonly lab: Lab,
    private readonly dirs: Record<string, string>,
  ) {}

  start(name: string, key = name): SpawnedProcess {
    const dir = this.dirs[key];
    if (dir === undefined) throw new Error(`no state dir for the extra Rack ${key}`);
    const proc = startExtraRack(this.lab, name, dir);
    this.running.set(key, proc);
    this.all.push(proc);
    return proc;
  }

  get(key: string): SpawnedProcess {
    const proc = this.running.get(key);
    if (proc === undefined) throw new Error(`the extra Rack ${key} is not running`);
    return proc;
  }

  async restart(key: string): Promise<void> {
    await this.get(key).stop();
    this.start(key, key);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const proc of this.running.values()) await proc.stop();
  }
}

async function rackStatuses(lab: Lab): Promise<Record<string, string>> {
  const response = await fetch(`${lab.apiUrl}/api/v1/racks?limit=1000`, {
    headers: { authorization: `Bearer ${lab.token}` },
  });
  const body = (await response.json()) as { items: Array<{ name: string; status: string }> };
  return Object.fromEntries(body.items.map((r) => [r.name, r.status]));
}

/** Polls the API until every named Rack has its status. */
async function waitForStatuses(lab: Lab, want: Record<string, string>): Promise<void> {
  await eventually(
    async () => {
      const all = await rackStatuses(lab);
      expect(Object.fromEntries(Object.keys(want).map((name) => [name, all[name]]))).toEqual(want);
    },
    { timeoutMs: 60_000, intervalMs: 250, message: `the API to show ${JSON.stringify(want)}` },
  );
}

/** SIGINT, as Ctrl-C: the lab stops everything and exits 0. */
async function interrupt(lab: Lab): Promise<void> {
  lab.proc.kill("SIGINT");
  expect(await lab.proc.waitForExit({ timeoutMs: 60_000 })).toEqual({ code: 0, signal: null });
}

/** Every FLUXRIG_* of the test's own environment removed: a developer's exported token must not leak in. */
function withoutFluxrigEnv(): Record<string, undefined> {
  return Object.fromEntries(
    Object.keys(process.env)
      .filter((key) => key.startsWith("FLUXRIG_"))
      .map((key) => [key, undefined]),
  );
}

/** A Rack the test adds to the lab, started with the lab's own Rack settings (examples/lab/fluxrig-rack.toml). */
function startExtraRack(lab: Lab, name: string, stateDir: string): SpawnedProcess {
  const run: LabRuntime = {
    labDir: lab.dir,
    natsUrl: lab.natsUrl,
    apiListen: "",
    apiUrl: lab.apiUrl,
    token: lab.token,
    telemetryToken: lab.telemetryToken,
    autoAdopt: false,
    auth: "jwt",
    bootstrapCreds: labLayout(lab.dir).bootstrapCreds,
  };
  return spawnBinary("fluxrig-rack", {
    args: ["--config", LAB_FILES.rackConfig],
    env: { ...withoutFluxrigEnv(), ...rackEnv(run, name, stateDir) },
    label: `${name} (${stateDir})`,
  });
}

/** A dir for PATH holding `fluxrig` and `fluxrig-rack`, each running its built bundle with this node. */
function writeShims(dir: string): void {
  for (const name of ["fluxrig", "fluxrig-rack"] as const) {
    const script = `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(binaryPath(name))} "$@"\n`;
    writeFileSync(join(dir, name), script, { mode: 0o755 });
  }
}

interface ShellResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

async function shell(command: string, env: Record<string, string | undefined>): Promise<ShellResult> {
  await using proc = startProcess({ command: "bash", args: ["-c", command], env, cwd: ROOT, label: command });
  const exit = await proc.waitForExit({ timeoutMs: 30_000 });
  return {
    ...exit,
    stdout: proc.lines({ stream: "stdout" }).join("\n"),
    stderr: proc.lines({ stream: "stderr" }).join("\n"),
  };
}

// ---------------------------------------------------------------------------------------------------------------

describe("the README's quick start and docs/operations.md, command by command", () => {
  test("every documented command is run, checked or skipped with a reason", () => {
    const { quickStart, operations } = docCommands();
    const tables = [LAB_RUNS, CI_COMMANDS, RUNS, SKIPPED].map((t) => Object.keys(t));
    const classified = tables.flat();
    const documented = [...new Set([...quickStart, ...operations])];

    expect(
      documented.filter((c) => !classified.includes(c)),
      "commands in the docs that no table of readme-commands.int.test.ts runs or skips",
    ).toEqual([]);
    expect(
      classified.filter((c) => !documented.includes(c)),
      "table entries of readme-commands.int.test.ts that the docs no longer have",
    ).toEqual([]);
    expect(
      classified.filter((c, i) => classified.indexOf(c) !== i),
      "commands in two tables",
    ).toEqual([]);

    // Every example object and placeholder is mapped to a lab object.
    const unmapped = Object.entries(RUNS)
      .map(([documented, run]) => runnable(documented, run))
      .filter((run) => /<[^<>]+>|\[-|\brack-nyc-|\bDIR\b/.test(run));
    expect(
      unmapped,
      "commands left with a placeholder or a docs example object: add it to LAB_OBJECTS",
    ).toEqual([]);

    // The lab is started by its package.json script, and the skipped scripts exist.
    const scripts = packageScripts();
    expect(scripts.lab, "npm run lab must be bash tooling/lab.sh, as the test runs it").toMatch(
      /^(exec )?bash tooling\/lab\.sh$/,
    );
    for (const [command, { why, script }] of Object.entries(SKIPPED)) {
      expect(why.length, `a reason to skip ${command}`).toBeGreaterThan(20);
      if (script !== undefined) expect(scripts[script], `package.json script for ${command}`).toBeDefined();
    }
  });

  test.each(Object.entries(CI_COMMANDS))(
    "%s: .ci/run runs exactly it, and package.json defines it",
    (command, script) => {
      const scripts = packageScripts();
      expect(scripts[script], `package.json scripts.${script}`).toBeDefined();
      const target = /^(?:exec )?bash (\S+)$/.exec(scripts[script] ?? "")?.[1];
      if (target !== undefined) expect(statSync(join(ROOT, target)).isFile()).toBe(true);

      const ciLines = shellLines(readRepoFile(".ci/run"));
      const escaped = command.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      expect(
        ciLines.filter((line) => new RegExp(`^${escaped}(\\s*(\\|\\||&&|;)|$)`).test(line)),
      ).toHaveLength(1);
    },
  );

  test("npm run lab, then every fluxrig command of the quick start and of docs/operations.md against it", async () => {
    await using dir = tempDir("readme-commands");
    let extras: ExtraRacks | undefined;
    await withLogsOnFailure(
      join(dir.path, "lab"),
      () => extras?.all ?? [],
      () =>
        readmeCommands(dir.path, (e) => {
          extras = e;
        }),
    );
  }, 150_000);

  const otherLabRuns = Object.entries(LAB_RUNS).filter(([command]) => command !== "npm run lab");
  test.each(otherLabRuns)(
    "%s, in a fresh temp lab",
    async (command, want) => {
      await using dir = tempDir("readme-lab");
      await using lab = await startLab(command, join(dir.path, "lab"));
      await waitForStatuses(lab, want);
      await interrupt(lab);
    },
    120_000,
  );
});

/** `npm run lab`, the extra Racks the docs' examples need, then every runnable command of the docs in order. */
async function readmeCommands(dirPath: string, started: (extras: ExtraRacks) => void): Promise<void> {
  const want = LAB_RUNS["npm run lab"];
  if (want === undefined) throw new Error("LAB_RUNS lost its `npm run lab` entry");
  await using lab = await startLab("npm run lab", join(dirPath, "lab"));
  await waitForStatuses(lab, want);

  // The objects the docs' examples need beyond the lab's three Racks (see LAB_OBJECTS).
  await using extras = new ExtraRacks(lab, {
    "rack-visitor": join(dirPath, "extra", "rack-visitor"),
    "rack-manual-rebuilt": join(dirPath, "extra", "rack-manual-rebuilt"),
  });
  started(extras);
  extras.start("rack-visitor");
  extras.start("rack-manual", "rack-manual-rebuilt");
  await waitForStatuses(lab, { "rack-visitor": "pending", "rack-manual": "pending" });
  await waitFor(
    async () => {
      const response = await fetch(`${lab.apiUrl}/api/v1/conflicts?name=rack-manual`, {
        headers: { authorization: `Bearer ${lab.token}` },
      });
      return ((await response.json()) as { items: unknown[] }).items.length > 0;
    },
    { timeoutMs: 30_000, intervalMs: 250, message: "the rebuilt rack-manual's name_taken conflict" },
  );

  const bin = join(dirPath, "bin");
  mkdirSync(bin);
  writeShims(bin);
  const env = {
    ...withoutFluxrigEnv(),
    FLUXRIG_API_URL: lab.apiUrl,
    FLUXRIG_API_TOKEN: lab.token,
    // No developer's ~/.config/fluxrig/cli.json: a file that does not exist.
    FLUXRIG_CLI_CONFIG: join(dirPath, "no-cli.json"),
    PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`,
    LAB: lab.dir,
    NO_COLOR: "1",
    FORCE_COLOR: undefined,
  };

  const outputs = new Map<string, string>();
  for (const [documented, spec] of Object.entries(RUNS)) {
    const { exit, shows = [], afterwards, rackLogShows, restarts } = spec;
    const run = runnable(documented, spec);
    const result = await shell(run, env);
    const context = `${documented}\n  ran: ${run}\n  stdout:\n${result.stdout}\n  stderr:\n${result.stderr}`;
    expect({ code: result.code, signal: result.signal }, context).toEqual({
      code: exit?.code ?? 0,
      signal: null,
    });
    for (const pattern of shows) expect(result.stdout, context).toMatch(pattern);
    outputs.set(documented, result.stdout);
    if (rackLogShows !== undefined)
      await extras.get(rackLogShows.rack).waitForJson({ msg: rackLogShows.msg }, { timeoutMs: 60_000 });
    if (restarts !== undefined) await extras.restart(restarts.rack);
    if (afterwards !== undefined) await waitForStatuses(lab, afterwards);
  }

  // "Compare the key fingerprint with the one the Rack prints": the same string on both sides.
  const onRack = /^rack key\s+(SHA256:\S+)/m.exec(
    outputs.get("fluxrig-rack status --state-dir DIR") ?? "",
  )?.[1];
  const onMixer = /^key\s+(SHA256:\S+)/m.exec(outputs.get("fluxrig racks show rack-nyc-01") ?? "")?.[1];
  expect(onRack).toBeDefined();
  expect(onMixer).toBe(onRack);
  expect(statSync(join(lab.dir, "mixer", "cluster.key")).mode & 0o777).toBe(0o600);

  await extras[Symbol.asyncDispose]();
  await interrupt(lab);
}
