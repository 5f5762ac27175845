// The registry's domain errors: a rule refused a write or a lookup. One base class, facts in fields not prose.
import { MixerError } from "../runtime/errors.js";

// The storage failures a registry caller may also see (the write was rolled back, nothing changed).
export { DatabaseClosedError, QueryFailedError } from "../db/database-errors.js";

/** Base class of every error a registry rule throws on purpose. `code` is stable and safe to log. */
export class RegistryError extends MixerError {
  override readonly name: string = "RegistryError";
}

/** Every MachineID in the allowed range is held by a live row or still tombstoned. */
export class RegistryFullError extends RegistryError {
  override readonly name = "RegistryFullError";
  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    super("registry_full", `no free MachineID in ${min}..${max}: every id is in use or still tombstoned`);
  }
}

/** A MachineID asked for explicitly is held by a live row or still tombstoned. */
export class MachineIdInUseError extends RegistryError {
  override readonly name = "MachineIdInUseError";
  constructor(
    readonly machineId: number,
    /** The live row holding it, if any (otherwise it is tombstoned). */
    readonly holderEntityId: bigint | undefined,
  ) {
    super(
      "machine_id_in_use",
      holderEntityId === undefined
        ? `MachineID ${machineId} is tombstoned: a passport naming it may still be valid`
        : `MachineID ${machineId} is held by entity ${holderEntityId}`,
    );
  }
}

/** Another row already has this name; nothing was written. */
export class NameTakenError extends RegistryError {
  override readonly name = "NameTakenError";
  constructor(
    readonly takenName: string,
    readonly holderEntityId: bigint,
  ) {
    super("name_taken", `name ${takenName} is taken by entity ${holderEntityId}`);
  }
}

/** A named API token with this name is live; nothing was written (revoke it first to reuse the name). */
export class ApiTokenExistsError extends RegistryError {
  override readonly name = "ApiTokenExistsError";
  constructor(readonly tokenName: string) {
    super("api_token_exists", `an API token named ${tokenName} already exists`);
  }
}

/** A hello's enrollment token adopts nobody now (used up by a concurrent hello, expired, revoked, name mismatch). */
export class EnrollmentTokenRefusedError extends RegistryError {
  override readonly name = "EnrollmentTokenRefusedError";
  constructor(
    readonly reason: "unknown" | "used_up" | "expired" | "name_mismatch",
    readonly tokenId: string | undefined,
  ) {
    super("enrollment_token_refused", `enrollment token ${tokenId ?? "(unknown)"} refused: ${reason}`);
  }
}

/** A name has an expected key (racks expect) and this Rack's key is another: it is never adopted. */
export class UnexpectedKeyError extends RegistryError {
  override readonly name = "UnexpectedKeyError";
  constructor(
    readonly rackName: string,
    readonly keyFingerprint: string,
    readonly expectedFingerprint: string,
  ) {
    super(
      "unexpected_key",
      `${rackName} may only be adopted with key ${expectedFingerprint} (racks expect); this Rack's key is ${keyFingerprint}`,
    );
  }
}

/** Another Rack already enrolled with this public key; nothing was written. */
export class PublicKeyTakenError extends RegistryError {
  override readonly name = "PublicKeyTakenError";
  constructor(
    readonly publicKey: string,
    readonly holderEntityId: bigint,
    readonly holderName: string,
  ) {
    super("public_key_taken", `this public key already belongs to ${holderName} (entity ${holderEntityId})`);
  }
}

/** A scenario version is already stored with other content: a stored version never changes; nothing was written. */
export class ScenarioVersionTakenError extends RegistryError {
  override readonly name = "ScenarioVersionTakenError";
  constructor(
    readonly scenario: string,
    readonly version: string,
  ) {
    super(
      "scenario_version_taken",
      `scenario ${scenario} version ${version} is already stored with other content; a changed scenario needs a new version`,
    );
  }
}

/** The status machine does not allow `from -> to`; nothing was written. */
export class IllegalTransitionError extends RegistryError {
  override readonly name = "IllegalTransitionError";
  constructor(
    readonly from: string,
    readonly to: string,
    readonly entityId: bigint,
  ) {
    super("illegal_transition", `entity ${entityId}: status ${from} cannot become ${to}`);
  }
}

/** A compare-and-set status change found a different current status than the caller expected. */
export class UnexpectedStatusError extends RegistryError {
  override readonly name = "UnexpectedStatusError";
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly entityId: bigint,
  ) {
    super("unexpected_status", `entity ${entityId}: expected status ${expected}, found ${actual}`);
  }
}

/** A passport serial that is not above the last one recorded for the Rack. */
export class StalePassportSerialError extends RegistryError {
  override readonly name = "StalePassportSerialError";
  constructor(
    readonly entityId: bigint,
    readonly serial: number,
    readonly current: number,
  ) {
    super("stale_passport_serial", `entity ${entityId}: passport serial ${serial} is not above ${current}`);
  }
}

/** The row the caller named does not exist. */
export class NotFoundError extends RegistryError {
  override readonly name = "NotFoundError";
  constructor(
    readonly what: "rack" | "scenario" | "node" | "api token" | "enrollment token" | "expected key",
    readonly ref: string,
  ) {
    super("not_found", `${what} ${ref} not found`);
  }
}

/** An argument a plan refuses before staging anything (bad name, status, range, ...). */
export class InvalidInputError extends RegistryError {
  override readonly name = "InvalidInputError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super("invalid_input", `${field}: ${reason}`);
  }
}

/** Thrown when a write is submitted from inside a transaction of the same handle: it would wait for itself. */
export class WriterReentryError extends RegistryError {
  override readonly name = "WriterReentryError";
  constructor() {
    super(
      "writer_reentry",
      "a registry write was submitted inside a transaction of the same database: it would wait for itself",
    );
  }
}

/**
 * Cluster mode: a write kept meeting other Mixers' newer writes (each time it waited for its index to catch up and
 * was planned again); nothing of it was written. Retrying is safe.
 */
export class ClusterWriteContendedError extends RegistryError {
  override readonly name = "ClusterWriteContendedError";
  constructor(readonly attempts: number) {
    super(
      "cluster_write_contended",
      `the write met other Mixers' newer writes ${attempts} times; nothing of it was written, retry it`,
    );
  }
}

/** Cluster mode: this Mixer's index did not take KV's changes in time (the mirror stopped, or the disk fails). */
export class ClusterIndexBehindError extends RegistryError {
  override readonly name = "ClusterIndexBehindError";
  constructor(reason: string) {
    super("cluster_index_behind", `this Mixer's registry index is behind the cluster's KV: ${reason}`);
  }
}

/**
 * Cluster mode: a write that queued while another waited a whole retry window for the cluster's KV (no quorum) is
 * refused at once, unwritten, instead of waiting as long again. Retrying once a majority of nodes is up is safe.
 */
export class ClusterUnavailableError extends RegistryError {
  override readonly name = "ClusterUnavailableError";
  constructor(cause: Error) {
    super(
      "cluster_unavailable",
      "the cluster's KV gave no answer to the write before this one (is a majority of nats-server nodes up?); nothing of this one was written, retry it",
      { cause },
    );
  }
}
