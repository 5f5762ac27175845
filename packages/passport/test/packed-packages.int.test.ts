// The shared packages as published: packed with pnpm, installed by npm into an outside project, and run there.
import { execFile } from "node:child_process";
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { tempDir } from "@fluxrig/testkit";
import { expect, test } from "vitest";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../../..");

test("entity-id and passport install from their tarballs and run outside the workspace", async () => {
  await using packs = tempDir("packs");
  await using project = tempDir("consumer");
  for (const pkg of ["entity-id", "passport"]) {
    await run("pnpm", ["pack", "--pack-destination", packs.path], { cwd: join(root, "packages", pkg) });
  }
  const tarballs = readdirSync(packs.path).filter((f) => f.endsWith(".tgz"));
  expect(tarballs.sort()).toEqual(["fluxrig-entity-id-0.1.0.tgz", "fluxrig-passport-0.1.0.tgz"]);
  copyFileSync(join(root, "examples/consumer/index.mjs"), join(project.path, "index.mjs"));
  writeFileSync(
    join(project.path, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2),
  );
  await run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--ignore-scripts", ...tarballs.map((t) => join(packs.path, t))],
    { cwd: project.path, timeout: 120_000 },
  );
  // Only what `files` lists is published: built JS, types and the README; no sources or tests.
  const installed = readdirSync(join(project.path, "node_modules/@fluxrig/passport")).sort();
  expect(installed).toEqual(["README.md", "dist", "package.json"]);
  const { stdout } = await run(process.execPath, ["index.mjs"], { cwd: project.path });
  expect(JSON.parse(stdout.trim())).toEqual({
    ok: true,
    entity_id: "0x0300640000000000",
    name: "rack-example",
    serial: 1,
  });
}, 180_000);
