// The Rack's configuration (fluxrig-rack.toml, SPEC §8): one zod schema, read in one place through @fluxrig/config.
import { duration, loadConfig } from "@fluxrig/config";
import { publicKeyFromBase64url } from "@fluxrig/passport";
import { EnrollmentTokenSecretSchema, RACK_NAME_PATTERN } from "@fluxrig/wire";
import { z } from "zod";
import { DEFAULT_RECONNECT_SPREAD } from "./bus/reconnect-spread.js";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** `Key=Value,Key2=Value2`, the environment form of `[telemetry] headers`. */
function parseHeaderList(text: string, ctx: z.RefinementCtx): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) {
      ctx.addIssue({
        code: "custom",
        message: `expected Name=Value pairs separated by commas, got "${part}"`,
      });
      return z.NEVER;
    }
    headers[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return headers;
}

const HeadersSchema = z
  .union([z.record(z.string(), z.string()), z.string().transform(parseHeaderList)])
  .default({});

const ClusterKeySchema = z
  .string()
  .refine((text) => {
    try {
      publicKeyFromBase64url(text);
      return true;
    } catch {
      return false;
    }
  }, "expected a raw 32-byte Ed25519 public key in unpadded base64url (43 characters), as `fluxrig cluster info` prints it")
  .optional();

const OtlpEndpointSchema = z
  .url({ protocol: /^https?$/, error: "expected an http(s) URL such as http://127.0.0.1:8090/v1/metrics" })
  .optional();

/** The schema of fluxrig-rack.toml; every key can be overridden by FLUXRIG_<SECTION>_<KEY>. */
export const RackConfigSchema = z.strictObject({
  rack: z.strictObject({
    name: z
      .string({ error: "required: this Rack's name, a lowercase DNS label such as rack-nyc-01" })
      .regex(
        RACK_NAME_PATTERN,
        "expected a lowercase DNS label (a-z, 0-9 and '-', 1 to 63 characters, no leading or trailing '-')",
      ),
    state_dir: z.string().min(1).default("./state"),
    log_level: z.enum(LOG_LEVELS).default("info"),
    /**
     * An enrollment token from `fluxrig enroll-tokens create` (issue 16): sent, signed, in every hello while this
     * Rack holds no passport, so the Mixer adopts it at once when the token admits its name. A secret: keep the file
     * 0600 or set it through FLUXRIG_RACK_ENROLLMENT_TOKEN. Needs a Mixer that knows the field (upgrade the Mixer
     * first).
     */
    enrollment_token: EnrollmentTokenSecretSchema.optional(),
  }),
  nats: z.strictObject({
    url: z.string().min(1).default("nats://127.0.0.1:4222"),
    /**
     * The bootstrap `.creds` file (mode 0600) a Rack with no bus credential of its own connects with on a `jwt`-mode
     * bus; unset on an open bus.
     */
    creds: z.string().min(1).optional(),
    /**
     * After the link drops, the first redial waits a uniformly random part of this, so a fleet that lost nats-server
     * together comes back at about fleet / spread handshakes a second (bus/reconnect-spread.ts). `0s`: at once.
     */
    reconnect_spread: duration({ min: 0, max: 600_000, default: DEFAULT_RECONNECT_SPREAD }),
  }),
  cluster: z.strictObject({
    public_key: ClusterKeySchema,
  }),
  telemetry: z.strictObject({
    otlp_endpoint: OtlpEndpointSchema,
    export_interval: duration({ min: 100, default: "15s" }),
    headers: HeadersSchema,
    auth_token: z.string().min(1).optional(),
  }),
  heartbeat: z.strictObject({
    interval: duration({ min: 100, max: 3_600_000, default: "10s" }),
  }),
});

/** A validated Rack configuration; durations are milliseconds. */
export type RackConfig = z.output<typeof RackConfigSchema>;

/** Options of {@link loadRackConfig}. */
export interface LoadRackConfigOptions {
  file: string | undefined;
  env?: Record<string, string | undefined>;
  /** Config text to parse instead of reading `file` (tests). */
  text?: string;
}

/**
 * Reads and validates fluxrig-rack.toml; throws a ConfigError naming the file, the key and the expectation.
 * @example const config = await loadRackConfig({ file: "fluxrig-rack.toml" });
 */
export async function loadRackConfig(opts: LoadRackConfigOptions): Promise<RackConfig> {
  const { config } = await loadConfig({
    schema: RackConfigSchema,
    file: opts.file,
    ...(opts.text !== undefined ? { text: opts.text } : {}),
    ...(opts.env !== undefined ? { env: opts.env } : {}),
    // With no --config the Rack can still run from FLUXRIG_* variables alone.
    optionalFile: opts.file === undefined,
  });
  return config;
}

/** The OTLP request headers: `[telemetry] headers` plus a bearer token from `auth_token`. */
export function telemetryHeaders(telemetry: RackConfig["telemetry"]): Record<string, string> {
  const headers = { ...telemetry.headers };
  if (telemetry.auth_token !== undefined) headers.Authorization = `Bearer ${telemetry.auth_token}`;
  return headers;
}
