// Tests of key files: PEM round trips, 0600 on disk, refusal of open or garbled files, and load-or-create.

import { generateKeyPairSync } from "node:crypto";
import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { tempDir } from "../test/support/passport-fixtures.js";
import { rejectionOf } from "../test/support/thrown.js";
import { PassportKeyError, PassportKeyPermissionError } from "./errors.js";
import {
  loadOrCreateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  savePrivateKey,
  savePublicKey,
} from "./key-files.js";
import { generateKeyPair } from "./keys.js";

const isRoot = process.getuid?.() === 0;

describe("private key files", () => {
  test("save writes PKCS#8 PEM with mode 0600 and load returns an equal key", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "cluster.key");
    const { privateKey } = generateKeyPair();
    await savePrivateKey(path, privateKey);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect((await loadPrivateKey(path)).equals(privateKey)).toBe(true);
    expect((await readdir(dir.path)).sort()).toEqual(["cluster.key"]);
  });

  test.each([0o640, 0o604, 0o644, 0o660, 0o606])("a file with mode 0%o is refused", async (mode) => {
    await using dir = await tempDir();
    const path = join(dir.path, "cluster.key");
    await savePrivateKey(path, generateKeyPair().privateKey);
    await chmod(path, mode);
    const error = await rejectionOf(loadPrivateKey(path), PassportKeyError);
    expect(error).toBeInstanceOf(PassportKeyPermissionError);
    expect(error).toMatchObject({ path, mode, code: "PASSPORT_KEY_PERMISSION", reason: "too-permissive" });
  });

  test("a missing file is reason missing; a garbled one is reason garbled", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "cluster.key");
    expect(await rejectionOf(loadPrivateKey(path), PassportKeyError)).toMatchObject({
      reason: "missing",
      path,
    });
    await writeFile(path, "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", {
      mode: 0o600,
    });
    expect(await rejectionOf(loadPrivateKey(path), PassportKeyError)).toMatchObject({
      reason: "garbled",
      path,
    });
  });

  test.skipIf(isRoot)("an unreadable file is reason unreadable", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "cluster.key");
    await savePrivateKey(path, generateKeyPair().privateKey);
    await chmod(path, 0o000);
    expect(await rejectionOf(loadPrivateKey(path), PassportKeyError)).toMatchObject({ reason: "unreadable" });
  });

  test("a directory in place of the file is reason unreadable", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "cluster.key");
    await mkdir(path, { mode: 0o700 });
    expect(await rejectionOf(loadPrivateKey(path), PassportKeyError)).toMatchObject({ reason: "unreadable" });
  });

  test("a private key of another algorithm is reason wrong-key-type", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "cluster.key");
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    await writeFile(path, ec.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
    expect(await rejectionOf(loadPrivateKey(path), PassportKeyError)).toMatchObject({
      reason: "wrong-key-type",
    });
  });

  test("saving a public key as private is refused", async () => {
    await using dir = await tempDir();
    await expect(savePrivateKey(join(dir.path, "k"), generateKeyPair().publicKey)).rejects.toThrow(
      PassportKeyError,
    );
  });
});

describe("public key files", () => {
  test("save writes SPKI PEM and load returns an equal key", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "cluster.pub");
    const { publicKey } = generateKeyPair();
    await savePublicKey(path, publicKey);
    expect(await readFile(path, "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect((await loadPublicKey(path)).equals(publicKey)).toBe(true);
  });

  test("a private key where a public one is expected is refused", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "cluster.pub");
    await savePrivateKey(path, generateKeyPair().privateKey);
    expect(await rejectionOf(loadPublicKey(path), PassportKeyError)).toMatchObject({ reason: "garbled" });
  });

  test("garbage is reason garbled", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "cluster.pub");
    await writeFile(path, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    expect(await rejectionOf(loadPublicKey(path), PassportKeyError)).toMatchObject({ reason: "garbled" });
  });
});

describe("loadOrCreateKeyPair", () => {
  test("creates the key and a 0700 parent directory, then loads the same key", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state", "nested", "rack.key");
    const first = await loadOrCreateKeyPair(path);
    expect(first.created).toBe(true);
    expect((await stat(join(dir.path, "state", "nested"))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const second = await loadOrCreateKeyPair(path);
    expect(second.created).toBe(false);
    expect(second.keys.publicKey.equals(first.keys.publicKey)).toBe(true);
    expect(second.keys.privateKey.equals(first.keys.privateKey)).toBe(true);
  });

  test("concurrent creators all end up with the one key on disk", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "rack.key");
    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateKeyPair(path)));
    const onDisk = await loadPrivateKey(path);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    for (const r of results) expect(r.keys.privateKey.equals(onDisk)).toBe(true);
    expect(await readdir(dir.path)).toEqual(["rack.key"]);
  });

  test("never replaces a garbled or too-open key", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "rack.key");
    await writeFile(path, "garbage", { mode: 0o600 });
    expect(await rejectionOf(loadOrCreateKeyPair(path), PassportKeyError)).toMatchObject({
      reason: "garbled",
    });
    expect(await readFile(path, "utf8")).toBe("garbage");
    await savePrivateKey(path, generateKeyPair().privateKey);
    await chmod(path, 0o644);
    expect(await rejectionOf(loadOrCreateKeyPair(path), PassportKeyError)).toBeInstanceOf(
      PassportKeyPermissionError,
    );
  });
});
