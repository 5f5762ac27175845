// `.lab/env` and `.lab/bin/fluxrig`: after `source .lab/env`, `fluxrig ...` runs the repo's CLI against this lab.
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** `text` as one single-quoted shell word. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The env file: puts `binDir` on PATH (once, however often it is sourced) and sets the CLI's URL and token.
 * @example envFileText({ labDir: "/r/.lab", binDir: "/r/.lab/bin", apiUrl: "http://127.0.0.1:8090", token: "lab_x" });
 */
export function envFileText(opts: { labDir: string; binDir: string; apiUrl: string; token: string }): string {
  const bin = shellQuote(opts.binDir);
  return [
    `# fluxrig lab ${opts.labDir}: \`source\` this file to run \`fluxrig ...\` against the lab's Mixer.`,
    "# Rewritten at every start of the lab (its API port can change). It holds the API token: mode 0600.",
    `case ":$PATH:" in *:${bin}:*) ;; *) PATH=${bin}:"$PATH" ;; esac`,
    "export PATH",
    `export FLUXRIG_API_URL=${shellQuote(opts.apiUrl)}`,
    `export FLUXRIG_API_TOKEN=${shellQuote(opts.token)}`,
    "",
  ].join("\n");
}

/** The `fluxrig` shim: the node that runs the lab, on the CLI bundle; a clear word when it is not built. */
export function cliShimText(opts: { node: string; cliBundle: string }): string {
  const bundle = shellQuote(opts.cliBundle);
  return [
    "#!/bin/sh",
    "# fluxrig, the operator CLI, as the lab runs it: written by the lab (see docs/lab.md).",
    `if [ ! -f ${bundle} ]; then`,
    `  echo "fluxrig: "${bundle}" is missing: run \\\`pnpm build\\\` (or the lab without --no-build)" >&2`,
    "  exit 127",
    "fi",
    `exec ${shellQuote(opts.node)} ${bundle} "$@"`,
    "",
  ].join("\n");
}

/** Writes `<labDir>/env` (0600) and `<binDir>/fluxrig` (0700); the dirs exist already (prepareLayout). */
export async function writeLabEnv(opts: {
  labDir: string;
  envFile: string;
  binDir: string;
  apiUrl: string;
  token: string;
  cliBundle: string;
}): Promise<void> {
  const shim = join(opts.binDir, "fluxrig");
  await writeFile(shim, cliShimText({ node: process.execPath, cliBundle: opts.cliBundle }), { mode: 0o700 });
  await chmod(shim, 0o700);
  await writeFile(opts.envFile, envFileText(opts), { mode: 0o600 });
  // writeFile's mode applies only when it creates the file; an older file keeps its mode otherwise.
  await chmod(opts.envFile, 0o600);
}
