// Tests of state.flux I/O in one process: round trip, mode 0600, every kind of damaged file, stray temp files.

import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { passportSigner, samplePayload, tempDir } from "../test/support/passport-fixtures.js";
import { rejectionOf } from "../test/support/thrown.js";
import { MAX_PASSPORT_BYTES, type PassportEnvelope } from "./envelope.js";
import { PassportFormatError, StateFluxError } from "./errors.js";
import { readStateFlux, stateFluxText, writeStateFlux } from "./state-flux.js";

const signer = passportSigner();
const issue = (serial: number): PassportEnvelope =>
  signer.issue(samplePayload(signer.rack.publicKey, { serial }));
const envA = issue(1);
const envB = issue(2);

describe("writeStateFlux and readStateFlux", () => {
  test("round trip: exact bytes on disk, mode 0600, no temp file left", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    await writeStateFlux(path, envA);
    expect(await readFile(path, "utf8")).toBe(stateFluxText(envA));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readStateFlux(path)).toEqual(envA);
    expect(await readdir(dir.path)).toEqual(["state.flux"]);
  });

  test("replacing a file that was world-readable leaves it 0600 with the new content", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    await writeFile(path, stateFluxText(envA), { mode: 0o644 });
    await chmod(path, 0o644);
    await writeStateFlux(path, envB);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readStateFlux(path)).toEqual(envB);
  });

  test("an absent file reads as null", async () => {
    await using dir = await tempDir();
    expect(await readStateFlux(join(dir.path, "state.flux"))).toBeNull();
  });

  test("concurrent writes in one process each publish a whole file and leave no temp files", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    const envs = Array.from({ length: 10 }, (_, i) => issue(i + 1));
    await Promise.all(envs.map((env) => writeStateFlux(path, env)));
    expect(envs).toContainEqual(await readStateFlux(path));
    expect(await readdir(dir.path)).toEqual(["state.flux"]);
  });

  test("an invalid envelope is refused before anything touches the disk", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    const error = await rejectionOf(writeStateFlux(path, { ...envA, sig: "short" }), StateFluxError);
    expect(error).toMatchObject({ path, reason: "invalid" });
    expect(await readdir(dir.path)).toEqual([]);
  });

  test("a missing directory is reason write-failed", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "missing", "state.flux");
    expect(await rejectionOf(writeStateFlux(path, envA), StateFluxError)).toMatchObject({
      path,
      reason: "write-failed",
    });
  });
});

describe("readStateFlux on damaged files", () => {
  const full = stateFluxText(envA);

  test("every cut-off prefix is reason truncated, never a passport", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    // The last cut keeps the closing brace and loses only the newline: that file is complete.
    for (let length = 0; length < full.length - 1; length++) {
      await writeFile(path, full.slice(0, length));
      const error = await rejectionOf(readStateFlux(path), StateFluxError);
      expect(error.reason, `prefix of ${length} bytes`).toBe("truncated");
    }
    await writeFile(path, full.slice(0, -1));
    expect(await readStateFlux(path)).toEqual(envA);
  });

  test.each<[string, string | Buffer]>([
    ["zero bytes of a preallocated block", Buffer.alloc(full.length)],
    ["binary noise", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
    ["text that is not JSON", "passport=yes\n"],
    ["a mangled middle", `${full.slice(0, 40)}\u0000\u0000${full.slice(42)}`],
  ])("%s is reason garbled", async (_label, content) => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    await writeFile(path, content);
    expect(await rejectionOf(readStateFlux(path), StateFluxError)).toMatchObject({ path, reason: "garbled" });
  });

  test("JSON that is not an envelope is reason invalid, with the passport error as cause", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    await writeFile(path, JSON.stringify({ ...envA, v: 2 }));
    const error = await rejectionOf(readStateFlux(path), StateFluxError);
    expect(error.reason).toBe("invalid");
    expect(error.cause).toBeInstanceOf(PassportFormatError);
  });

  test("a file over the size cap is reason too-large", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    await writeFile(path, `${full}${" ".repeat(MAX_PASSPORT_BYTES)}`);
    expect(await rejectionOf(readStateFlux(path), StateFluxError)).toMatchObject({ reason: "too-large" });
  });

  test("a directory in its place is reason unreadable", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    await mkdir(path);
    expect(await rejectionOf(readStateFlux(path), StateFluxError)).toMatchObject({ reason: "unreadable" });
  });

  test("a stray temp file from an interrupted write is ignored, with or without a state file", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "state.flux");
    const stray = join(dir.path, `.state.flux.4242.${"ab".repeat(6)}.tmp`);
    await writeFile(stray, stateFluxText(envB).slice(0, 50), { mode: 0o600 });
    expect(await readStateFlux(path)).toBeNull();
    await writeStateFlux(path, envA);
    expect(await readStateFlux(path)).toEqual(envA);
    expect((await readdir(dir.path)).sort()).toEqual([".state.flux.4242.abababababab.tmp", "state.flux"]);
  });
});
