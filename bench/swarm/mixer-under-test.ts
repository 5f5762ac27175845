// The system under load: a real nats-server (monitoring on) and the built fluxrig-mixer process, with its REST API.
import { join } from "node:path";
import {
  freePort,
  type JwtBusFiles,
  type NatsServer,
  runNatsConfig,
  type SpawnedProcess,
  spawnBinary,
  startNatsServer,
  TEST_TOKEN,
  type TempDir,
  tempDir,
} from "@fluxrig/testkit";
import { ApiTimer } from "./api-timer.js";

export type NatsConnection = Awaited<ReturnType<NatsServer["connect"]>>;

/** The part of `GET /api/v1/cluster` the benchmark reads. */
export interface ClusterView {
  counts: Record<string, number>;
  counters: Record<string, number>;
  heartbeat_interval_ms: number;
  memory?: { db_bytes: number; db_by_tag: Record<string, number> };
}

/** The part of a Rack in `GET /api/v1/racks` the benchmark reads. */
export interface RackRow {
  entity_id: string;
  machine_id: number;
  name: string;
  status: string;
  last_seen: string | null;
  stats: Record<string, unknown> | null;
}

/** The part of an audit event in `GET /api/v1/events` the benchmark reads. */
export interface AuditEventRow {
  seq: number;
  at: string;
  name: string | null;
  kind: string;
  from_status: string | null;
  to_status: string | null;
  cause: string;
  details: Record<string, unknown> | null;
}

/** The slice of nats-server's `/varz` the benchmark reads. */
export interface Varz {
  in_msgs: number;
  out_msgs: number;
  slow_consumers: number;
  cpu: number;
  mem: number;
}

/** The Mixer's own `process.memoryUsage()`, in bytes, as its memory probe last printed it. */
export interface MixerMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/**
 * Loaded into the Mixer with NODE_OPTIONS (no change to the Mixer): prints `process.memoryUsage()` on stderr once a
 * second, so RSS can be split into the V8 heap and the rest (DuckDB's native memory, buffers, code). Written
 * without spaces or quotes, which NODE_OPTIONS would split or strip.
 */
const MEMORY_PROBE =
  "--import=data:text/javascript,setInterval(()=>process.stderr.write(JSON.stringify({swarm_mem:process.memoryUsage()})+String.fromCharCode(10)),1000).unref()";

export interface MixerUnderTestOptions {
  /** `jwt`: nats-server runs the block of the real `fluxrig-mixer nats-config` on the Mixer's data dir. */
  auth: "none" | "jwt";
  env: Record<string, string>;
  /** Flags for node itself, before the Mixer's script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: readonly string[];
}

export class MixerUnderTest implements AsyncDisposable {
  mixer: SpawnedProcess | undefined;
  /** The latest report of the Mixer's memory probe. */
  memory: MixerMemory | undefined;
  /** Times the reads whose latency is a figure (`timedApi`), on a thread of its own; made at the first one. */
  #timer: ApiTimer | undefined;

  private constructor(
    readonly nats: NatsServer,
    readonly dir: TempDir,
    readonly apiPort: number,
    readonly opts: MixerUnderTestOptions,
    /** jwt: the config block and the bootstrap creds the Racks enroll with. */
    readonly jwtBus: JwtBusFiles | undefined,
  ) {}

  /** Starts nats-server (no JetStream: the Mixer does not use it) and the Mixer, and waits until it is ready. */
  static async start(opts: MixerUnderTestOptions): Promise<MixerUnderTest> {
    const dir = tempDir("fluxrig-swarm");
    let nats: NatsServer | undefined;
    let jwtBus: JwtBusFiles | undefined;
    try {
      jwtBus = opts.auth === "jwt" ? await runNatsConfig(dir.path, join(dir.path, "data")) : undefined;
      nats = await startNatsServer({
        jetstream: false,
        monitor: true,
        ...(jwtBus === undefined ? {} : { extraConfig: jwtBus.config }),
      });
    } catch (err) {
      await nats?.stop();
      await dir.remove();
      throw err;
    }
    const m = new MixerUnderTest(nats, dir, await freePort(), opts, jwtBus);
    try {
      await m.startMixer();
    } catch (err) {
      await m[Symbol.asyncDispose]();
      throw err;
    }
    return m;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  get mixerPid(): number | undefined {
    return this.mixer?.running ? this.mixer.pid : undefined;
  }

  /** `V8 heap 80 of 120 MB, external 5 MB, rest of RSS 210 MB (native: DuckDB, code, buffers)`, from the probe. */
  memoryText(): string {
    const m = this.memory;
    if (m === undefined) return "no memory report from the Mixer";
    const mb = (n: number) => Math.round(n / 1048576);
    return (
      `V8 heap ${mb(m.heapUsed)} MB used of ${mb(m.heapTotal)} MB, external ${mb(m.external)} MB, rest of RSS ` +
      `${mb(m.rss - m.heapTotal - m.external)} MB (native: DuckDB, code, buffers) of ${mb(m.rss)} MB`
    );
  }

  async startMixer(): Promise<void> {
    const env: Record<string, string> = {
      FLUXRIG_NATS_URL: this.nats.url,
      FLUXRIG_MIXER_DATA_DIR: join(this.dir.path, "data"),
      FLUXRIG_API_LISTEN: `127.0.0.1:${this.apiPort}`,
      FLUXRIG_API_AUTH_TOKEN: TEST_TOKEN,
      FLUXRIG_NATS_CONNECT_TIMEOUT: "10s",
      FLUXRIG_NATS_AUTH: this.opts.auth,
      ...this.opts.env,
    };
    env.NODE_OPTIONS = MEMORY_PROBE;
    // No --enable-source-maps unless asked (`--mixer-node-args=--enable-source-maps`, as the Dockerfile runs it): since
    // the Mixer's map carries no source text it costs about 2 MB of RSS (bench/swarm/README.md, issue 19 fifth round).
    this.mixer = spawnBinary("fluxrig-mixer", { env, nodeArgs: [...(this.opts.nodeArgs ?? [])] });
    let tail = "";
    this.mixer.child.stderr?.on("data", (chunk: Buffer) => {
      const lines = (tail + chunk.toString("utf8")).split("\n");
      tail = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith('{"swarm_mem"')) continue;
        try {
          this.memory = (JSON.parse(line) as { swarm_mem: MixerMemory }).swarm_mem;
        } catch {
          // A torn line: the next one comes in a second.
        }
      }
    });
    await this.mixer.waitForJson({ msg: "mixer ready" }, { timeoutMs: 60_000 });
  }

  /** Calls the REST API with the test token and parses the JSON answer; throws on a non-2xx status. */
  async api<T>(path: string, timeoutMs = 30_000): Promise<T> {
    const res = await fetch(`${this.apiUrl}${path}`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }

  /**
   * As `api`, timed on a thread of its own (api-timer.ts): `ms` is request sent to body read, which the generator's
   * busy event loop does not stretch.
   */
  async timedApi<T>(path: string, timeoutMs = 30_000): Promise<{ body: T; ms: number }> {
    if (this.#timer === undefined) {
      this.#timer = new ApiTimer();
      // Untimed: the thread's start and its first connection (51 ms in one run) are the benchmark's, not the API's.
      await this.#timer.get(`${this.apiUrl}/health`, {}, timeoutMs);
    }
    const r = await this.#timer.get(
      `${this.apiUrl}${path}`,
      { authorization: `Bearer ${TEST_TOKEN}` },
      timeoutMs,
    );
    if (r.status < 200 || r.status > 299)
      throw new Error(`GET ${path}: HTTP ${r.status}: ${r.text.slice(0, 200)}`);
    return { body: JSON.parse(r.text) as T, ms: r.ms };
  }

  cluster(): Promise<ClusterView> {
    return this.api<ClusterView>("/api/v1/cluster");
  }

  /** Every Rack, page by page (1,000 a page, ordered by name). */
  async allRacks(maxPages = 1_000): Promise<RackRow[]> {
    const out: RackRow[] = [];
    let after: string | null = null;
    for (let page = 0; page < maxPages; page++) {
      const q: string = after === null ? "" : `&after=${encodeURIComponent(after)}`;
      const body = await this.api<{ items: RackRow[]; next: string | null }>(`/api/v1/racks?limit=1000${q}`);
      out.push(...body.items);
      after = body.next;
      if (after === null) return out;
    }
    throw new Error(`more than ${maxPages} pages of Racks`);
  }

  /** The audit events since a time, oldest first, bounded in pages. */
  async eventsSince(since: Date, maxPages = 200): Promise<AuditEventRow[]> {
    const out: AuditEventRow[] = [];
    let after: string | null = null;
    for (let page = 0; page < maxPages; page++) {
      const q: string = after === null ? "" : `&after=${after}`;
      const body = await this.api<{ items: AuditEventRow[]; next: string | null }>(
        `/api/v1/events?limit=1000&since=${encodeURIComponent(since.toISOString())}${q}`,
      );
      out.push(...body.items);
      after = body.next;
      if (after === null) return out;
    }
    return out;
  }

  varz(): Promise<Varz> {
    return this.nats.monitor<Varz>("varz");
  }

  /** SIGTERM and wait for a clean exit; answers the exit code. */
  async stopMixer(): Promise<number | null> {
    const mixer = this.mixer;
    if (!mixer) return 0;
    this.mixer = undefined;
    const exit = await mixer.stop({ graceMs: 30_000 });
    return exit.code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#timer?.close();
    await this.stopMixer().catch(() => undefined);
    await this.nats.stop();
    await this.dir[Symbol.asyncDispose]();
  }
}
