// A real nats-server per test: free port, own JetStream store, waited on until it serves, always stopped and removed.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import { type ExitStatus, SpawnedProcess } from "./child-process.js";
import { type Started, track } from "./cleanup-registry.js";
import { NatsServerStartError, ProcessExitedError, TestkitError } from "./errors.js";
import { freePort } from "./free-port.js";
import { LineLog } from "./line-log.js";
import { natsConfigText } from "./nats-config.js";
import { waitForInfoGreeting } from "./nats-probe.js";
import { removeTestPath, removeTestPathSync } from "./temp-files.js";

/** Options for {@link startNatsServer}. */
export interface NatsServerOptions {
  /** JetStream with a store in the server's temp dir (default true). */
  jetstream?: boolean;
  /** `max_payload`: bytes or a size string like `"8MB"` (server default 1MB). */
  maxPayload?: number | string;
  /** nats-server `debug` logging (and `trace` for protocol lines); noisy, for chasing a bug. */
  debug?: boolean;
  trace?: boolean;
  /** Enable HTTP monitoring on a free port: `monitorUrl`, `monitor("jsz")`. */
  monitor?: boolean;
  /** Config text appended to the generated file (later keys win), e.g. `"authorization { token: s3cret }"`. */
  extraConfig?: string;
  /** How long to wait until it accepts connections (default 15 000 ms). */
  startTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL when stopping (default 5000 ms). */
  stopGraceMs?: number;
  /** Log lines kept in memory (default 5000). */
  maxLogLines?: number;
  /** The nats-server binary (default: env `NATS_SERVER_BIN`, else `.tools/bin/nats-server`, else PATH). */
  bin?: string;
  /** `server_name` (default `testkit-<pid>-<n>`); cluster members need distinct, stable names. */
  serverName?: string;
  /**
   * Ports chosen by the caller (a cluster's routes name them before any member starts). A taken port is then the
   * caller's to retry: the server does not pick new ones.
   */
  ports?: { client: number; monitor?: number };
  /** JetStream `sync_interval`; `"always"` is cluster mode's (fsync before every acknowledgement). */
  syncInterval?: string;
  /** Joins a cluster: its route listener port and the seed routes (see `startNatsCluster`). */
  cluster?: { name: string; port: number; routes: readonly string[] };
}

/** How `stopForNow`/`restart` take the server down: `SIGTERM` is a clean shutdown, `SIGKILL` a crash. */
export interface TakeDownOptions {
  signal?: "SIGTERM" | "SIGKILL";
}

const HOST = "127.0.0.1";
// A stolen port (someone bound it between freePort() and nats-server's listen) is retried this many times.
const PORT_ATTEMPTS = 3;
const READY_LINE = /Server is ready/;
const PORT_TAKEN = /address already in use/i;
let serial = 0;

/**
 * A running nats-server that belongs to one test (or file). `await using` it, or call `stop()` in a `finally`.
 * `restart()`, `stopForNow()` and `start()` keep its port, config and JetStream store.
 *
 * @example
 * await using nats = await startNatsServer();
 * const nc = await nats.connect();
 */
export class NatsServer implements AsyncDisposable, Started {
  readonly host = HOST;
  /** The temp dir holding the config file and the store; removed by `stop()`. */
  readonly dir: string;
  readonly storeDir: string;
  readonly configPath: string;
  readonly #opts: NatsServerOptions;
  readonly #log: LineLog;
  readonly #connections = new Set<NatsConnection>();
  #port = 0;
  #httpPort: number | undefined;
  #proc: SpawnedProcess | undefined;
  #untrack: () => void = () => {};
  #stopped: Promise<void> | undefined;
  #starting: Promise<void> | undefined;

  private constructor(opts: NatsServerOptions) {
    this.#opts = opts;
    this.dir = mkdtempSync(join(tmpdir(), "fluxrig-nats-"));
    this.storeDir = join(this.dir, "store");
    this.configPath = join(this.dir, "nats-server.conf");
    this.#log = new LineLog({ label: "nats-server", maxLines: opts.maxLogLines ?? 5_000, tagStderr: false });
    this.#untrack = track(this);
  }

  /** Same as {@link startNatsServer}. */
  static async launch(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const server = new NatsServer(opts);
    try {
      await server.#firstStart();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** `nats-server:<port>`, the name its log goes by in failure reports. */
  get label(): string {
    return `nats-server:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /** `nats://127.0.0.1:<port>`, for clients and for the apps' `[nats] url`. */
  get url(): string {
    return `nats://${HOST}:${this.#port}`;
  }

  /** The HTTP monitoring base URL when started with `monitor: true`. */
  get monitorUrl(): string | undefined {
    return this.#httpPort === undefined ? undefined : `http://${HOST}:${this.#httpPort}`;
  }

  /** The OS process id while it runs; `undefined` while it is down. */
  get pid(): number | undefined {
    return this.#proc?.running ? this.#proc.pid : undefined;
  }

  get running(): boolean {
    return this.#proc?.running === true;
  }

  /** The server's log (bounded, kept across restarts), `tail` last lines only when given. */
  log(tail?: number): string {
    return this.#log.text(tail);
  }

  /** Alias of {@link log} so a server can be handed to `attachLogsOnFailure` like a process. */
  output(tail?: number): string {
    return this.log(tail);
  }

  /** A position in the log, for `waitForLog(…, { since })`. */
  mark(): number {
    return this.#log.mark();
  }

  /**
   * Resolves with the first log line (from `since` on) matching `pattern`.
   *
   * @example
   * await nats.waitForLog(/Client connection created/);
   */
  waitForLog(pattern: RegExp, opts: { since?: number; timeoutMs?: number } = {}): Promise<string> {
    if (this.#proc === undefined) return Promise.reject(new TestkitError("nats-server was never started"));
    return this.#proc.waitForLine(pattern, opts);
  }

  /**
   * Connects a client (closed for you by `stop()`). Reconnects quickly and forever by default, so it survives
   * `restart()`; pass options to change that.
   *
   * @example
   * const nc = await nats.connect({ name: "probe" });
   */
  async connect(opts: NodeConnectionOptions = {}): Promise<NatsConnection> {
    const nc = await connect({
      servers: this.url,
      name: "testkit",
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
      ...opts,
    });
    this.#connections.add(nc);
    void nc.closed().then(() => this.#connections.delete(nc));
    return nc;
  }

  /**
   * GETs a monitoring endpoint (`varz`, `jsz`, `connz`, ...) as JSON; needs `monitor: true`.
   *
   * @example
   * const jsz = await nats.monitor<{ config: { store_dir: string } }>("jsz");
   */
  async monitor<T = Record<string, unknown>>(endpoint: string): Promise<T> {
    if (this.monitorUrl === undefined) {
      throw new TestkitError("monitoring is off: start with { monitor: true }");
    }
    const response = await fetch(`${this.monitorUrl}/${endpoint.replace(/^\//, "")}`);
    if (!response.ok) throw new TestkitError(`GET /${endpoint}: HTTP ${response.status}`);
    return (await response.json()) as T;
  }

  /**
   * A server on the caller's `ports`, config written, not started yet: `start()` it. For members of a cluster, whose
   * routes name each other's ports before any of them runs. Tracked (and stopped by `stop()`) like any other.
   */
  static create(opts: NatsServerOptions & { ports: { client: number; monitor?: number } }): NatsServer {
    const server = new NatsServer(opts);
    server.#port = opts.ports.client;
    server.#httpPort = opts.ports.monitor;
    writeFileSync(server.configPath, natsConfigText(server.#configInput()));
    return server;
  }

  /** Picks free ports and starts; retries with new ports if one was taken meanwhile. */
  async #firstStart(): Promise<void> {
    const fixed = this.#opts.ports;
    for (let attempt = 1; ; attempt++) {
      this.#port = fixed?.client ?? (await freePort(HOST));
      this.#httpPort = fixed?.monitor ?? (this.#opts.monitor ? await freePort(HOST) : undefined);
      writeFileSync(this.configPath, natsConfigText(this.#configInput()));
      try {
        await this.start();
        return;
      } catch (error) {
        const portTaken = error instanceof NatsServerStartError && PORT_TAKEN.test(error.fields.log);
        if (!portTaken || fixed !== undefined || attempt >= PORT_ATTEMPTS) throw error;
        this.#log.push("note", `port taken, retrying with new ports (attempt ${attempt + 1})`);
      }
    }
  }

  /** Starts it again after `stopForNow()` on the same port and store; a no-op while it runs. */
  start(): Promise<void> {
    if (this.#stopped)
      return Promise.reject(new TestkitError("nats-server was stopped for good; start a new one"));
    // A second caller during a start waits for the same readiness instead of returning early.
    this.#starting ??= this.#launchProcess().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #launchProcess(): Promise<void> {
    if (this.running) return;
    const bin = this.#opts.bin ?? defaultNatsServerBin();
    this.#log.push("note", `starting ${bin} on port ${this.#port}`);
    const since = this.#log.mark();
    const proc = new SpawnedProcess({
      command: bin,
      args: ["-c", this.configPath],
      label: `nats-server:${this.#port}`,
      log: this.#log,
      track: false,
      stopGraceMs: this.#opts.stopGraceMs ?? 5_000,
    });
    this.#proc = proc;
    const timeoutMs = this.#opts.startTimeoutMs ?? 15_000;
    const deadline = Date.now() + timeoutMs;
    try {
      await proc.waitForLine(READY_LINE, { since, timeoutMs });
      await waitForInfoGreeting({ host: HOST, port: this.#port, deadline, isRunning: () => proc.running });
    } catch (error) {
      await proc.stop({ graceMs: 0 });
      throw this.#startError(proc, error, timeoutMs);
    }
  }

  /** Takes the server down but keeps its port, config and store, for `start()` later. */
  async stopForNow(opts: TakeDownOptions = {}): Promise<ExitStatus | undefined> {
    const proc = this.#proc;
    if (proc === undefined || !proc.running) return proc?.exitStatus;
    this.#log.push("note", `taking down with ${opts.signal ?? "SIGTERM"}`);
    if (opts.signal === "SIGKILL") proc.kill9();
    return proc.stop();
  }

  /** `stopForNow(opts)` then `start()`: same port, same store, same config. */
  async restart(opts: TakeDownOptions = {}): Promise<void> {
    await this.stopForNow(opts);
    await this.start();
  }

  /** Closes the clients it handed out, stops the server and deletes its files. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await Promise.allSettled([...this.#connections].map((nc) => nc.close()));
      await this.#proc?.stop();
      this.#log.push("note", "stopped; files removed");
      await removeTestPath(this.dir);
      this.#untrack();
    })();
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #startError(proc: SpawnedProcess, error: unknown, timeoutMs: number): NatsServerStartError {
    const status = proc.exitStatus;
    const reason =
      proc.pid === undefined ? "spawn-failed" : error instanceof ProcessExitedError ? "exited" : "timeout";
    const log = this.log(150);
    const why = {
      "spawn-failed":
        "could not be run (run `bash tooling/nats-server.sh`, or point NATS_SERVER_BIN at a nats-server 2.10+)",
      exited: `exited before it was ready (${status?.signal ? `signal ${status.signal}` : `code ${status?.code}`})`,
      timeout: `was not accepting connections within ${timeoutMs} ms`,
    }[reason];
    return new NatsServerStartError(
      `nats-server on port ${this.#port} ${why}. Config: ${this.configPath}\n${log}`,
      {
        reason,
        port: this.#port,
        exitCode: status?.code ?? null,
        signal: status?.signal ?? null,
        log,
        configPath: this.configPath,
      },
    );
  }

  #configInput(): Parameters<typeof natsConfigText>[0] {
    return {
      serverName: this.#opts.serverName ?? `testkit-${process.pid}-${++serial}`,
      host: HOST,
      port: this.#port,
      httpPort: this.#httpPort,
      jetstream: this.#opts.jetstream ?? true,
      storeDir: this.storeDir,
      maxPayload: this.#opts.maxPayload,
      debug: this.#opts.debug ?? false,
      trace: this.#opts.trace ?? false,
      syncInterval: this.#opts.syncInterval,
      cluster: this.#opts.cluster,
      extraConfig: this.#opts.extraConfig,
    };
  }

  /** Last resort for exit hooks: SIGKILL and synchronous removal of its files. Prefer `stop()`. */
  killSync(): void {
    const pid = this.pid;
    if (pid !== undefined) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    removeTestPathSync(this.dir);
  }
}

/**
 * Starts a nats-server with JetStream on a free port, in its own temp dir, and resolves once a client can connect.
 * Rejects with {@link NatsServerStartError} (with the server's log) if it exits first or never gets ready.
 *
 * @example
 * await using nats = await startNatsServer({ monitor: true });
 * const nc = await nats.connect();
 * await nc.request("fluxrig.agent.hello", payload);
 */
export function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  return NatsServer.launch(opts);
}

// The project's own nats-server (tooling/nats-server.sh puts 2.10+ there), so a bare `vitest run` uses the same
// server as `npm test`; an older system nats-server on PATH is only the last resort.
const PROJECT_NATS_SERVER = fileURLToPath(new URL("../../../.tools/bin/nats-server", import.meta.url));

function defaultNatsServerBin(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  return existsSync(PROJECT_NATS_SERVER) ? PROJECT_NATS_SERVER : "nats-server";
}
