// The forms --cluster-key accepts (raw key, SPKI base64, PEM or raw key files) and what it refuses.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  generateKeyPair,
  keyId,
  publicKeyToBase64url,
  savePrivateKey,
  savePublicKey,
} from "@fluxrig/passport";
import { tempDir } from "@fluxrig/testkit";
import { expect, test } from "vitest";
import { loadClusterKey } from "./cluster-key-arg.js";

const pair = generateKeyPair();
const kid = keyId(pair.publicKey);
const raw = publicKeyToBase64url(pair.publicKey);

test("a raw base64url key, as cluster info prints it", async () => {
  expect(await loadClusterKey(raw)).toMatchObject({ kid, source: "--cluster-key" });
});

test("the base64 of an SPKI DER key, even when it holds a '/'", async () => {
  // Keys are random: try until one has a slash, so the path-or-key decision is exercised every run.
  let withSlash = generateKeyPair().publicKey;
  while (!withSlash.export({ format: "der", type: "spki" }).toString("base64").includes("/")) {
    withSlash = generateKeyPair().publicKey;
  }
  for (const key of [pair.publicKey, withSlash]) {
    const spki = key.export({ format: "der", type: "spki" }).toString("base64");
    expect((await loadClusterKey(spki)).kid).toBe(keyId(key));
  }
});

test("a PEM file such as cluster.pub, or a file holding the raw key", async () => {
  using dir = tempDir("cluster-key");
  const pem = join(dir.path, "cluster.pub");
  await savePublicKey(pem, pair.publicKey);
  expect(await loadClusterKey(pem)).toMatchObject({ kid, source: pem });
  const b64 = join(dir.path, "cluster.b64");
  await writeFile(b64, `${raw}\n`);
  expect((await loadClusterKey(b64)).kid).toBe(kid);
});

test("a private key file is refused, as is anything that is neither a key nor a file", async () => {
  using dir = tempDir("cluster-key");
  const priv = join(dir.path, "cluster.key");
  await savePrivateKey(priv, pair.privateKey);
  await expect(loadClusterKey(priv)).rejects.toMatchObject({
    exitCode: 2,
    message: expect.stringMatching(/private key/),
  });
  await expect(loadClusterKey("not-a-key")).rejects.toMatchObject({ exitCode: 2 });
  await expect(loadClusterKey("cluster.pub")).rejects.toMatchObject({ exitCode: 1, code: "file" });
  await expect(loadClusterKey(join(dir.path, "missing.pub"))).rejects.toMatchObject({
    exitCode: 1,
    message: expect.stringMatching(/ENOENT/),
  });
});
