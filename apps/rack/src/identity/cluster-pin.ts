// The pinned Cluster public key: from the config, or trusted on first enrollment and kept in rack.json.
import type { KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { keyId, publicKeyFromBase64url, writeFileAtomic } from "@fluxrig/passport";
import { ClusterPinError } from "../rack-error.js";

/** Where the pin came from. */
export type PinSource = "config" | "enrollment";

/** A pinned cluster key. */
export interface ClusterPin {
  publicKey: KeyObject;
  /** Raw key, unpadded base64url. */
  publicKeyB64: string;
  keyId: string;
  source: PinSource;
  pinnedAt: string;
}

/** The content of rack.json. */
interface RackJson {
  v: 1;
  cluster_public_key: string;
  cluster_key_id: string;
  pin_source: PinSource;
  pinned_at: string;
}

/**
 * Builds a pin from a raw base64url key.
 * @example const pin = makePin({ publicKeyB64: config.cluster.public_key, source: "config", now: new Date() });
 */
export function makePin(opts: { publicKeyB64: string; source: PinSource; now: Date }): ClusterPin {
  const publicKey = publicKeyFromBase64url(opts.publicKeyB64);
  return {
    publicKey,
    publicKeyB64: opts.publicKeyB64,
    keyId: keyId(publicKey),
    source: opts.source,
    pinnedAt: opts.now.toISOString(),
  };
}

/**
 * Reads the pin kept in rack.json; null when there is none. A garbled file is a ClusterPinError: a Rack
 * must never silently forget which cluster it belongs to.
 */
export async function readPinFile(path: string): Promise<ClusterPin | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new ClusterPinError({ path, message: "cannot read the cluster pin", cause });
  }
  try {
    const json = JSON.parse(text) as Partial<RackJson>;
    if (json.v !== 1 || typeof json.cluster_public_key !== "string")
      throw new Error("missing cluster_public_key");
    const pin = makePin({
      publicKeyB64: json.cluster_public_key,
      source: json.pin_source === "config" ? "config" : "enrollment",
      now: new Date(typeof json.pinned_at === "string" ? json.pinned_at : 0),
    });
    return { ...pin, pinnedAt: typeof json.pinned_at === "string" ? json.pinned_at : pin.pinnedAt };
  } catch (cause) {
    throw new ClusterPinError({
      path,
      message: `garbled cluster pin (${cause instanceof Error ? cause.message : String(cause)}); remove it to pin again on the next enrollment`,
      cause,
    });
  }
}

/** Persists the pin to rack.json (atomic, 0600). */
export async function writePinFile(path: string, pin: ClusterPin): Promise<void> {
  const json: RackJson = {
    v: 1,
    cluster_public_key: pin.publicKeyB64,
    cluster_key_id: pin.keyId,
    pin_source: pin.source,
    pinned_at: pin.pinnedAt,
  };
  await writeFileAtomic({ path, data: `${JSON.stringify(json, null, 2)}\n`, mode: 0o600 });
}

/** What {@link resolvePin} decided, for the boot log. */
export interface ResolvedPin {
  pin: ClusterPin | null;
  /** Set when the config pin replaced a different pin found in rack.json. */
  replacedKeyId?: string;
}

/**
 * The pin to use at boot: the config's when set (it is the operator's explicit word and is written to
 * rack.json), else rack.json's, else none yet (trust on first enrollment).
 */
export async function resolvePin(opts: {
  configKey: string | undefined;
  rackJsonPath: string;
  now: Date;
}): Promise<ResolvedPin> {
  const stored = await readPinFile(opts.rackJsonPath);
  if (opts.configKey === undefined) return { pin: stored };
  const fromConfig = makePin({ publicKeyB64: opts.configKey, source: "config", now: opts.now });
  if (stored !== null && stored.publicKeyB64 === fromConfig.publicKeyB64) return { pin: stored };
  await writePinFile(opts.rackJsonPath, fromConfig);
  return stored === null ? { pin: fromConfig } : { pin: fromConfig, replacedKeyId: stored.keyId };
}
