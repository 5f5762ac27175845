// Reads the --cluster-key of `passport inspect`: a raw base64url key, or a file (PEM such as cluster.pub, or the raw key).
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { keyId, loadPublicKey, PassportKeyError, publicKeyFromBase64url } from "@fluxrig/passport";
import { CliError, usageError } from "./cli-error.js";
import { EXIT } from "./exit-codes.js";

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// DER prefix of an Ed25519 SubjectPublicKeyInfo; 12 bytes header + 32 bytes key.
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** A cluster public key and where it came from. */
export interface ClusterKey {
  key: KeyObject;
  kid: string;
  source: string;
}

function fromText(text: string, label: string): KeyObject {
  const t = text.trim();
  if (BASE64URL.test(t)) {
    try {
      return publicKeyFromBase64url(t);
    } catch (err) {
      if (!BASE64.test(t)) throw usageError(`${label}: not an Ed25519 public key: ${(err as Error).message}`);
    }
  }
  // Also the base64 of an SPKI DER key, as some tools print public keys.
  if (BASE64.test(t)) {
    const der = Buffer.from(t, "base64");
    if (der.length === 44 && der.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) {
      return createPublicKey({ key: der, format: "der", type: "spki" });
    }
  }
  throw usageError(
    `${label}: expected a raw Ed25519 public key in base64url (43 characters), or a path to a PEM file such as the Mixer's cluster.pub`,
  );
}

async function fromFile(path: string): Promise<KeyObject> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > 16 * 1024) throw usageError(`--cluster-key ${path}: too large for a key file`);
    text = await readFile(path, "utf8");
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new CliError("file", `cannot read --cluster-key ${path}: ${code}`, {
      exitCode: EXIT.refused,
      cause: err,
    });
  }
  if (text.includes("PRIVATE KEY")) {
    throw usageError(
      `--cluster-key ${path} holds a private key; give the public key (the Mixer's cluster.pub)`,
    );
  }
  if (text.includes("-----BEGIN")) {
    try {
      return await loadPublicKey(path);
    } catch (err) {
      if (err instanceof PassportKeyError) throw usageError(`--cluster-key: ${err.message}`);
      throw err;
    }
  }
  return fromText(text, `--cluster-key ${path}`);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Loads the key a passport is checked against. A path that exists wins over reading the argument as a key.
 *
 * @example
 * const { key, kid } = await loadClusterKey("/var/lib/fluxrig-mixer/cluster.pub");
 */
export async function loadClusterKey(arg: string): Promise<ClusterKey> {
  // Base64 may hold "/", so only text that cannot be a key is taken for a path that does not exist.
  if ((await isFile(arg)) || !(BASE64URL.test(arg) || BASE64.test(arg))) {
    const key = await fromFile(arg);
    return { key, kid: keyId(key), source: arg };
  }
  const key = fromText(arg, "--cluster-key");
  return { key, kid: keyId(key), source: "--cluster-key" };
}
