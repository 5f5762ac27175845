// The worker pool answers exactly as the inline check does, batches a loop turn's checks, and survives a lost worker.
import { generateKeyPairSync } from "node:crypto";
import { type HelloRequest, helloSignatureInput, signHello, verifyHelloSignature } from "@fluxrig/wire";
import fc from "fast-check";
import { afterEach, describe, expect, test } from "vitest";
import { inlineVerifier, WorkerSignatureVerifier } from "./signature-pool.js";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const rawPublic = publicKey.export({ format: "jwk" }).x as string;

function hello(i: number): HelloRequest {
  return signHello(
    {
      v: 1,
      name: `rack-${i}`,
      public_key: rawPublic,
      version: "1.0.0",
      attributes: { hostname: `host-${i}`, os: "linux", arch: "x64" },
      nonce: `nonce-${i}-0123456789abcdef`,
      ts: new Date(0).toISOString(),
    },
    privateKey,
  );
}

const pools: WorkerSignatureVerifier[] = [];
function pool(
  threads = 1,
  onWorkerLost?: (err: Error) => void,
  workerSource?: string,
): WorkerSignatureVerifier {
  const p = new WorkerSignatureVerifier({
    threads,
    ...(onWorkerLost ? { onWorkerLost } : {}),
    ...(workerSource ? { workerSource } : {}),
  });
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe("WorkerSignatureVerifier", () => {
  test("good and bad signatures get the same answer as the inline check, in one batch per loop turn", async () => {
    const p = pool(2);
    const good = Array.from({ length: 20 }, (_, i) => hello(i));
    const tampered = good.map((h) => ({ ...h, name: `${h.name}-x` }));
    const all = [...good, ...tampered];
    const answers = await Promise.all(all.map((h) => p.verify(helloSignatureInput(h)!)));
    expect(answers).toEqual(all.map((h) => verifyHelloSignature(h)));
    expect(answers.filter(Boolean)).toHaveLength(20);
    expect(p.stats.offloaded).toBe(40);
    expect(p.stats.batches).toBe(1);
  });

  test("matches the inline check on arbitrary signature bytes (property)", async () => {
    const p = pool(1);
    const base = hello(1);
    const input = helloSignatureInput(base)!;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.boolean(), async (sig, keep) => {
        const candidate = { ...input, signature: keep ? input.signature : sig };
        expect(await p.verify(candidate)).toBe(await inlineVerifier().verify(candidate));
      }),
      { numRuns: 50 },
    );
  });

  test("a lost worker answers its open checks inline, and later checks run inline", async () => {
    const lost: Error[] = [];
    // A worker that dies on its first batch, before answering: its checks must still resolve, correctly.
    const crashing = `require("node:worker_threads").parentPort.on("message", () => process.exit(3));`;
    const p = pool(1, (err) => lost.push(err), crashing);
    const [good, bad] = await Promise.all([
      p.verify(helloSignatureInput(hello(1))!),
      p.verify({ ...helloSignatureInput(hello(1))!, signature: new Uint8Array(64) }),
    ]);
    expect([good, bad]).toEqual([true, false]);
    expect(lost).toHaveLength(1);
    expect(await p.verify(helloSignatureInput(hello(2))!)).toBe(true);
    expect(p.stats.workers).toBe(0);
    expect(p.stats.inline).toBeGreaterThanOrEqual(1);
  });

  test("close answers queued checks and stops the workers", async () => {
    const p = pool(1);
    const queued = p.verify(helloSignatureInput(hello(3))!);
    await p.close();
    expect(await queued).toBe(true);
    expect(p.stats.workers).toBe(0);
    expect(await p.verify(helloSignatureInput(hello(4))!)).toBe(true);
  });
});
