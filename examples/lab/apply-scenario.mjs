#!/usr/bin/env node
// Imports and activates the lab's demo scenario over the Mixer's REST API (Path B); `npm run lab` and docker-compose use it.
// No dependencies (Node 20+). As a command: FLUXRIG_API_URL=... FLUXRIG_API_TOKEN=... node apply-scenario.mjs [file.yaml]
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/**
 * Activates the scenario in `file` unless it is already the active one, and leaves alone a different scenario an
 * operator activated. Throws with the API's error code and message when a call fails.
 *
 * @param {{ apiUrl: string, token: string, file: string }} opts
 * @returns {Promise<import("./apply-scenario.d.mts").ApplyScenarioResult>}
 */
export async function applyScenario({ apiUrl, token, file }) {
  const yaml = await readFile(file, "utf8");
  const base = apiUrl.replace(/\/+$/, "");
  const auth = { authorization: `Bearer ${token}`, "x-fluxrig-actor": "lab" };
  const asYaml = { ...auth, "content-type": "application/yaml" };

  // A dry run validates the file and names the scenario without changing anything.
  const planned = await call(`${base}/api/v1/scenarios?dry_run=true`, {
    method: "POST",
    headers: asYaml,
    body: yaml,
  });
  const { name, version, racks } = planned.scenario;
  const active = await call(`${base}/api/v1/scenarios/active`, { headers: auth }, [404]);
  if (active !== null && active.name !== name) {
    const kept = { name: active.name, version: active.version, racks: active.racks };
    return { action: "kept", ...kept, adopted: [], pushed: [], waiting: [] };
  }
  if (active !== null && active.yaml === yaml) {
    return { action: "unchanged", name, version, racks, adopted: [], pushed: [], waiting: [] };
  }
  const done = await call(`${base}/api/v1/scenarios?activate=true`, {
    method: "POST",
    headers: asYaml,
    body: yaml,
  });
  return { action: "activated", name, version, racks, ...done.activation };
}

/** One API call: the parsed JSON body, `null` for an expected status in `nullOn`, an Error for anything else. */
async function call(url, init, nullOn = []) {
  const response = await fetch(url, init);
  const text = await response.text();
  if (nullOn.includes(response.status)) return null;
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = body?.error;
    const detail = error?.details?.issues?.[0];
    const where = detail
      ? ` (${detail.path || "document"}${detail.line ? `, line ${detail.line}` : ""}: ${detail.message})`
      : "";
    throw new Error(
      `${init.method ?? "GET"} ${new URL(url).pathname}: HTTP ${response.status} ${error?.code ?? ""} ${error?.message ?? text.slice(0, 200)}${where}`.trim(),
    );
  }
  return body;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const apiUrl = process.env.FLUXRIG_API_URL ?? "http://127.0.0.1:8090";
  const token = process.env.FLUXRIG_API_TOKEN;
  const file = process.argv[2] ?? fileURLToPath(new URL("demo-scenario.yaml", import.meta.url));
  if (!token) {
    process.stderr.write("apply-scenario: FLUXRIG_API_TOKEN is not set\n");
    process.exit(2);
  }
  applyScenario({ apiUrl, token, file }).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error) => {
      process.stderr.write(`apply-scenario: ${error.message}\n`);
      process.exit(1);
    },
  );
}
