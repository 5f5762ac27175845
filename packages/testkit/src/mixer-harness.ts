// A real nats-server plus a real fluxrig-mixer process, for integration tests: start, restart, kill -9, API calls.
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { SpawnedProcess } from "./child-process.js";
import { freePort } from "./free-port.js";
import { type NatsServer, startNatsServer } from "./nats-server.js";
import { tempDir } from "./temp-files.js";
import { spawnBinary } from "./workspace-binaries.js";

export const TEST_TOKEN = "test-token-0123456789";

export interface MixerHarnessOptions {
  env?: Record<string, string>;
  /** Start the Mixer too (default true). */
  start?: boolean;
  /** Extra Node flags for the Mixer process, e.g. `["--cpu-prof", "--cpu-prof-dir=DIR"]` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

export class MixerHarness {
  mixer: SpawnedProcess | undefined;
  readonly clients: NatsConnection[] = [];

  private constructor(
    readonly nats: NatsServer,
    readonly dataDir: string,
    readonly apiPort: number,
    readonly env: Record<string, string>,
    private readonly disposeDir: () => Promise<void>,
    private readonly nodeArgs: string[] = [],
  ) {}

  static async create(opts: MixerHarnessOptions = {}): Promise<MixerHarness> {
    const nats = await startNatsServer();
    const dir = tempDir("fluxrig-mixer-test");
    const apiPort = await freePort();
    const h = new MixerHarness(
      nats,
      join(dir.path, "data"),
      apiPort,
      opts.env ?? {},
      async () => {
        await dir[Symbol.asyncDispose]();
      },
      opts.nodeArgs,
    );
    if (opts.start !== false) await h.start();
    return h;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  /** Starts the Mixer process and waits until it logs that it is started. */
  async start(extraEnv: Record<string, string> = {}): Promise<SpawnedProcess> {
    const mixer = spawnBinary("fluxrig-mixer", {
      ...(this.nodeArgs.length > 0 ? { nodeArgs: ["--enable-source-maps", ...this.nodeArgs] } : {}),
      env: {
        FLUXRIG_NATS_URL: this.nats.url,
        FLUXRIG_MIXER_DATA_DIR: this.dataDir,
        FLUXRIG_API_LISTEN: `127.0.0.1:${this.apiPort}`,
        FLUXRIG_API_AUTH_TOKEN: TEST_TOKEN,
        FLUXRIG_NATS_CONNECT_TIMEOUT: "10s",
        FLUXRIG_NATS_AUTH: "none", // an open test server; tests of bus auth ask for jwt
        ...this.env,
        ...extraEnv,
      },
    });
    this.mixer = mixer;
    await mixer.waitForJson({ msg: "mixer ready" }, { timeoutMs: 30_000 });
    return mixer;
  }

  /** SIGTERM and wait for a clean exit. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const mixer = this.mixer;
    if (!mixer) return { code: 0, signal: null };
    mixer.kill("SIGTERM");
    const exit = await mixer.waitForExit({ timeoutMs: 30_000 });
    this.mixer = undefined;
    return exit;
  }

  async kill9(): Promise<void> {
    const mixer = this.mixer;
    if (!mixer) return;
    mixer.kill9();
    await mixer.waitForExit({ timeoutMs: 10_000 });
    this.mixer = undefined;
  }

  /**
   * A client of the harness's nats-server, closed with the harness. `lean` turns off nats.js's async traces (an Error
   * with a stack captured per request, about 40 us): for load generators, not for tests, whose timeouts want them.
   */
  async client(opts: { lean?: boolean } = {}): Promise<NatsConnection> {
    const nc = await connect({
      servers: this.nats.url,
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
      ...(opts.lean ? { noAsyncTraces: true } : {}),
    });
    this.clients.push(nc);
    return nc;
  }

  /** Calls the REST API with the test token; returns status and parsed JSON body. */
  async api<T = unknown>(
    path: string,
    init: RequestInit & { json?: unknown } = {},
  ): Promise<{ status: number; body: T }> {
    const headers = new Headers(init.headers);
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${TEST_TOKEN}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    const res = await fetch(`${this.apiUrl}${path}`, { ...init, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: return the text as is.
    }
    return { status: res.status, body: parsed as T };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const nc of this.clients) await nc.close().catch(() => undefined);
    if (this.mixer) await this.mixer.stop().catch(() => undefined);
    await this.nats.stop();
    await this.disposeDir();
  }
}
