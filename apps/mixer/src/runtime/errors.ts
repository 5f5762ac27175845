// Errors that stop the Mixer from starting: each says what is wrong and what to do about it.

/** Base class of the Mixer's start-up and runtime errors. */
export class MixerError extends Error {
  override readonly name: string = "MixerError";
  /** A stable machine-readable code for logs and exit messages. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Another live Mixer process holds the data dir. */
export class DataDirLockedError extends MixerError {
  override readonly name = "DataDirLockedError";
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      "data_dir_locked",
      `another fluxrig-mixer (pid ${holderPid}) is using data dir ${dataDir}; stop it first, or give this one its own [mixer] data_dir`,
    );
  }
}

/** The data dir cannot be created or written. */
export class DataDirError extends MixerError {
  override readonly name = "DataDirError";
  constructor(
    readonly dataDir: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super("data_dir_unusable", `data dir ${dataDir}: ${reason}`, options);
  }
}

/** NATS did not answer within the configured start-up window. */
export class NatsUnreachableError extends MixerError {
  override readonly name = "NatsUnreachableError";
  constructor(
    readonly url: string,
    readonly waitedMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      "nats_unreachable",
      `NATS at ${url} stayed unreachable for ${Math.round(waitedMs / 1000)}s ([nats] connect_timeout); is nats-server running?`,
      options,
    );
  }
}

/** The Cluster Key file exists but cannot be used. */
export class ClusterKeyError extends MixerError {
  override readonly name = "ClusterKeyError";
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super("cluster_key_unusable", `cluster key ${path}: ${reason}`, options);
  }
}

/** The API would start without authentication and nobody said that was intended. */
export class ApiAuthMissingError extends MixerError {
  override readonly name = "ApiAuthMissingError";
  constructor() {
    super(
      "api_auth_missing",
      "[api] auth_token is empty: set it (or FLUXRIG_API_AUTH_TOKEN), or set auth_disabled_dangerously = true for a lab",
    );
  }
}

/** Cluster mode on a registry file with Racks the cluster's KV has never held: it must be imported first. */
export class ClusterImportNeededError extends MixerError {
  override readonly name = "ClusterImportNeededError";
  constructor(readonly racks: number) {
    super(
      "cluster_import_needed",
      `cluster mode: this data dir's registry holds ${racks} Rack(s) and the cluster's KV none; stop here and run \`fluxrig-mixer kv import\` on this data dir first (docs/cluster.md, "Moving a single-Mixer registry into a cluster"), or start from an empty data dir`,
    );
  }
}
