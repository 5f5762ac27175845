// Writes the nats-server configuration text the testkit starts every server with.
import { TestkitError } from "./errors.js";

/** Everything a test server's config says; `extraConfig` is appended verbatim (later keys override earlier ones). */
export interface NatsConfigInput {
  serverName: string;
  host: string;
  port: number;
  /** HTTP monitoring port (`/varz`, `/jsz`, ...), off when absent. */
  httpPort?: number | undefined;
  jetstream: boolean;
  /** JetStream's store; required when `jetstream` is on. */
  storeDir: string;
  /** Bytes, or a size string nats-server understands (`"8MB"`, `"512KB"`). */
  maxPayload?: number | string | undefined;
  debug?: boolean;
  trace?: boolean;
  /** JetStream `sync_interval` (`"always"`: fsync before every acknowledgement, cluster mode's setting). */
  syncInterval?: string | undefined;
  /** Route listener and seed routes: this server joins a cluster (nats-server 2.10+), one route per peer. */
  cluster?: { name: string; port: number; routes: readonly string[] } | undefined;
  extraConfig?: string | undefined;
}

// Small stores: the default reserves 75% of RAM and most of the disk, which two parallel test files do not need.
const JETSTREAM_MEMORY = 256 * 1024 * 1024;
const JETSTREAM_FILE = 1024 * 1024 * 1024;

/**
 * Renders a nats-server config file.
 *
 * @example
 * natsConfigText({ serverName: "t1", host: "127.0.0.1", port: 4222, jetstream: true, storeDir: "/tmp/x/store" });
 * // 'server_name: "t1"\nhost: "127.0.0.1"\nport: 4222\n...'
 */
export function natsConfigText(input: NatsConfigInput): string {
  const lines = [
    "# Written by @fluxrig/testkit for one test server; deleted when the server is stopped.",
    `server_name: ${quote(input.serverName)}`,
    `host: ${quote(input.host)}`,
    `port: ${port(input.port, "port")}`,
  ];
  if (input.httpPort !== undefined)
    lines.push(`http: ${quote(`${input.host}:${port(input.httpPort, "httpPort")}`)}`);
  if (input.maxPayload !== undefined) lines.push(`max_payload: ${size(input.maxPayload)}`);
  lines.push(`debug: ${input.debug === true}`, `trace: ${input.trace === true}`, "logtime: true");
  if (input.jetstream) {
    lines.push(
      "jetstream {",
      `  store_dir: ${quote(input.storeDir)}`,
      `  max_memory_store: ${JETSTREAM_MEMORY}`,
      `  max_file_store: ${JETSTREAM_FILE}`,
      ...(input.syncInterval === undefined ? [] : [`  sync_interval: ${quote(input.syncInterval)}`]),
      "}",
    );
  }
  if (input.cluster !== undefined) {
    lines.push(
      "cluster {",
      `  name: ${quote(input.cluster.name)}`,
      `  listen: ${quote(`${input.host}:${port(input.cluster.port, "cluster port")}`)}`,
      `  routes: [${input.cluster.routes.map(quote).join(", ")}]`,
      // One route per peer, as the product's cluster config (examples/lab/nats-cluster.conf): 2.10's route pools
      // left a member out of the JetStream meta group (docs/cluster.md, "One route per peer").
      "  pool_size: -1",
      "}",
    );
  }
  if (input.extraConfig !== undefined && input.extraConfig.trim() !== "") {
    lines.push("# extra config from the test", input.extraConfig.trim());
  }
  return `${lines.join("\n")}\n`;
}

/** A double-quoted config string; JSON escaping is a subset nats-server's parser reads back unchanged. */
function quote(value: string): string {
  return JSON.stringify(value);
}

function port(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new TestkitError(`nats config: ${what} must be an integer in 1..65535, got ${value}`);
  }
  return value;
}

function size(value: number | string): string {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value <= 0) {
      throw new TestkitError(`nats config: maxPayload must be a positive integer of bytes, got ${value}`);
    }
    return String(value);
  }
  if (!/^\d+\s*(?:[KMG]B?)?$/i.test(value.trim())) {
    throw new TestkitError(
      `nats config: maxPayload ${JSON.stringify(value)} is not a size like "8MB" or "512KB"`,
    );
  }
  return value.trim();
}
