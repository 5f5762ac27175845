// state.flux on disk: read and verify it at boot, move a refused one aside with its reason, store new passports.
import { rename } from "node:fs/promises";
import {
  type PassportEnvelope,
  type PassportPayload,
  readStateFlux,
  writeStateFlux,
} from "@fluxrig/passport";
import type { ClusterPin } from "./cluster-pin.js";
import {
  describeRefusal,
  type PassportContext,
  type PassportRefusal,
  verifyRackPassport,
} from "./passport-checks.js";

/** The outcome of looking at state.flux at boot. */
export type StoredPassport =
  | { kind: "none" }
  | { kind: "valid"; envelope: PassportEnvelope; payload: PassportPayload }
  | { kind: "refused"; refusal: PassportRefusal; movedTo: string };

/** Options of {@link loadStoredPassport}. */
export interface LoadStoredPassportOptions {
  path: string;
  pin: ClusterPin | null;
  context: Omit<PassportContext, "clusterPublicKey">;
}

/**
 * Reads state.flux and verifies it. A file that is garbled, tampered, foreign, expired, revoked, or that
 * cannot be checked because no cluster key is pinned, is moved aside as `state.flux.rejected-<ISO time>`.
 */
export async function loadStoredPassport(opts: LoadStoredPassportOptions): Promise<StoredPassport> {
  let envelope: PassportEnvelope | null;
  try {
    envelope = await readStateFlux(opts.path);
  } catch (error) {
    return refuse(opts, describeRefusal(error));
  }
  if (envelope === null) return { kind: "none" };
  if (opts.pin === null) {
    return refuse(opts, {
      verdict: "unverifiable",
      code: "NO_CLUSTER_PIN",
      detail: "no cluster key is pinned (config [cluster] public_key or rack.json), so it cannot be verified",
    });
  }
  try {
    const payload = verifyRackPassport(envelope, { ...opts.context, clusterPublicKey: opts.pin.publicKey });
    if (payload.status !== "active") {
      return refuse(opts, {
        verdict: "revoked",
        code: "PASSPORT_REVOKED",
        detail: "the passport says revoked",
      });
    }
    return { kind: "valid", envelope, payload };
  } catch (error) {
    return refuse(opts, describeRefusal(error));
  }
}

async function refuse(opts: LoadStoredPassportOptions, refusal: PassportRefusal): Promise<StoredPassport> {
  const movedTo = await moveAside({ path: opts.path, label: "rejected", now: opts.context.now });
  return { kind: "refused", refusal, movedTo };
}

/**
 * Renames a state file to `<path>.<label>-<ISO time>` so it is kept for a post-mortem but never read again.
 * @example await moveAside({ path: "/s/state.flux", label: "revoked", now }) // "/s/state.flux.revoked-2025-..."
 */
export async function moveAside(opts: { path: string; label: string; now: Date }): Promise<string> {
  const target = `${opts.path}.${opts.label}-${opts.now.toISOString()}`;
  try {
    await rename(opts.path, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return target;
    throw error;
  }
  return target;
}

/** Stores a verified passport as state.flux (atomic, mode 0600). */
export async function storePassport(path: string, envelope: PassportEnvelope): Promise<void> {
  await writeStateFlux(path, envelope);
}
