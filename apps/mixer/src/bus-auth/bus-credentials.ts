// The contract between the Mixer's services and its bus credentials (SPEC §11): what enrollment, the status-change
// service and the scenario service ask of the bus, whichever mode `[nats] auth` chose.
import type { BusCredential } from "@fluxrig/wire";
import type { RackBusState } from "./permissions.js";

/** `jwt`: nats-server runs decentralized auth with keys the Mixer owns. `none`: an open bus, said loudly at start. */
export type BusAuthMode = "jwt" | "none";

/** A Rack as a credential is cut for it: its bus state and the key it proved (base64url, as the hello carries it). */
export interface CredentialSubject extends RackBusState {
  publicKey: string;
}

/**
 * What the rest of the Mixer asks of the bus. The `jwt` implementation lives in `bus-credentials-jwt.ts`; `none` is
 * {@link OPEN_BUS}.
 */
export interface BusCredentials {
  readonly mode: BusAuthMode;
  /**
   * A user JWT for this Rack's key with the permissions its state earns, for a hello reply or a push; `null` in
   * `none` mode and for a status that earns nothing (rejected, revoked). Never issued for a key revoked in the same
   * second or later (nats-server would refuse it).
   */
  issue(rack: CredentialSubject, now: Date): BusCredential | null;
  /**
   * Re-issues the fleet account JWT with the registry's current revocations and pushes it through the system
   * account; resolves once nats-server accepted it (live connections of revoked keys are closed by then). Rejects
   * with a BusAuthError. A no-op in `none` mode.
   */
  pushRevocations(): Promise<void>;
  /** Closes what the credentials hold open (the system-account connection, renewal timers). */
  close(): Promise<void>;
}

/** The `none` mode: no credentials, nothing to push. */
export const OPEN_BUS: BusCredentials = {
  mode: "none",
  issue: () => null,
  pushRevocations: async () => {},
  close: async () => {},
};
