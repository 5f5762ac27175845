// A real nats-server plus a real fluxrig-mixer process, for integration tests: start, restart, kill -9, API calls.
// The bus is open (`[nats] auth = "none"`) unless a test asks for `auth: "jwt"`: then the real `fluxrig-mixer
// nats-config` writes nats-server's block from the harness's data dir, and clients connect with credentials.
import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { nonceAuthenticator } from "@fluxrig/passport";
import { INBOX_PREFIXES, rackInboxPrefix } from "@fluxrig/wire";
import {
  connect,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from "@nats-io/transport-node";
import type { SpawnedProcess } from "./child-process.js";
import { TestkitError } from "./errors.js";
import { freePort } from "./free-port.js";
import { type NatsServer, startNatsServer } from "./nats-server.js";
import { tempDir } from "./temp-files.js";
import { runBinary, spawnBinary } from "./workspace-binaries.js";

export const TEST_TOKEN = "test-token-0123456789";

/** The bus modes of `[nats] auth`; the harness defaults to `none` so tests that are not about auth keep an open bus. */
export type HarnessBusAuth = "jwt" | "none";

/** The environment that tells a Mixer started by hand (not by the harness) to use an open bus, as the harness does. */
export const OPEN_BUS_ENV = { FLUXRIG_NATS_AUTH: "none" } as const;

export interface MixerHarnessOptions {
  /**
   * `none` (default): nats-server without auth, `FLUXRIG_NATS_AUTH=none`. `jwt`: nats-server runs the block from
   * `fluxrig-mixer nats-config` (resolver dir in the temp dir, kept across `nats.restart()`), the Mixer runs with
   * `FLUXRIG_NATS_AUTH=jwt`, and {@link MixerHarness.bootstrapCreds} is the file new Racks connect with.
   */
  auth?: HarnessBusAuth;
  env?: Record<string, string>;
  /** Start the Mixer too (default true). */
  start?: boolean;
  /** Extra Node flags for the Mixer process, e.g. `["--cpu-prof", "--cpu-prof-dir=DIR"]` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

/** What `fluxrig-mixer nats-config` wrote for a jwt bus. */
export interface JwtBusFiles {
  /** The config block nats-server was started with. */
  config: string;
  bootstrapCreds: string;
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
    private readonly jwtBus: JwtBusFiles | undefined = undefined,
  ) {}

  static async create(opts: MixerHarnessOptions = {}): Promise<MixerHarness> {
    const dir = tempDir("fluxrig-mixer-test");
    let nats: NatsServer | undefined;
    try {
      const dataDir = join(dir.path, "data");
      const jwtBus = opts.auth === "jwt" ? await runNatsConfig(dir.path, dataDir) : undefined;
      // In jwt mode the monitoring port is on: tests ask connz who is connected as which user.
      nats = await startNatsServer(jwtBus === undefined ? {} : { extraConfig: jwtBus.config, monitor: true });
      const apiPort = await freePort();
      const h = new MixerHarness(
        nats,
        dataDir,
        apiPort,
        { FLUXRIG_NATS_AUTH: opts.auth ?? "none", ...opts.env },
        async () => {
          await dir[Symbol.asyncDispose]();
        },
        opts.nodeArgs,
        jwtBus,
      );
      if (opts.start !== false) await h.start();
      return h;
    } catch (error) {
      await nats?.stop();
      await dir.remove();
      throw error;
    }
  }

  /** The bus mode this harness runs nats-server and the Mixer in. */
  get auth(): HarnessBusAuth {
    return this.jwtBus === undefined ? "none" : "jwt";
  }

  /** jwt mode: the bootstrap `.creds` file (0600) that `nats-config` wrote, for Racks (`[nats] creds`). */
  get bootstrapCreds(): string {
    return this.#jwt().bootstrapCreds;
  }

  /** jwt mode: the nats-server config block `nats-config` printed (what the server runs with). */
  get natsAuthConfig(): string {
    return this.#jwt().config;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  /** Starts the Mixer process and waits until it logs that it is started. */
  async start(extraEnv: Record<string, string> = {}): Promise<SpawnedProcess> {
    const mixer = spawnMixer({
      natsUrl: this.nats.url,
      dataDir: this.dataDir,
      apiPort: this.apiPort,
      env: { ...this.env, ...extraEnv },
      nodeArgs: this.nodeArgs,
    });
    this.mixer = mixer;
    await waitForMixerReady(mixer);
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
   * Anonymous: in jwt mode the server refuses it; use {@link connectBootstrap} or {@link connectAs} there.
   */
  async client(opts: { lean?: boolean } & NodeConnectionOptions = {}): Promise<NatsConnection> {
    const { lean, ...rest } = opts;
    const nc = await connect({
      servers: this.nats.url,
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
      ...(lean ? { noAsyncTraces: true } : {}),
      ...rest,
    });
    this.clients.push(nc);
    return nc;
  }

  /**
   * jwt mode: a client holding the shared bootstrap credential, with the bootstrap inbox prefix, as a new Rack's
   * first connection. It may send hellos and read the replies on `_INBOX._bootstrap.>`, nothing else.
   */
  connectBootstrap(opts: NodeConnectionOptions = {}): Promise<NatsConnection> {
    return this.client({ name: "bootstrap", ...bootstrapConnectOptions(this.bootstrapCreds), ...opts });
  }

  /**
   * jwt mode: a client on the bus as a Rack, with its own key and a JWT it was given (from a hello reply or a push;
   * `jwt` is read at each reconnect, so a renewed one is used next time), and its own inbox prefix.
   *
   * @example
   * const nc = await h.connectAs({ name: "rack-1", privateKey: keys.privateKey, jwt: () => reply.bus_credential!.jwt });
   */
  connectAs(
    rack: { name: string; privateKey: KeyObject; jwt: () => string },
    opts: NodeConnectionOptions = {},
  ): Promise<NatsConnection> {
    return this.client({
      name: rack.name,
      authenticator: nonceAuthenticator({ privateKey: rack.privateKey, jwt: rack.jwt }),
      inboxPrefix: rackInboxPrefix(rack.name),
      ...opts,
    });
  }

  #jwt(): JwtBusFiles {
    if (this.jwtBus === undefined) {
      throw new TestkitError(
        'this harness runs an open bus: create it with { auth: "jwt" } for bus credentials',
      );
    }
    return this.jwtBus;
  }

  /** Calls the REST API with the test token; returns status and parsed JSON body. */
  api<T = unknown>(
    path: string,
    init: RequestInit & { json?: unknown } = {},
  ): Promise<{ status: number; body: T }> {
    return mixerApi<T>(this.apiUrl, path, init);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const nc of this.clients) await nc.close().catch(() => undefined);
    if (this.mixer) await this.mixer.stop().catch(() => undefined);
    await this.nats.stop();
    await this.disposeDir();
  }
}

/** What differs per Mixer process started by the testkit: its bus, data dir, API port, and overrides. */
export interface MixerProcessSpec {
  /** `[nats] url`: one URL, or several joined by commas (a cluster's nodes). */
  natsUrl: string;
  dataDir: string;
  apiPort: number;
  /** `FLUXRIG_*` overrides, over the testkit's defaults (open bus, the test token, a 10 s connect timeout). */
  env?: Record<string, string>;
  /** Extra Node flags (after `--enable-source-maps`). */
  nodeArgs?: readonly string[];
  /** Its name in logs and failure reports (default `fluxrig-mixer`). */
  label?: string;
}

/**
 * Spawns the built `fluxrig-mixer` as every testkit Mixer runs: its data dir, API on loopback with {@link TEST_TOKEN},
 * an open bus unless `env` says `FLUXRIG_NATS_AUTH=jwt`. Does not wait: see {@link waitForMixerReady}.
 *
 * @example
 * const mixer = spawnMixer({ natsUrl: nats.url, dataDir, apiPort: await freePort() });
 * await waitForMixerReady(mixer);
 */
export function spawnMixer(spec: MixerProcessSpec): SpawnedProcess {
  const nodeArgs = spec.nodeArgs ?? [];
  return spawnBinary("fluxrig-mixer", {
    ...(nodeArgs.length > 0 ? { nodeArgs: ["--enable-source-maps", ...nodeArgs] } : {}),
    ...(spec.label === undefined ? {} : { label: spec.label }),
    env: {
      FLUXRIG_NATS_URL: spec.natsUrl,
      FLUXRIG_MIXER_DATA_DIR: spec.dataDir,
      FLUXRIG_API_LISTEN: `127.0.0.1:${spec.apiPort}`,
      FLUXRIG_API_AUTH_TOKEN: TEST_TOKEN,
      FLUXRIG_NATS_CONNECT_TIMEOUT: "10s",
      FLUXRIG_NATS_AUTH: "none", // an open test server; tests of bus auth ask for jwt
      ...spec.env,
    },
  });
}

/** Waits (bounded) until a Mixer process logs `mixer ready`; rejects if it exits first. */
export async function waitForMixerReady(mixer: SpawnedProcess, timeoutMs = 30_000): Promise<void> {
  await mixer.waitForJson({ msg: "mixer ready" }, { timeoutMs });
}

/**
 * Calls a Mixer's REST API with {@link TEST_TOKEN} (unless `init.headers` has an authorization); `json` is sent as
 * the body. Resolves with the status and the parsed JSON body (the text when it is not JSON).
 */
export async function mixerApi<T = unknown>(
  apiUrl: string,
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${TEST_TOKEN}`);
  let body = rest.body;
  if (json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(json);
  }
  const res = await fetch(`${apiUrl}${path}`, { ...rest, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: return the text as is.
  }
  return { status: res.status, body: parsed as T };
}

/**
 * nats.js options for a connection with the bootstrap creds (the file `nats-config` wrote): the creds
 * authenticator and the bootstrap inbox prefix, as a new Rack's first connection.
 *
 * @example
 * const nc = await nats.connect({ name: "swarm-0", ...bootstrapConnectOptions(h.bootstrapCreds) });
 */
export function bootstrapConnectOptions(credsFile: string): NodeConnectionOptions {
  return {
    authenticator: credsAuthenticator(readFileSync(credsFile)),
    inboxPrefix: INBOX_PREFIXES.bootstrap,
  };
}

/**
 * Runs the real `fluxrig-mixer nats-config` on a Mixer's data dir (it creates the bus keys there), with the resolver
 * dir and the bootstrap creds in `dir` unless `opts` names them (one resolver dir per nats-server of a cluster);
 * answers the config block for `startNatsServer({ extraConfig })`.
 *
 * @example
 * const bus = await runNatsConfig(tmp.path, join(tmp.path, "data"));
 * await using nats = await startNatsServer({ extraConfig: bus.config });
 */
export async function runNatsConfig(
  dir: string,
  dataDir: string,
  opts: { resolverDir?: string; bootstrapCreds?: string } = {},
): Promise<JwtBusFiles> {
  const bootstrapCreds = opts.bootstrapCreds ?? join(dir, "bootstrap.creds");
  const resolverDir = opts.resolverDir ?? join(dir, "nats-jwt");
  const run = await runBinary(
    "fluxrig-mixer",
    ["nats-config", "--resolver-dir", resolverDir, "--bootstrap-creds", bootstrapCreds],
    { env: { FLUXRIG_MIXER_DATA_DIR: dataDir } },
  );
  if (run.code !== 0) {
    throw new TestkitError(`fluxrig-mixer nats-config exited ${run.code}: ${run.stderr.trim()}`);
  }
  return { config: run.stdout, bootstrapCreds };
}
