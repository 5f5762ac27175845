// What a Rack knows about itself at boot: its key (created on first start), its cluster pin and its passport.
import { mkdir } from "node:fs/promises";
import { type Ed25519KeyPair, keyId, loadOrCreateKeyPair } from "@fluxrig/passport";
import type { Logger } from "pino";
import { type ClusterPin, resolvePin } from "./cluster-pin.js";
import { loadStoredPassport, type StoredPassport } from "./passport-store.js";
import type { StatePaths } from "./state-paths.js";

/** The boot identity. */
export interface BootIdentity {
  keys: Ed25519KeyPair;
  keyId: string;
  pin: ClusterPin | null;
  stored: StoredPassport;
}

/** Options of {@link loadBootIdentity}. */
export interface LoadBootIdentityOptions {
  paths: StatePaths;
  name: string;
  configClusterKey: string | undefined;
  logger: Logger;
  now: Date;
  skewMs: number;
}

/**
 * Creates the state dir (0700) and the key (rack.key, 0600) on first start, resolves the cluster pin and
 * verifies state.flux, logging each finding; a refused state.flux is moved aside with its reason.
 */
export async function loadBootIdentity(opts: LoadBootIdentityOptions): Promise<BootIdentity> {
  const { paths, logger } = opts;
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const { keys, created } = await loadOrCreateKeyPair(paths.key);
  const kid = keyId(keys.publicKey);
  logger.info(
    { key_id: kid, path: paths.key },
    created ? "identity: created a new Rack key" : "identity: loaded the Rack key",
  );

  const { pin, replacedKeyId } = await resolvePin({
    configKey: opts.configClusterKey,
    rackJsonPath: paths.rackJson,
    now: opts.now,
  });
  if (replacedKeyId !== undefined) {
    logger.warn(
      { pinned_key_id: pin?.keyId, previous_key_id: replacedKeyId },
      "cluster: the config's [cluster] public_key replaces a different pin in rack.json",
    );
  }
  if (pin === null) logger.info("cluster: no key pinned yet; the first successful enrollment will pin it");
  else logger.info({ cluster_key_id: pin.keyId, source: pin.source }, "cluster: key pinned");

  const stored = await loadStoredPassport({
    path: paths.stateFlux,
    pin,
    context: { rackPublicKey: keys.publicKey, name: opts.name, now: opts.now, skewMs: opts.skewMs },
  });
  if (stored.kind === "refused") {
    logger.error(
      {
        verdict: stored.refusal.verdict,
        code: stored.refusal.code,
        detail: stored.refusal.detail,
        moved_to: stored.movedTo,
      },
      `state.flux refused (${stored.refusal.verdict}): moved aside, enrolling again`,
    );
  }
  return { keys, keyId: kid, pin, stored };
}
