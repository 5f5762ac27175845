// Typed passport errors: one base class, one subclass per failure, facts in fields rather than in the message.

/**
 * Every code a passport error can carry; stable, so the wire layer can map them without parsing messages.
 *
 * @example
 * if (err instanceof PassportError && err.code === PASSPORT_ERROR_CODES.expired) renew();
 */
export const PASSPORT_ERROR_CODES = {
  malformed: "PASSPORT_MALFORMED",
  format: "PASSPORT_FORMAT",
  keyIdMismatch: "PASSPORT_KEY_ID_MISMATCH",
  signatureInvalid: "PASSPORT_SIGNATURE_INVALID",
  rackKeyMismatch: "PASSPORT_RACK_KEY_MISMATCH",
  nameMismatch: "PASSPORT_NAME_MISMATCH",
  expired: "PASSPORT_EXPIRED",
  notYetValid: "PASSPORT_NOT_YET_VALID",
  key: "PASSPORT_KEY",
  keyPermission: "PASSPORT_KEY_PERMISSION",
  stateFlux: "PASSPORT_STATE_FLUX",
  nkey: "PASSPORT_NKEY",
  controlSignature: "PASSPORT_CONTROL_SIGNATURE",
  sealedReply: "PASSPORT_SEALED_REPLY",
} as const;

/** One of {@link PASSPORT_ERROR_CODES}. @example const c: PassportErrorCode = "PASSPORT_EXPIRED"; */
export type PassportErrorCode = (typeof PASSPORT_ERROR_CODES)[keyof typeof PASSPORT_ERROR_CODES];

/**
 * Base class of every error thrown by `@fluxrig/passport`.
 *
 * @example
 * try { verifyPassport(env, opts); } catch (e) { if (e instanceof PassportError) log.warn(e.code); }
 */
export class PassportError extends Error {
  override readonly name: string = "PassportError";
  readonly code: PassportErrorCode;

  constructor(code: PassportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The envelope or its payload is not well formed. @example new PassportMalformedError({ field: "sig", detail: "not base64url" }) */
export class PassportMalformedError extends PassportError {
  override readonly name = "PassportMalformedError";
  /** The envelope or payload field at fault, or "envelope" for the whole document. */
  readonly field: string;
  readonly detail: string;

  constructor(opts: { field: string; detail: string; cause?: unknown }) {
    super(PASSPORT_ERROR_CODES.malformed, `malformed passport: ${opts.field}: ${opts.detail}`, opts);
    this.field = opts.field;
    this.detail = opts.detail;
  }
}

/** The envelope names a format or version this code does not speak. @example new PassportFormatError({ format: "x", version: 1 }) */
export class PassportFormatError extends PassportError {
  override readonly name = "PassportFormatError";
  readonly format: unknown;
  readonly version: unknown;

  constructor(opts: { format: unknown; version: unknown }) {
    super(
      PASSPORT_ERROR_CODES.format,
      `unsupported passport format ${JSON.stringify(opts.format)} version ${JSON.stringify(opts.version)}`,
    );
    this.format = opts.format;
    this.version = opts.version;
  }
}

/** The envelope's key id is not the pinned cluster key's. @example new PassportKeyIdMismatchError({ expected: a, actual: b }) */
export class PassportKeyIdMismatchError extends PassportError {
  override readonly name = "PassportKeyIdMismatchError";
  readonly expected: string;
  readonly actual: string;

  constructor(opts: { expected: string; actual: string }) {
    super(
      PASSPORT_ERROR_CODES.keyIdMismatch,
      `passport signed by key ${opts.actual}, expected the pinned cluster key ${opts.expected}`,
    );
    this.expected = opts.expected;
    this.actual = opts.actual;
  }
}

/** The signature does not verify over the payload bytes. @example new PassportSignatureInvalidError({ kid }) */
export class PassportSignatureInvalidError extends PassportError {
  override readonly name = "PassportSignatureInvalidError";
  readonly kid: string;

  constructor(opts: { kid: string }) {
    super(PASSPORT_ERROR_CODES.signatureInvalid, `passport signature does not verify under key ${opts.kid}`);
    this.kid = opts.kid;
  }
}

/** The passport was issued to another Rack key. @example new PassportRackKeyMismatchError({ expected, actual }) */
export class PassportRackKeyMismatchError extends PassportError {
  override readonly name = "PassportRackKeyMismatchError";
  readonly expected: string;
  readonly actual: string;

  constructor(opts: { expected: string; actual: string }) {
    super(
      PASSPORT_ERROR_CODES.rackKeyMismatch,
      `passport was issued to Rack key ${opts.actual}, not to ${opts.expected}`,
    );
    this.expected = opts.expected;
    this.actual = opts.actual;
  }
}

/** The passport names another Rack. @example new PassportNameMismatchError({ expected: "rack-a", actual: "rack-b" }) */
export class PassportNameMismatchError extends PassportError {
  override readonly name = "PassportNameMismatchError";
  readonly expected: string;
  readonly actual: string;

  constructor(opts: { expected: string; actual: string }) {
    super(PASSPORT_ERROR_CODES.nameMismatch, `passport names "${opts.actual}", expected "${opts.expected}"`);
    this.expected = opts.expected;
    this.actual = opts.actual;
  }
}

/** The passport's expiry (plus skew) has passed. @example new PassportExpiredError({ expiresAt, now }) */
export class PassportExpiredError extends PassportError {
  override readonly name = "PassportExpiredError";
  readonly expiresAt: Date;
  readonly now: Date;

  constructor(opts: { expiresAt: Date; now: Date }) {
    super(
      PASSPORT_ERROR_CODES.expired,
      `passport expired at ${opts.expiresAt.toISOString()} (now ${opts.now.toISOString()})`,
    );
    this.expiresAt = opts.expiresAt;
    this.now = opts.now;
  }
}

/** The passport's issue time is ahead of the clock (plus skew). @example new PassportNotYetValidError({ issuedAt, now }) */
export class PassportNotYetValidError extends PassportError {
  override readonly name = "PassportNotYetValidError";
  readonly issuedAt: Date;
  readonly now: Date;

  constructor(opts: { issuedAt: Date; now: Date }) {
    super(
      PASSPORT_ERROR_CODES.notYetValid,
      `passport is not valid before ${opts.issuedAt.toISOString()} (now ${opts.now.toISOString()})`,
    );
    this.issuedAt = opts.issuedAt;
    this.now = opts.now;
  }
}

/** Why a key could not be used. */
export type PassportKeyErrorReason =
  | "missing"
  | "unreadable"
  | "garbled"
  | "wrong-key-type"
  | "bad-encoding"
  | "bad-length"
  | "too-permissive"
  | "write-failed";

/** A key could not be decoded, read, written or is of the wrong kind. @example new PassportKeyError({ reason: "bad-length", detail: "31 bytes" }) */
export class PassportKeyError extends PassportError {
  override readonly name: string = "PassportKeyError";
  readonly reason: PassportKeyErrorReason;
  /** The key file involved, when there is one. */
  readonly path: string | undefined;

  /** `code` is only for subclasses; callers leave it out. */
  constructor(
    opts: { reason: PassportKeyErrorReason; detail: string; path?: string; cause?: unknown },
    code: PassportErrorCode = PASSPORT_ERROR_CODES.key,
  ) {
    const where = opts.path === undefined ? "Ed25519 key" : `Ed25519 key file ${opts.path}`;
    super(code, `${where}: ${opts.reason}: ${opts.detail}`, opts);
    this.reason = opts.reason;
    this.path = opts.path;
  }
}

/** A private key file is readable by group or others. @example new PassportKeyPermissionError({ path, mode: 0o644 }) */
export class PassportKeyPermissionError extends PassportKeyError {
  override readonly name = "PassportKeyPermissionError";
  /** The file's permission bits (e.g. 0o644). */
  readonly mode: number;

  constructor(opts: { path: string; mode: number }) {
    super(
      {
        reason: "too-permissive",
        path: opts.path,
        detail: `mode 0${opts.mode.toString(8)} lets group or others at it; refusing to use it (chmod 600 ${opts.path})`,
      },
      PASSPORT_ERROR_CODES.keyPermission,
    );
    this.mode = opts.mode;
  }
}

/** Why a state.flux file could not be used. */
export type StateFluxErrorReason =
  | "truncated"
  | "garbled"
  | "too-large"
  | "unreadable"
  | "invalid"
  | "write-failed";

/** A state.flux file is truncated, garbled, too large or could not be read or written. @example new StateFluxError({ path, reason: "truncated" }) */
export class StateFluxError extends PassportError {
  override readonly name = "StateFluxError";
  readonly path: string;
  readonly reason: StateFluxErrorReason;

  constructor(opts: { path: string; reason: StateFluxErrorReason; detail: string; cause?: unknown }) {
    super(PASSPORT_ERROR_CODES.stateFlux, `state file ${opts.path}: ${opts.reason}: ${opts.detail}`, opts);
    this.path = opts.path;
    this.reason = opts.reason;
  }
}

/** Not a well-formed nkey, or not an Ed25519 key to make one of. @example new NkeyFormatError("checksum does not match") */
export class NkeyFormatError extends PassportError {
  override readonly name = "NkeyFormatError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(PASSPORT_ERROR_CODES.nkey, message, options);
  }
}

/**
 * A control message (hello reply, passport or scenario push) whose Cluster Key signature is missing, malformed, made
 * by another key, or does not match its bytes.
 *
 * @example
 * new ControlSignatureError({ reason: "missing", message: "no Fluxrig-Sig header" });
 */
export class ControlSignatureError extends PassportError {
  override readonly name = "ControlSignatureError";
  readonly reason: "missing" | "malformed" | "wrong_key" | "invalid";

  constructor(opts: { reason: ControlSignatureError["reason"]; message: string }) {
    super(PASSPORT_ERROR_CODES.controlSignature, opts.message);
    this.reason = opts.reason;
  }
}

/**
 * A sealed hello reply that cannot be made or opened: a key that is not X25519 (`bad_key`), a box of the wrong shape
 * (`malformed`), or one that does not open with this Rack's reply key (`unreadable`: another Rack's, or altered).
 *
 * @example
 * new SealedReplyError({ reason: "unreadable", message: "does not open with this key" });
 */
export class SealedReplyError extends PassportError {
  override readonly name = "SealedReplyError";
  readonly reason: "bad_key" | "malformed" | "unreadable";

  constructor(opts: { reason: SealedReplyError["reason"]; message: string; cause?: unknown }) {
    super(
      PASSPORT_ERROR_CODES.sealedReply,
      opts.message,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.reason = opts.reason;
  }
}
