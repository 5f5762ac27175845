// Errors of bus credentials: a malformed nkey or JWT, a key file that cannot be used, a claim update refused.
import { MixerError } from "../runtime/errors.js";

/** Why a bus credential could not be made, read or pushed. */
export type BusAuthErrorReason =
  | "bad-jwt"
  | "bad-claims"
  | "key-store"
  | "wrong-issuer"
  | "claims-update-refused";

/**
 * Base class of everything bus-auth throws; `reason` is the machine-readable part.
 *
 * @example
 * if (err instanceof BusAuthError && err.reason === "wrong-issuer") log.error(err.message);
 */
export class BusAuthError extends MixerError {
  override readonly name: string = "BusAuthError";
  readonly reason: BusAuthErrorReason;

  constructor(reason: BusAuthErrorReason, message: string, options?: { cause?: unknown }) {
    super(`bus_auth_${reason.replaceAll("-", "_")}`, message, options);
    this.reason = reason;
  }
}
