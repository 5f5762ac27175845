// A writer SIGKILLed mid-write never leaves a half-written state.flux: the reader sees the old file, or none.

import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { tempFilePattern } from "../src/atomic-write.js";
import { type PassportEnvelope, signPassport, stringifyPassport } from "../src/envelope.js";
import { generateKeyPair, keyId } from "../src/keys.js";
import { readStateFlux, stateFluxText, writeStateFlux } from "../src/state-flux.js";
import { samplePayload, tempDir } from "./support/passport-fixtures.js";

const writerScript = fileURLToPath(new URL("./support/state-flux-writer.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

const cluster = generateKeyPair();
const rack = generateKeyPair();
const issue = (serial: number): PassportEnvelope =>
  signPassport({
    payload: samplePayload(rack.publicKey, { serial }),
    clusterPrivateKey: cluster.privateKey,
    kid: keyId(cluster.publicKey),
  });

interface Writer {
  child: ChildProcess;
  /** Resolves with the first stdout line matching `predicate`; rejects if the child exits or the deadline passes. */
  waitForLine(predicate: (line: string) => boolean, deadlineMs?: number): Promise<string>;
  /** SIGKILLs the child and resolves once it is gone. */
  kill(): Promise<void>;
}

function startWriter(args: string[]): Writer {
  const child = spawn(
    process.execPath,
    ["--conditions=@fluxrig/source", "--import", "tsx", writerScript, ...args],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  return {
    child,
    waitForLine(predicate, deadlineMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`no matching line within ${deadlineMs} ms\n${stderr}`)),
          deadlineMs,
        );
        const onLine = (line: string) => {
          if (predicate(line)) finish(undefined, line);
        };
        const onExit = (code: number | null) => finish(new Error(`writer exited (${code}) early\n${stderr}`));
        function finish(error?: Error, line?: string) {
          clearTimeout(timer);
          lines.off("line", onLine);
          child.off("exit", onExit);
          if (error) reject(error);
          else resolve(line!);
        }
        lines.on("line", onLine);
        child.once("exit", onExit);
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

describe("state.flux survives a writer killed mid-write", () => {
  test("killed between fsync and rename: the old passport stays, the stray temp file is ignored", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    const [oldEnv, newEnv] = [issue(1), issue(2)];
    await writeStateFlux(path, oldEnv);

    const writer = startWriter(["pause", path, stringifyPassport(newEnv)]);
    try {
      const line = await writer.waitForLine((l) => l.startsWith("paused "));
      await writer.kill();
      const temp = line.slice("paused ".length);
      // The crash point is real: the new content sits complete in the temp file, unpublished.
      expect(await readFile(temp, "utf8")).toBe(stateFluxText(newEnv));
      expect(tempFilePattern(path).test(temp.slice(dir.path.length + 1))).toBe(true);
    } finally {
      await writer.kill();
    }
    expect(await readStateFlux(path)).toEqual(oldEnv);
    expect(await readFile(path, "utf8")).toBe(stateFluxText(oldEnv));

    // The next write goes through and the debris still does not confuse the reader.
    await writeStateFlux(path, newEnv);
    expect(await readStateFlux(path)).toEqual(newEnv);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  test("killed before the first passport is published: there is no state.flux, so the read is null", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    const writer = startWriter(["pause", path, stringifyPassport(issue(1))]);
    try {
      await writer.waitForLine((l) => l.startsWith("paused "));
    } finally {
      await writer.kill();
    }
    expect(await readStateFlux(path)).toBeNull();
    expect((await readdir(dir.path)).filter((f) => tempFilePattern(path).test(f))).toHaveLength(1);
  });

  test("killed at arbitrary points of a write loop: always exactly one of the two passports", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    const envs = [issue(10), issue(11)];
    for (let round = 0; round < 5; round++) {
      const writer = startWriter(["loop", path, ...envs.map(stringifyPassport)]);
      try {
        await writer.waitForLine((l) => l === `wrote ${10 + round * 7}`);
      } finally {
        await writer.kill();
      }
      expect(envs).toContainEqual(await readStateFlux(path));
    }
  });

  test("killed as large writes begin: the file is always one whole version, never a mix or a prefix", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "big.bin");
    // Large enough that the kill, sent the moment a write starts, lands inside it.
    const size = 16 * 1024 * 1024;
    for (let round = 0; round < 3; round++) {
      const writer = startWriter(["large", path, String(size)]);
      try {
        await writer.waitForLine((l) => l === `start ${2 + (round % 2)}`);
      } finally {
        await writer.kill();
      }
      const content = await readFile(path);
      expect(content.length).toBe(size);
      const first = content[0]!;
      expect([0x41, 0x42]).toContain(first);
      expect(content.every((b) => b === first)).toBe(true);
    }
  });
});
