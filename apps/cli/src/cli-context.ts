// What every command gets: its streams, the clock, and (lazily, only for commands that need it) an API client.
import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { ApiClient, type FetchLike } from "./api-client.js";
import { configFilePath, readConfigFile } from "./config-file.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { colorEnabled, Output, type Writer } from "./output.js";
import { resolveSettings, type SettingFlags, type Settings } from "./settings.js";
import { CLI_VERSION } from "./version.js";

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  /** Whether stdin is a terminal someone can answer a question on. */
  stdinIsTTY: boolean;
  /** Stdin, opened only when a command reads it (an open stdin handle can keep a process alive). */
  stdin: () => NodeJS.ReadableStream;
}

/** Everything the CLI touches outside itself, so tests can run it in-process with a fake fetch. */
export interface CliDeps {
  io: CliIo;
  env: Readonly<Record<string, string | undefined>>;
  fetch: FetchLike;
  now: () => Date;
  homeDir: string;
  /** The login name: the default actor for the audit log. */
  username?: string | undefined;
  /**
   * Calls `listener` on Ctrl-C (SIGINT) or SIGTERM; returns the unsubscribe. Only commands that run until stopped
   * (`events --follow`, `racks list --watch`) listen; without it they run until their stream ends.
   */
  onInterrupt?: (listener: () => void) => () => void;
  /** Asks a yes/no question on the terminal; the default reads a line from stdin. */
  confirm?: (question: string) => Promise<boolean>;
}

/** The global options, as commander parses them. */
export interface GlobalOptions {
  apiUrl?: string;
  token?: string;
  timeout?: number;
  actor?: string;
}

export class CliContext {
  readonly out: Output;
  readonly deps: CliDeps;
  /** Set before the action runs: whether the command was given --json. */
  jsonMode = false;
  #exitCode: ExitCode = EXIT.ok;

  constructor(deps: CliDeps) {
    this.deps = deps;
    this.out = new Output({
      stdout: deps.io.stdout,
      stderr: deps.io.stderr,
      color: colorEnabled({ env: deps.env, isTTY: deps.io.stdout.isTTY }),
    });
  }

  now(): Date {
    return this.deps.now();
  }

  get exitCode(): ExitCode {
    return this.#exitCode;
  }

  /** Ends the run with `code` once the command has finished (for partial failures that should not stop it). */
  failLater(code: ExitCode): void {
    if (this.#exitCode === EXIT.ok) this.#exitCode = code;
  }

  get stdinIsTTY(): boolean {
    return this.deps.io.stdinIsTTY;
  }

  /** The settings for this command: its global flags over the environment over the settings file. */
  async settings(cmd: Command): Promise<Settings> {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const flags: SettingFlags = { apiUrl: g.apiUrl, token: g.token, timeoutMs: g.timeout, actor: g.actor };
    const path = configFilePath(this.deps.env, this.deps.homeDir);
    const file = await readConfigFile(path);
    for (const w of file?.warnings ?? []) this.out.warn(w);
    return resolveSettings({ flags, env: this.deps.env, file, username: this.deps.username });
  }

  /** A client for the Mixer this command talks to. */
  async api(cmd: Command): Promise<ApiClient> {
    const s = await this.settings(cmd);
    const path = configFilePath(this.deps.env, this.deps.homeDir);
    const tokenHint =
      s.token === undefined
        ? `no token is set: pass --token, set FLUXRIG_API_TOKEN, or put "token" in ${path}`
        : `the token from ${s.sources.token === "flag" ? "--token" : s.sources.token === "env" ? "FLUXRIG_API_TOKEN" : path} was refused`;
    return new ApiClient({
      baseUrl: s.apiUrl,
      token: s.token,
      timeoutMs: s.timeoutMs,
      actor: s.actor,
      fetch: this.deps.fetch,
      userAgent: `fluxrig-cli/${CLI_VERSION}`,
      tokenHint,
    });
  }

  /**
   * A signal that aborts on Ctrl-C, for a command that runs until stopped; `dispose` stops listening. Being stopped
   * that way is the normal end of such a command: exit 0.
   */
  interruptSignal(): { signal: AbortSignal; dispose: () => void } {
    const controller = new AbortController();
    const off = this.deps.onInterrupt?.(() => controller.abort()) ?? (() => {});
    return { signal: controller.signal, dispose: off };
  }

  /** A yes/no question on stderr; only "y" or "yes" is yes. */
  async confirm(question: string): Promise<boolean> {
    if (this.deps.confirm) return this.deps.confirm(question);
    // The prompt goes to the real stderr: readline needs a stream, and stdout stays for results.
    const rl = createInterface({ input: this.deps.io.stdin(), output: process.stderr });
    try {
      // Ctrl-D closes the input without an answer; that is a no, not a hang.
      const answer = await new Promise<string>((resolve) => {
        rl.once("close", () => resolve(""));
        rl.question(`${question} [y/N] `).then(resolve, () => resolve(""));
      });
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
  }
}
