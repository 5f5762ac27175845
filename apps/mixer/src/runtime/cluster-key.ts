// The Cluster Key: created on the Mixer's first start in its data dir (mode 0600), loaded on every later start.
import { access, constants, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  type Ed25519KeyPair,
  generateKeyPair,
  keyId,
  loadPrivateKey,
  PassportKeyPermissionError,
  publicKeyFromPrivate,
  publicKeyToBase64url,
  savePrivateKey,
  savePublicKey,
} from "@fluxrig/passport";
import { ClusterKeyError } from "./errors.js";

export const CLUSTER_KEY_FILE = "cluster.key";
export const CLUSTER_PUBLIC_KEY_FILE = "cluster.pub";

export interface ClusterKey extends Ed25519KeyPair {
  /** Raw public key, base64url: what Racks pin. */
  publicKeyB64: string;
  kid: string;
  path: string;
  created: boolean;
}

/** Loads the Cluster Key from the data dir, creating it on first start. Refuses a key readable by others. */
export async function loadClusterKey(dataDir: string): Promise<ClusterKey> {
  const path = join(dataDir, CLUSTER_KEY_FILE);
  let created = false;
  let privateKey: Ed25519KeyPair["privateKey"];
  if (await exists(path)) {
    try {
      privateKey = await loadPrivateKey(path);
    } catch (err) {
      if (err instanceof PassportKeyPermissionError) {
        const mode = ((await stat(path)).mode & 0o777).toString(8);
        throw new ClusterKeyError(path, `is readable by others (mode ${mode}); run: chmod 600 ${path}`, {
          cause: err,
        });
      }
      throw new ClusterKeyError(path, `cannot be read: ${(err as Error).message}`, { cause: err });
    }
  } else {
    const pair = generateKeyPair();
    privateKey = pair.privateKey;
    try {
      await savePrivateKey(path, privateKey);
      await savePublicKey(join(dataDir, CLUSTER_PUBLIC_KEY_FILE), pair.publicKey);
    } catch (err) {
      throw new ClusterKeyError(path, `cannot be written: ${(err as Error).message}`, { cause: err });
    }
    created = true;
  }
  const publicKey = publicKeyFromPrivate(privateKey);
  return {
    privateKey,
    publicKey,
    publicKeyB64: publicKeyToBase64url(publicKey),
    kid: keyId(publicKey),
    path,
    created,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}
