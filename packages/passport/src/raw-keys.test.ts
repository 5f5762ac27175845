import { diffieHellman, sign, verify } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { publicKeyToBase64url } from "./keys.js";
import { publicKeyFromRaw, RAW_KEY_BYTES, randomKeyPair } from "./raw-keys.js";

describe("randomKeyPair", () => {
  test("Ed25519: a working pair whose raw public form round-trips", () => {
    const { privateKey, publicKey } = randomKeyPair("ed25519");
    expect(publicKey.asymmetricKeyType).toBe("ed25519");
    const data = Buffer.from("fluxrig");
    expect(verify(null, data, publicKey, sign(null, data, privateKey))).toBe(true);
    const raw = Buffer.from(publicKeyToBase64url(publicKey), "base64url");
    expect(raw).toHaveLength(RAW_KEY_BYTES);
    expect(verify(null, data, publicKeyFromRaw("ed25519", raw), sign(null, data, privateKey))).toBe(true);
  });

  test("X25519: two pairs agree on one shared secret; pairs differ each call", () => {
    const a = randomKeyPair("x25519");
    const b = randomKeyPair("x25519");
    expect(a.publicKey.asymmetricKeyType).toBe("x25519");
    const ab = diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey });
    const ba = diffieHellman({ privateKey: b.privateKey, publicKey: a.publicKey });
    expect(ab.equals(ba)).toBe(true);
    const rawB = b.publicKey.export({ format: "der", type: "spki" }).subarray(-RAW_KEY_BYTES);
    expect(diffieHellman({ privateKey: a.privateKey, publicKey: publicKeyFromRaw("x25519", rawB) })).toEqual(
      ab,
    );
    expect(a.publicKey.export({ format: "der", type: "spki" })).not.toEqual(
      b.publicKey.export({ format: "der", type: "spki" }),
    );
  });
});

describe("no Ed25519 or X25519 key pair from node:crypto's generateKeyPair in the product, benchmarks or tooling", () => {
  // A Node 20 deadlock (raw-keys.ts, randomKeyPair): a process that generated such a pair that way and exported it
  // hung for good, once in a cluster fault test's Mixer. Tests may still do it for other key types.
  test("only randomKeyPair makes them", () => {
    const root = fileURLToPath(new URL("../../..", import.meta.url));
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".")) continue;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) {
          const text = readFileSync(path, "utf8");
          if (/generateKeyPair(Sync)?\(\s*["'`](ed25519|x25519|ed448|x448)/i.test(text))
            offenders.push(relative(root, path));
        }
      }
    };
    for (const top of ["apps", "packages", "bench", "tooling"]) walk(join(root, top));
    expect(offenders).toEqual([]);
  });
});
