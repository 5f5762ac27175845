// Typed failures of the registry store: one base class, one subclass per failure, facts in fields not prose.
import { MixerError } from "../runtime/errors.js";

/** Base class of every error the DuckDB store throws on purpose. `code` is stable and safe to log. */
export class MixerStoreError extends MixerError {
  override readonly name: string = "MixerStoreError";
}

/** Another process (or another `openDatabase` in this one) holds the DuckDB file. */
export class DatabaseLockedError extends MixerStoreError {
  override readonly name = "DatabaseLockedError";
  constructor(
    readonly path: string,
    /** The pid DuckDB names as the holder, when it says. */
    readonly holderPid: number | undefined,
    options?: { cause?: unknown },
  ) {
    const holder = holderPid === undefined ? "another process" : `process ${holderPid}`;
    super(
      "database_locked",
      `registry database ${path} is locked by ${holder}; stop the other fluxrig-mixer or give this one its own data dir`,
      options,
    );
  }
}

/** The DuckDB file could not be opened for a reason other than a lock (permissions, corruption, ...). */
export class DatabaseOpenError extends MixerStoreError {
  override readonly name = "DatabaseOpenError";
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(
      "database_open_failed",
      `cannot open registry database ${path}: ${causeText(options?.cause)}`,
      options,
    );
  }
}

/** A call reached a database handle after `close()`. */
export class DatabaseClosedError extends MixerStoreError {
  override readonly name = "DatabaseClosedError";
  constructor(readonly path: string) {
    super("database_closed", `registry database ${path} is closed`);
  }
}

/** DuckDB refused a statement; `sql` says which (parameters are left out: they may hold keys). */
export class QueryFailedError extends MixerStoreError {
  override readonly name = "QueryFailedError";
  constructor(
    readonly sql: string,
    options?: { cause?: unknown },
  ) {
    super("query_failed", `query failed: ${causeText(options?.cause)} [${sql.slice(0, 200)}]`, options);
  }
}

/** A migration failed (and was rolled back), or the file was written by a newer Mixer. */
export class MigrationError extends MixerStoreError {
  override readonly name = "MigrationError";
  constructor(
    readonly version: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("migration_failed", message, options);
  }
}

/** Every MachineID in the allowed range is held by a live row or still tombstoned. */
export class RegistryFullError extends MixerStoreError {
  override readonly name = "RegistryFullError";
  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    super("registry_full", `no free MachineID in ${min}..${max}: every id is in use or still tombstoned`);
  }
}

/** A MachineID asked for explicitly is held by a live row or still tombstoned. */
export class MachineIdInUseError extends MixerStoreError {
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
export class NameTakenError extends MixerStoreError {
  override readonly name = "NameTakenError";
  constructor(
    readonly takenName: string,
    readonly holderEntityId: bigint,
  ) {
    super("name_taken", `name ${takenName} is taken by entity ${holderEntityId}`);
  }
}

/** Another Rack already enrolled with this public key; nothing was written. */
export class PublicKeyTakenError extends MixerStoreError {
  override readonly name = "PublicKeyTakenError";
  constructor(
    readonly publicKey: string,
    readonly holderEntityId: bigint,
    readonly holderName: string,
  ) {
    super("public_key_taken", `this public key already belongs to ${holderName} (entity ${holderEntityId})`);
  }
}

/** The status machine does not allow `from -> to`; nothing was written. */
export class IllegalTransitionError extends MixerStoreError {
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
export class UnexpectedStatusError extends MixerStoreError {
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
export class StalePassportSerialError extends MixerStoreError {
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
export class NotFoundError extends MixerStoreError {
  override readonly name = "NotFoundError";
  constructor(
    readonly what: "rack" | "scenario" | "node",
    readonly ref: string,
  ) {
    super("not_found", `${what} ${ref} not found`);
  }
}

/** An argument the store refuses before touching the database (bad name, status, range, ...). */
export class InvalidInputError extends MixerStoreError {
  override readonly name = "InvalidInputError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super("invalid_input", `${field}: ${reason}`);
  }
}

function causeText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
