// fluxrig-mixer.toml: the schema of every key, its default, and the one place the Mixer reads configuration.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { ConfigValueError, duration, type LoadedConfig, loadConfig } from "@fluxrig/config";
import { z } from "zod";

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const machineId = z.number().int().min(1).max(65535);

/**
 * Signature workers only pay where there are cores to spare: on 2 cores, sharing them with nats-server and DuckDB,
 * checks on the event loop enrolled faster (1,729/s against 1,578/s with one worker, bench/enrollment.bench.ts).
 * From 4 cores, one core for the event loop and one for the rest, and up to 4 workers.
 */
const DEFAULT_VERIFY_THREADS = availableParallelism() >= 4 ? Math.min(4, availableParallelism() - 2) : 0;

/** The schema of fluxrig-mixer.toml. Durations are strings with units ("10s"); they come out in milliseconds. */
export const MixerConfigSchema = z
  .strictObject({
    mixer: z.strictObject({
      /** Cluster name: named in every passport. */
      name: z.string().regex(DNS_LABEL, "expected a lowercase DNS label such as mixer-1").default("mixer-1"),
      machine_id: machineId.default(1),
      data_dir: z.string().min(1).default("./data"),
      log_level: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
      /**
       * DuckDB's memory cap (its `memory_limit`). DuckDB's own default is 80% of the machine's RAM, which it fills
       * with cached blocks; the registry is small (about 1 KB a Rack), so a cap keeps the Mixer's footprint flat.
       */
      db_memory_limit: z
        .string()
        .regex(/^[0-9]+(\.[0-9]+)? ?(KB|MB|GB|KiB|MiB|GiB)$/, 'expected a size such as "128MB" or "1GiB"')
        .default("256MB"),
      /**
       * A full garbage collection once V8's heap in use passes this many MB (then 1.5 x what survived, if more);
       * 0 leaves collection to V8 alone. See runtime/heap-governor.ts.
       */
      heap_soft_limit_mb: z.number().int().min(0).max(1_000_000).default(64),
      /**
       * V8's `--optimize-for-size`, set at start: a heap close to what is live, for more CPU. At 10,000 heartbeating
       * Racks 237 to 251 MB of RSS instead of 276 to 340, for 2 to 11 us more CPU per heartbeat (median 7). See
       * runtime/heap-governor.ts.
       */
      heap_optimize_for_size: z.boolean().default(false),
    }),
    nats: z.strictObject({
      url: z.string().min(1).default("nats://127.0.0.1:4222"),
      /** How long the Mixer keeps trying to reach NATS at start before it gives up. */
      connect_timeout: duration({ min: 0, default: "30s" }),
      /**
       * `jwt`: nats-server runs decentralized auth with keys the Mixer owns, each Rack on the bus as itself (SPEC §11,
       * docs/bus-auth.md). `none`: an open bus (an existing deployment), warned about at every start.
       */
      auth: z.enum(["jwt", "none"]).default("jwt"),
    }),
    api: z.strictObject({
      listen: z
        .string()
        .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "expected host:port such as 127.0.0.1:8090")
        .default("127.0.0.1:8090"),
      auth_token: z.string().default(""),
      /** Accepted on POST /v1/metrics only, so Racks export telemetry without the operator token. */
      telemetry_token: z.string().default(""),
      /** Accepted on GET /metrics only, so a Prometheus scraper need not hold the operator token. */
      metrics_token: z.string().default(""),
      auth_disabled_dangerously: z.boolean().default(false),
      max_body_bytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(1024 * 1024),
    }),
    enrollment: z.strictObject({
      auto_adopt: z.boolean().default(false),
      pending_ttl: duration({ min: 1000, default: "24h" }),
      max_pending: z.number().int().min(0).max(65535).default(1000),
      /** The MachineIDs the Mixer hands out to Racks (both ends included). */
      machine_id_min: machineId.default(1),
      machine_id_max: machineId.default(65535),
      /** How far a hello's timestamp may be from the Mixer's clock. */
      clock_skew: duration({ min: 1000, max: 3_600_000, default: "2m" }),
      /**
       * Hellos worked on at once; more are answered `unavailable` at once and the Rack retries with backoff, so a
       * thundering herd cannot queue past the Racks' request timeouts.
       */
      max_inflight_hellos: z.number().int().min(1).max(1_000_000).default(4096),
      /** Worker threads that check hello signatures; 0 checks them on the event loop. */
      verify_threads: z.number().int().min(0).max(16).default(DEFAULT_VERIFY_THREADS),
    }),
    presence: z.strictObject({
      heartbeat_interval: duration({ min: 50, default: "10s" }),
      missed_heartbeats: z.number().int().min(1).max(100).default(3),
      /** How often last_seen and stats are written to DuckDB in one batch. */
      flush_interval: duration({ min: 50, max: 60_000, default: "1s" }),
      /**
       * How often stats are written with last_seen: at the first flush this long after the last one that wrote them.
       * The API reads stats from memory; only what is stored (read after a restart) is this much older.
       */
      stats_flush_interval: duration({ min: 50, max: 3_600_000, default: "10s" }),
    }),
    passport: z.strictObject({
      ttl: duration({ min: 1000, default: "24h" }),
    }),
    /**
     * Cluster mode (docs/cluster.md): the registry's source of truth is JetStream KV on a NATS cluster, shared by
     * several Mixers; each keeps DuckDB as its index. Off: one Mixer, its DuckDB the source of truth (the default).
     */
    cluster: z.strictObject({
      enabled: z.boolean().default(false),
      /**
       * This Mixer's own name among the cluster's Mixers (a DNS label, distinct per Mixer): its registry row and
       * the holder named in leases. `[mixer] name` stays the cluster's name, shared by every Mixer and in every passport.
       */
      member: z.string().regex(DNS_LABEL, "expected a lowercase DNS label such as mixer-a").optional(),
      /** Copies of every KV value: 3 survives one node's loss; 1 only for a one-node test. */
      replicas: z
        .number()
        .int()
        .refine((n) => n === 1 || n === 3 || n === 5, "expected 1, 3 or 5")
        .transform((n) => n as 1 | 3 | 5)
        .default(3),
      /** How long a lease holder may go without renewing before another Mixer takes the work done once. */
      lease_ttl: duration({ min: 1000, max: 300_000, default: "10s" }),
    }),
  })
  .superRefine((config, ctx) => {
    if (config.cluster.enabled && config.cluster.member === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["cluster", "member"],
        message:
          "expected a member name (a DNS label distinct per Mixer, e.g. mixer-a) when cluster mode is enabled",
      });
    }
    if (config.cluster.enabled && config.mixer.machine_id >= config.enrollment.machine_id_min) {
      ctx.addIssue({
        code: "custom",
        path: ["enrollment", "machine_id_min"],
        message: `expected machine_id_min above every Mixer's [mixer] machine_id in cluster mode (here ${config.mixer.machine_id}), so no Rack or Snake Tunnel takes a Mixer's MachineID before that Mixer first starts: e.g. machine_id 1 to 15 for the Mixers and machine_id_min = 16`,
      });
    }
    if (config.cluster.enabled && config.cluster.member === config.mixer.name) {
      ctx.addIssue({
        code: "custom",
        path: ["cluster", "member"],
        message: "expected a member name other than [mixer] name (the cluster's name, shared by every Mixer)",
      });
    }
    if (config.enrollment.machine_id_min > config.enrollment.machine_id_max) {
      ctx.addIssue({
        code: "custom",
        path: ["enrollment", "machine_id_max"],
        message: "expected machine_id_max >= machine_id_min",
      });
    }
  });

export type MixerConfig = z.output<typeof MixerConfigSchema>;

/** The file the Mixer reads when neither `--config` nor `FLUXRIG_CONFIG` names one, if it exists in the cwd. */
export const DEFAULT_CONFIG_FILE = "fluxrig-mixer.toml";

/**
 * The config file to read: the one named, else `fluxrig-mixer.toml` in `cwd` when it exists, else none (defaults
 * and FLUXRIG_* variables only).
 *
 * @example
 * configFileToRead({ named: undefined, cwd: "/etc/fluxrig" }); // "/etc/fluxrig/fluxrig-mixer.toml" if present
 */
export function configFileToRead(opts: { named: string | undefined; cwd: string }): string | undefined {
  if (opts.named !== undefined && opts.named !== "") return opts.named;
  const candidate = join(opts.cwd, DEFAULT_CONFIG_FILE);
  return existsSync(candidate) ? candidate : undefined;
}

/**
 * The one start-up rule that spans two keys: the API needs a token unless the operator opted out on purpose. A config
 * error like any other (exit 2, names the file and the key), checked before anything is opened.
 */
export function requireApiAuth(loaded: LoadedConfig<MixerConfig>): void {
  const { api } = loaded.config;
  if (api.auth_token || api.auth_disabled_dangerously) return;
  throw new ConfigValueError({
    ...(loaded.file !== undefined ? { file: loaded.file } : {}),
    key: "api.auth_token",
    expected: "a token",
    message:
      "auth_token is empty: set it (or FLUXRIG_API_AUTH_TOKEN), or set auth_disabled_dangerously = true for a lab",
  });
}

/** Loads fluxrig-mixer.toml (optional: without a file, defaults and FLUXRIG_* variables apply). */
export function loadMixerConfig(opts: {
  file?: string | undefined;
  env?: Record<string, string | undefined>;
}): Promise<LoadedConfig<MixerConfig>> {
  return loadConfig({
    schema: MixerConfigSchema,
    file: opts.file,
    env: opts.env,
    optionalFile: opts.file === undefined,
  });
}
