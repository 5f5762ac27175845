// Typed errors of the Rack: one base class, one subclass per failure, facts in fields rather than in messages.

/** Base class of every error the Rack raises itself. */
export class RackError extends Error {
  override readonly name: string = "RackError";
}

/** The command line could not be understood, or names something that is not there; exits 2 like a config error. */
export class RackUsageError extends RackError {
  override readonly name = "RackUsageError";
  /** Whether printing the usage text helps (a bad argument) or not (a missing directory). */
  readonly showUsage: boolean;

  constructor(message: string, opts: { showUsage?: boolean } = {}) {
    super(message);
    this.showUsage = opts.showUsage ?? true;
  }
}

/** A hello reply named a cluster key other than the pinned one: a foreign or spoofed Mixer. */
export class ClusterKeyMismatchError extends RackError {
  override readonly name = "ClusterKeyMismatchError";
  readonly pinnedKeyId: string;
  readonly offeredKeyId: string;

  constructor(opts: { pinnedKeyId: string; offeredKeyId: string }) {
    super(
      `the Mixer offered cluster key ${opts.offeredKeyId} but this Rack is pinned to ${opts.pinnedKeyId}; ` +
        "refusing it (if the cluster key really changed, re-provision this Rack)",
    );
    this.pinnedKeyId = opts.pinnedKeyId;
    this.offeredKeyId = opts.offeredKeyId;
  }
}

/** The cluster pin in the state dir (rack.json) or in the config is unreadable or invalid. */
export class ClusterPinError extends RackError {
  override readonly name = "ClusterPinError";
  readonly path: string | undefined;

  constructor(opts: { message: string; path?: string; cause?: unknown }) {
    super(opts.path ? `${opts.path}: ${opts.message}` : opts.message, { cause: opts.cause });
    this.path = opts.path;
  }
}

/** A hello could not be completed: timeout, no responder, an undecodable or refused reply. */
export class HelloFailedError extends RackError {
  override readonly name = "HelloFailedError";
  /** Wire error code when the Mixer refused, `transport` or `decode` otherwise. */
  readonly code: string;

  constructor(opts: { code: string; message: string; cause?: unknown }) {
    super(opts.message, { cause: opts.cause });
    this.code = opts.code;
  }
}

/** A gear's config is invalid; the gear is reported failed and not restarted. */
export class GearConfigError extends RackError {
  override readonly name = "GearConfigError";
  readonly gear: string;

  constructor(opts: { gear: string; message: string }) {
    super(`gear ${opts.gear}: ${opts.message}`);
    this.gear = opts.gear;
  }
}

/** A scenario names a gear type this Rack does not know. */
export class UnknownGearTypeError extends RackError {
  override readonly name = "UnknownGearTypeError";
  readonly gear: string;
  readonly type: string;

  constructor(opts: { gear: string; type: string; known: readonly string[] }) {
    super(`gear ${opts.gear}: unknown type "${opts.type}" (known: ${opts.known.join(", ")})`);
    this.gear = opts.gear;
    this.type = opts.type;
  }
}

/** The bootstrap `.creds` file named by `[nats] creds` cannot be used: missing, readable by others, or garbled. */
export class RackCredsError extends RackError {
  override readonly name = "RackCredsError";
  readonly path: string;

  constructor(opts: { path: string; message: string; cause?: unknown }) {
    super(`${opts.path}: ${opts.message}`, { cause: opts.cause });
    this.path = opts.path;
  }
}
