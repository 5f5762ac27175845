// Ed25519 key files: PKCS#8 private (0600, refused when others can read it), SPKI public, and load-or-create.

import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileAtomic } from "./atomic-write.js";
import { PassportKeyError, PassportKeyPermissionError } from "./errors.js";
import { assertEd25519, type Ed25519KeyPair, generateKeyPair, publicKeyFromPrivate } from "./keys.js";

// A PEM key is a few hundred bytes; anything far larger is not a key and is not worth reading into memory.
const MAX_KEY_FILE_BYTES = 16 * 1024;

/**
 * Writes a private key as PKCS#8 PEM, atomically, with mode 0600.
 *
 * @example
 * await savePrivateKey("/var/lib/mixer/cluster.key", generateKeyPair().privateKey);
 */
export async function savePrivateKey(path: string, key: KeyObject): Promise<void> {
  assertEd25519(key, "private");
  const pem = key.export({ format: "pem", type: "pkcs8" });
  await writeKeyFile({ path, pem, mode: 0o600 });
}

/**
 * Reads a PKCS#8 PEM private key. Refuses a file that group or others may access
 * (PassportKeyPermissionError); a missing, unreadable or garbled file is a PassportKeyError.
 *
 * @example
 * const clusterKey = await loadPrivateKey("/var/lib/mixer/cluster.key");
 */
export async function loadPrivateKey(path: string): Promise<KeyObject> {
  const text = await readKeyFile(path, { privateFile: true });
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: "pem" });
  } catch (cause) {
    throw new PassportKeyError({ reason: "garbled", path, detail: "not a PEM private key", cause });
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new PassportKeyError({
      reason: "wrong-key-type",
      path,
      detail: `holds a ${key.asymmetricKeyType} key, expected Ed25519`,
    });
  }
  return key;
}

/**
 * Writes a public key as SPKI PEM, atomically, with mode 0644.
 *
 * @example
 * await savePublicKey("/var/lib/mixer/cluster.pub", keys.publicKey);
 */
export async function savePublicKey(path: string, key: KeyObject): Promise<void> {
  assertEd25519(key, "public");
  const pem = key.export({ format: "pem", type: "spki" });
  await writeKeyFile({ path, pem, mode: 0o644 });
}

/**
 * Reads an SPKI PEM public key. A file holding a private key is refused: it would mean a secret sits
 * where public material is expected.
 *
 * @example
 * const pinned = await loadPublicKey("/etc/fluxrig/cluster.pub");
 */
export async function loadPublicKey(path: string): Promise<KeyObject> {
  const text = await readKeyFile(path, { privateFile: false });
  if (!text.includes("-----BEGIN PUBLIC KEY-----")) {
    throw new PassportKeyError({ reason: "garbled", path, detail: "no SPKI PEM block (BEGIN PUBLIC KEY)" });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: "pem" });
  } catch (cause) {
    throw new PassportKeyError({ reason: "garbled", path, detail: "not a PEM public key", cause });
  }
  if (key.type !== "public" || key.asymmetricKeyType !== "ed25519") {
    throw new PassportKeyError({
      reason: "wrong-key-type",
      path,
      detail: `holds a ${key.type} ${key.asymmetricKeyType} key, expected an Ed25519 public key`,
    });
  }
  return key;
}

/**
 * Loads the private key at `privatePath`, or, when there is no file, creates one (and its parent
 * directory, mode 0700). Never overwrites an existing file: a garbled or too-open key is an error, and
 * of two processes creating at once, both end up with the key that reached the disk first.
 *
 * @example
 * const { keys, created } = await loadOrCreateKeyPair("/var/lib/rack/rack.key");
 */
export async function loadOrCreateKeyPair(
  privatePath: string,
): Promise<{ keys: Ed25519KeyPair; created: boolean }> {
  try {
    const privateKey = await loadPrivateKey(privatePath);
    return { keys: { privateKey, publicKey: publicKeyFromPrivate(privateKey) }, created: false };
  } catch (error) {
    if (!(error instanceof PassportKeyError) || error.reason !== "missing") throw error;
  }
  try {
    await mkdir(dirname(privatePath), { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new PassportKeyError({
      reason: "write-failed",
      path: privatePath,
      detail: "cannot create its directory",
      cause,
    });
  }
  const keys = generateKeyPair();
  const pem = keys.privateKey.export({ format: "pem", type: "pkcs8" });
  try {
    await writeKeyFile({ path: privatePath, pem, mode: 0o600, exclusive: true });
  } catch (error) {
    const lostRace =
      error instanceof PassportKeyError && (error.cause as NodeJS.ErrnoException)?.code === "EEXIST";
    if (!lostRace) throw error;
    const privateKey = await loadPrivateKey(privatePath);
    return { keys: { privateKey, publicKey: publicKeyFromPrivate(privateKey) }, created: false };
  }
  return { keys, created: true };
}

async function writeKeyFile(opts: { path: string; pem: string | Buffer; mode: number; exclusive?: boolean }) {
  try {
    await writeFileAtomic({
      path: opts.path,
      data: opts.pem,
      mode: opts.mode,
      exclusive: opts.exclusive ?? false,
    });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? "unknown error";
    throw new PassportKeyError({ reason: "write-failed", path: opts.path, detail: code, cause });
  }
}

async function readKeyFile(path: string, opts: { privateFile: boolean }): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "missing" : "unreadable";
    throw new PassportKeyError({ reason, path, detail: code ?? "cannot open", cause });
  }
  try {
    // Checked on the open descriptor, so a swap of the file between the check and the read cannot slip by.
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new PassportKeyError({ reason: "unreadable", path, detail: "not a regular file" });
    }
    const mode = info.mode & 0o777;
    if (opts.privateFile && (mode & 0o077) !== 0) throw new PassportKeyPermissionError({ path, mode });
    if (info.size > MAX_KEY_FILE_BYTES) {
      throw new PassportKeyError({
        reason: "garbled",
        path,
        detail: `${info.size} bytes is too large for a key`,
      });
    }
    return await handle.readFile("utf8");
  } catch (cause) {
    if (cause instanceof PassportKeyError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    throw new PassportKeyError({ reason: "unreadable", path, detail: code ?? "cannot read", cause });
  } finally {
    await handle.close();
  }
}
